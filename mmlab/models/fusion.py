"""The models of notebook 06 · Fusion: one product vector from image, text, reviews and behaviour.

Written, explained and trained in notebooks/06_fusion.ipynb. Generated from that notebook's cells marked ``#@save``
(``python -m tools.saved_cells``): edit the notebook, not this file.
"""

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


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
