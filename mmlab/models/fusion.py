"""The models of notebook 06 · Fusion: one product vector from image, text, reviews and behaviour.

Written, explained and trained in notebooks/06_fusion.ipynb. Generated from that notebook's cells marked ``#@save``
(``python -m tools.saved_cells``): edit the notebook, not this file.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmlab.models.losses import LOSSES
from mmlab.towerdata import PRODUCT_MODALITIES, QUERY_KINDS, Products, Queries


class ModalityFuser(nn.Module):
    """What every product fuser shares: one Linear projection per modality to ``dim``, masked rows set to zero."""

    def __init__(self, modalities: dict[str, int], dim: int) -> None:
        super().__init__()
        assert modalities and dim > 0, "name at least one modality, e.g. {'image': 128, 'text': 128}"
        self.modalities, self.dim = tuple(modalities), dim
        self.projections = nn.ModuleDict({name: nn.Linear(d, dim) for name, d in modalities.items()})

    def project(self, features: dict[str, Tensor], mask: Tensor | None) -> tuple[Tensor, Tensor]:
        """Tokens (B, M, dim), exactly zero where masked, and the mask (B, M) (None: every modality present)."""
        first = features[self.modalities[0]]
        if mask is None:
            mask = torch.ones(len(first), len(self.modalities), dtype=torch.bool, device=first.device)
        assert mask.shape == (len(first), len(self.modalities)) and mask.any(dim=1).all(), \
            "mask must be (B, M) with at least one modality per SKU"
        tokens = []
        for m, name in enumerate(self.modalities):
            present = mask[:, m].unsqueeze(1)                               # (B, 1)
            x = torch.where(present, features[name], 0.0)                   # (B, d_m): NaN placeholders never pass
            tokens.append(torch.where(present, self.projections[name](x), 0.0))  # (B, dim)
        return torch.stack(tokens, dim=1), mask                             # (B, M, dim), (B, M)


class ConcatFusion(ModalityFuser):
    """h = MLP([p_1, ..., p_M, mask]), unit length."""

    def __init__(self, modalities: dict[str, int], dim: int, hidden: int | None = None) -> None:
        super().__init__(modalities, dim)
        n, hidden = len(self.modalities), hidden or 2 * dim
        self.mlp = nn.Sequential(nn.Linear(n * dim + n, hidden), nn.ReLU(), nn.Linear(hidden, dim))

    def forward(self, features: dict[str, Tensor], mask: Tensor | None = None) -> Tensor:
        tokens, mask = self.project(features, mask)                         # (B, M, dim), (B, M)
        flat = torch.cat([tokens.flatten(1), mask.to(tokens.dtype)], dim=1)  # (B, M·dim + M)
        return F.normalize(self.mlp(flat), dim=1)                           # (B, dim)


class WeightedSumFusion(ModalityFuser):
    """h = Σ_m w_m p̂_m, w = softmax of one learned logit per modality over the present ones, unit length."""

    def __init__(self, modalities: dict[str, int], dim: int) -> None:
        super().__init__(modalities, dim)
        self.logits = nn.Parameter(torch.zeros(len(self.modalities)))      # (M,)

    def weights(self, mask: Tensor | None = None) -> Tensor:
        """(B, M) weights, each row summing to one over its present modalities; mask=None: the global (M,)."""
        if mask is None:
            return self.logits.softmax(dim=0)
        return self.logits.expand(mask.shape).masked_fill(~mask, float("-inf")).softmax(dim=1)

    def forward(self, features: dict[str, Tensor], mask: Tensor | None = None) -> Tensor:
        tokens, mask = self.project(features, mask)                         # (B, M, dim)
        fused = (self.weights(mask).unsqueeze(2) * F.normalize(tokens, dim=2)).sum(dim=1)  # (B, dim)
        return F.normalize(fused, dim=1)


class AttentionFusion(ModalityFuser):
    """h = Σ_m α_m v_m, α = softmax over present modalities of q·k_m/√dim; q learned, or projected from a query."""

    def __init__(self, modalities: dict[str, int], dim: int, query_dim: int | None = None) -> None:
        super().__init__(modalities, dim)
        self.modality_embedding = nn.Parameter(torch.zeros(len(self.modalities), dim))  # (M, dim)
        self.learned_query = nn.Parameter(torch.randn(dim) / math.sqrt(dim))            # (dim,)
        self.query_proj = nn.Linear(query_dim, dim) if query_dim is not None else None
        self.key, self.value = nn.Linear(dim, dim), nn.Linear(dim, dim)

    def attend(self, features: dict[str, Tensor], mask: Tensor | None = None,
               query: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """The fused vector (B, dim), before normalisation, and the attention weights α (B, M)."""
        assert query is None or self.query_proj is not None, "build it with query_dim=... to condition on a query"
        tokens, mask = self.project(features, mask)
        tokens = tokens + self.modality_embedding                           # (B, M, dim)
        q = self.learned_query.expand(len(tokens), -1) if query is None else self.query_proj(query)  # (B, dim)
        scores = (self.key(tokens) @ q.unsqueeze(2)).squeeze(2) / math.sqrt(self.dim)            # (B, M)
        alpha = scores.masked_fill(~mask, float("-inf")).softmax(dim=1)                          # (B, M)
        values = torch.where(mask.unsqueeze(2), self.value(tokens), 0.0)                          # (B, M, dim)
        return (alpha.unsqueeze(2) * values).sum(dim=1), alpha

    def forward(self, features: dict[str, Tensor], mask: Tensor | None = None, query: Tensor | None = None) -> Tensor:
        return F.normalize(self.attend(features, mask, query)[0], dim=1)


class GatedFusion(nn.Module):
    """TIRG: h = w_g · σ(f_gate([x, t])) ⊙ x + w_r · f_res([x, t]) for a photo x and a modifier text t."""

    def __init__(self, image_dim: int, text_dim: int, dim: int, hidden: int | None = None) -> None:
        super().__init__()
        hidden = hidden or 2 * dim
        self.image_proj, self.text_proj = nn.Linear(image_dim, dim), nn.Linear(text_dim, dim)
        self.gate = nn.Sequential(nn.Linear(2 * dim, hidden), nn.ReLU(), nn.Linear(hidden, dim))
        self.residual = nn.Sequential(nn.Linear(2 * dim, hidden), nn.ReLU(), nn.Linear(hidden, dim))
        self.gate_weight, self.residual_weight = nn.Parameter(torch.tensor(1.0)), nn.Parameter(torch.tensor(1.0))

    def forward(self, image_emb: Tensor, text_emb: Tensor) -> Tensor:
        x, t = self.image_proj(image_emb), self.text_proj(text_emb)        # (B, dim) each
        both = torch.cat([x, t], dim=1)                                     # (B, 2·dim)
        composed = self.gate_weight * torch.sigmoid(self.gate(both)) * x + self.residual_weight * self.residual(both)
        return F.normalize(composed, dim=1)


def modality_dropout(mask: Tensor, p: float, generator: torch.Generator | None = None) -> Tensor:
    """A new mask (B, M) with each present modality dropped with probability p, never all of a row's."""
    assert 0.0 <= p <= 1.0 and mask.any(dim=1).all(), f"p={p} must be a probability; every row needs a modality"
    kept = mask & ~(torch.rand(mask.shape, generator=generator, device=mask.device) < p)
    # rows left empty keep the present modality with the largest random key: a uniform random choice
    keys = torch.rand(mask.shape, generator=generator, device=mask.device).masked_fill(~mask, -1.0)
    rescue = F.one_hot(keys.argmax(dim=1), mask.shape[1]).bool()
    return torch.where(kept.any(dim=1, keepdim=True), kept, rescue)


FUSIONS = {"concat": ConcatFusion, "weighted_sum": WeightedSumFusion, "attention": AttentionFusion}


COMPOSITIONS = ("gated", "concat", "photo_only")


@dataclass(frozen=True)
class TowerConfig:
    """One experiment: which fusion, which product modalities, which loss, how to train."""

    fusion: str = "weighted_sum"
    modalities: tuple[str, ...] = PRODUCT_MODALITIES
    composition: str = "gated"
    loss: str = "infonce"
    temperature: float = 0.07  # InfoNCE start (or fixed) temperature; 1/scale for the sigmoid loss
    learn_temperature: bool = True
    margin: float = 0.2  # triplet losses only
    batch_size: int = 128
    epochs: int = 12
    lr: float = 3e-3
    dim: int = 128
    modality_dropout: float = 0.0  # probability of dropping each present modality of a training SKU
    train_without: tuple[str, ...] = ()  # modalities masked during training (present again at test unless masked)
    patience: int | None = 2
    identity_init: bool = True  # start the 128→128 projections as the identity: the upstream spaces as they are

    def __post_init__(self) -> None:
        choices = {"fusion": (self.fusion, tuple(FUSIONS)), "composition": (self.composition, COMPOSITIONS),
                   "loss": (self.loss, LOSSES)}
        for name, (value, allowed) in choices.items():
            if value not in allowed:
                raise ValueError(f"unknown {name}={value!r}; choose one of {allowed}")
        unknown = set(self.modalities) - set(PRODUCT_MODALITIES)
        if not self.modalities or unknown:
            raise ValueError(f"modalities must be a non-empty subset of {PRODUCT_MODALITIES}, got {self.modalities}")
        if not set(self.train_without) <= set(self.modalities):
            raise ValueError(f"train_without={self.train_without} must name modalities of {self.modalities}")
        if self.batch_size < 2 or self.epochs < 1:
            raise ValueError(f"batch_size must be >= 2 and epochs >= 1, got {self.batch_size} and {self.epochs}; a "
                             "batch needs 2+ pairs, as the losses use in-batch negatives")
        if not 0 <= self.modality_dropout <= 1:
            raise ValueError(f"modality_dropout={self.modality_dropout} must be a probability in [0, 1]; e.g. 0.3 "
                             "drops about a third of a SKU's present modalities")
        if self.temperature <= 0:
            raise ValueError(f"temperature={self.temperature} must be > 0; 0.07 (CLIP's start) is a good default")


def start_as_identity(layer: nn.Linear) -> None:
    """Make a square linear layer the identity map (weight I, bias 0); leave any other layer as it is.

    The frozen upstream encoders already put a typed query near its product's text and a photo near its product's
    image; starting from the identity keeps that alignment and lets training add the cross-modal part.
    """
    if layer.in_features == layer.out_features:
        with torch.no_grad():
            layer.weight.copy_(torch.eye(layer.in_features))
            layer.bias.zero_()


class QueryTower(nn.Module):
    """One small module per query kind, all mapping into the shared ``dim``-dimensional space."""

    def __init__(self, image_dim: int, text_dim: int, dim: int, composition: str, gated: type[nn.Module],
                 concat: type[nn.Module]) -> None:
        super().__init__()
        self.composition = composition
        self.text, self.voice, self.image = nn.Linear(text_dim, dim), nn.Linear(text_dim, dim), nn.Linear(image_dim, dim)
        if composition == "gated":
            self.composed = gated(image_dim, text_dim, dim)
        elif composition == "concat":
            self.composed = concat({"image": image_dim, "text": text_dim}, dim)
        else:
            self.composed = nn.Linear(image_dim, dim)  # "photo_only": the modifier text is ignored

    def _compose(self, image: Tensor, text: Tensor) -> Tensor:
        if self.composition == "gated":
            return self.composed(image, text)
        if self.composition == "concat":
            return self.composed({"image": image, "text": text})
        return self.composed(image)

    def forward(self, image: Tensor, text: Tensor, kind: Tensor) -> Tensor:
        """Unit query vectors (B, dim); ``kind`` (B,) indexes :data:`QUERY_KINDS`."""
        parts = {"text": lambda r: self.text(text[r]), "voice": lambda r: self.voice(text[r]),
                 "image": lambda r: self.image(image[r]), "composed": lambda r: self._compose(image[r], text[r])}
        out = torch.zeros(len(kind), self.text.out_features)
        for code, name in enumerate(QUERY_KINDS):
            rows = (kind == code).nonzero().flatten()
            if len(rows):
                out = out.index_copy(0, rows, F.normalize(parts[name](rows), dim=1))
        return out


class TwoTower(nn.Module):
    """The query tower, the product fuser, and the logit scale of the loss (its temperature is a parameter of the
    model, as in CLIP).

    ``fusions`` and ``gated`` are the fuser classes to build from, ``alignment`` and ``scale`` the loss and what
    turns similarities into logits (07 writes both)."""

    def __init__(self, config: TowerConfig, product_dims: dict[str, int], query_image_dim: int,
                 query_text_dim: int, fusions: dict[str, type[nn.Module]], gated: type[nn.Module],
                 alignment: Callable[..., Tensor], scale: Callable[[str, float, bool], nn.Module]) -> None:
        super().__init__()
        self.config, self.alignment = config, alignment
        self.fuser = fusions[config.fusion]({m: product_dims[m] for m in config.modalities}, config.dim)
        self.queries = QueryTower(query_image_dim, query_text_dim, config.dim, config.composition, gated,
                                  fusions["concat"])
        self.scale = scale(config.loss, config.temperature, config.learn_temperature)
        if config.identity_init:
            linears = [*self.fuser.projections.values(), self.queries.text, self.queries.voice, self.queries.image]
            for layer in linears:
                start_as_identity(layer)

    def product_vectors(self, products: Products, rows: Tensor | None = None, mask: Tensor | None = None) -> Tensor:
        """Unit product vectors (n, dim) of the SKU ``rows`` (all by default); zero rows where nothing is present."""
        rows = torch.arange(len(products.sku_ids)) if rows is None else rows
        mask = products.mask_of(self.config.modalities)[rows] if mask is None else mask
        out = torch.zeros(len(rows), self.config.dim)
        some = mask.any(dim=1).nonzero().flatten()
        features = {m: products.features[m][rows[some]] for m in self.config.modalities}
        return out.index_copy(0, some, self.fuser(features, mask[some]))

    def query_vectors(self, queries: Queries) -> Tensor:
        return self.queries(queries.image, queries.text, queries.kind)

    def loss(self, queries: Tensor, items: Tensor, positives: Tensor) -> Tensor:
        """The alignment loss of a batch of (query, item) vector pairs; ``positives`` marks the relevant pairs."""
        return self.alignment(self.config.loss, queries, items, positives, self.scale, self.config.margin)

    def training_loss(self, batch: Any, products: Products, mask: Tensor, generator: torch.Generator) -> Tensor:
        """One training step's loss: the batch's target SKUs through the product tower (what each has, minus
        modality dropout), its queries through the query tower, and the alignment loss between the two."""
        have = mask[batch.targets]                                             # (B, M) modalities each SKU has
        if self.config.modality_dropout:
            have = modality_dropout(have, self.config.modality_dropout, generator)
        items = self.product_vectors(products, batch.targets, have)            # (B, dim)
        return self.loss(self.query_vectors(batch.queries), items, batch.positives)
