"""The shared two-tower setup of notebooks 06 (fusion) and 07 (alignment losses).

The upstream encoders are frozen and their embeddings cached (:mod:`mmlab.towerdata`), so an experiment only trains
two small towers on top of them, in seconds:

- the **query tower** maps each kind of query into the shared space: a typed or spoken query (its 03 text / 05
  voice vector) and a shopper photo (its 02 image vector) through a linear layer each, and a composed query (photo
  + "in blue") through a composition module, TIRG's gated residual by default;
- the **product tower** fuses a SKU's modalities (image, text, reviews, behaviour) with one of the fusers of
  :mod:`mmlab.fusion`, honouring the availability mask (a SKU without reviews or behaviour).

    config = TowerConfig(fusion="weighted_sum")
    model, summary = trained_tower(catalog, products, queries, config, seed=0)
    ranked = rank(model, products, queries.split_of("test"), k=10)

A SKU whose every selected modality is missing (a cold-start SKU in a behaviour-only tower) gets a zero vector: it
scores 0 against every query and is never a training target.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmlab import metrics, zoo
from mmlab.data.catalog import Catalog
from mmlab.models.fusion import FUSIONS, ConcatFusion, GatedFusion, modality_dropout
from mmlab.models.losses import LOSSES, alignment_loss, logit_scale, similarity
from mmlab.towerdata import PRODUCT_MODALITIES, QUERY_KINDS, Products, Queries
from mmlab.train import batch_rows, fit

COMPOSITIONS = ("gated", "concat", "photo_only")
VERSION = 3  # part of every checkpoint key, with the code of the fusers: bump when training itself changes


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


class QueryTower(nn.Module):
    """One small module per query kind, all mapping into the shared ``dim``-dimensional space."""

    def __init__(self, image_dim: int, text_dim: int, dim: int, composition: str = "gated",
                 gated: type[nn.Module] = GatedFusion, concat: type[nn.Module] = ConcatFusion) -> None:
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


def start_as_identity(layer: nn.Linear) -> None:
    """Make a square linear layer the identity map (weight I, bias 0); leave any other layer as it is.

    The frozen upstream encoders already put a typed query near its product's text and a photo near its product's
    image; starting from the identity keeps that alignment and lets training add the cross-modal part.
    """
    if layer.in_features == layer.out_features:
        with torch.no_grad():
            layer.weight.copy_(torch.eye(layer.in_features))
            layer.bias.zero_()


class TwoTower(nn.Module):
    """Query tower + product fuser + the logit scale of the loss (its temperature is a parameter of the model).

    ``fusions`` and ``gated`` are the fuser classes to build from, ``alignment`` and ``scale`` the loss and its
    logit scale (those of ``mmlab.models`` by default; notebooks 06 and 07 pass the ones they write)."""

    def __init__(self, config: TowerConfig, product_dims: dict[str, int], query_image_dim: int,
                 query_text_dim: int, fusions: dict[str, type[nn.Module]] = FUSIONS,
                 gated: type[nn.Module] = GatedFusion, alignment: Callable[..., Tensor] = alignment_loss,
                 scale: Callable[[str, float, bool], nn.Module] = logit_scale) -> None:
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
        return self.alignment(self.config.loss, similarity(queries, items), positives, self.scale, self.config.margin)


def relevance_matrix(catalog: Catalog, queries: Queries, products: Products, min_grade: int = 2) -> Tensor:
    """(n_queries, n_skus) bool: SKU j is relevant to query i with at least ``min_grade`` (multi-positive targets)."""
    column = {s: j for j, s in enumerate(products.sku_ids)}
    row = {q: i for i, q in enumerate(queries.query_ids)}
    qrels = catalog.qrels[catalog.qrels.query_id.isin(row) & (catalog.qrels.grade >= min_grade)]
    out = torch.zeros(len(queries.query_ids), len(products.sku_ids), dtype=torch.bool)
    out[qrels.query_id.map(row).to_numpy(copy=True), qrels.sku_id.map(column).to_numpy(copy=True)] = True
    return out


@dataclass
class Batch:
    """Training pairs: query rows, their target SKU rows and which (query, item) pairs are relevant."""

    queries: Queries
    targets: Tensor
    positives: Tensor


def batches(queries: Queries, relevant: Tensor, batch_size: int, seed: int):
    """One epoch of shuffled batches (see :func:`mmlab.train.batch_rows`)."""
    order = torch.randperm(len(queries.query_ids), generator=torch.Generator().manual_seed(seed))
    for rows in batch_rows(order, batch_size):
        targets = queries.targets[rows]
        positives = relevant[rows][:, targets] | torch.eye(len(rows), dtype=torch.bool)
        yield Batch(queries.subset(rows), targets, positives)


def training_mask(products: Products, config: TowerConfig) -> Tensor:
    """The availability mask seen in training: ``train_without`` modalities masked out."""
    mask = products.mask_of(config.modalities).clone()
    for m in config.train_without:
        mask[:, config.modalities.index(m)] = False
    return mask


def train_tower(model: TwoTower, catalog: Catalog, products: Products, queries: Queries, seed: int,
                progress: bool = False) -> dict[str, Any]:
    """Train on the TRAIN queries, keep the epoch with the best validation NDCG@10; a JSON-able summary."""
    config = model.config
    mask = training_mask(products, config)
    train = queries.split_of("train").where_target(mask.any(dim=1))
    val = queries.split_of("val")
    relevant = relevance_matrix(catalog, train, products)
    generator = torch.Generator().manual_seed(seed)
    temperatures: list[float] = []

    def loss_fn(net: TwoTower, batch: Batch) -> Tensor:
        batch_mask = mask[batch.targets]
        if config.modality_dropout:
            batch_mask = modality_dropout(batch_mask, config.modality_dropout, generator)
        items = net.product_vectors(products, batch.targets, batch_mask)
        loss = net.loss(net.query_vectors(batch.queries), items, batch.positives)
        temperatures.append(getattr(net.scale, "temperature", float("nan")))
        return loss

    history = fit(model, lambda epoch: batches(train, relevant, config.batch_size, seed * 1000 + epoch), loss_fn,
                  epochs=config.epochs, lr=config.lr, progress=progress, patience=config.patience,
                  evaluate=lambda: mean_ndcg(catalog, val, rank(model, products, val)))
    return {"loss": history.loss, "val_ndcg10": history.val, "best_epoch": history.best_epoch,
            "seconds": round(history.seconds, 2), "temperature": temperatures, "train_queries": len(train.query_ids)}


def features_hash(products: Products, queries: Queries) -> str:
    """A short hash of the cached upstream embeddings: part of every checkpoint key."""
    digest = hashlib.sha256()
    for tensor in [*products.features.values(), products.mask, queries.image, queries.text, queries.kind]:
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()[:16]


def fuser_classes(config: TowerConfig, fusions: dict[str, type[nn.Module]],
                  gated: type[nn.Module]) -> list[type[nn.Module]]:
    """The fuser classes a tower of ``config`` is built from (their code is part of its checkpoint key)."""
    composer = {"gated": [gated], "concat": [fusions["concat"]], "photo_only": []}[config.composition]
    return [fusions[config.fusion], *composer]


def trained_tower(catalog: Catalog, products: Products, queries: Queries, config: TowerConfig, seed: int = 0,
                  progress: bool = False, fusions: dict[str, type[nn.Module]] = FUSIONS,
                  gated: type[nn.Module] = GatedFusion, alignment: Callable[..., Tensor] = alignment_loss,
                  scale: Callable[[str, float, bool], nn.Module] = logit_scale) -> tuple[TwoTower, dict[str, Any]]:
    """A trained :class:`TwoTower` built from ``fusions``, ``gated``, ``alignment`` and ``scale``, from the zoo if
    this config was trained on these features with the same code before (an edited fuser or loss retrains, an
    unchanged one loads)."""
    dims = {m: x.shape[1] for m, x in products.features.items()}
    query_dims = (queries.image.shape[1], queries.text.shape[1])
    code = zoo.code_fingerprint(*fuser_classes(config, fusions, gated), alignment, scale, QueryTower, TwoTower,
                                train_tower)
    key = asdict(config) | {"seed": seed, "version": VERSION, "code": code}
    return zoo.trained("twotower", key, catalog.fingerprint() + features_hash(products, queries),
                       build=lambda: TwoTower(config, dims, *query_dims, fusions, gated, alignment, scale),
                       train=lambda m: train_tower(m, catalog, products, queries, seed, progress), seed=seed)


@torch.no_grad()
def rank(model: TwoTower, products: Products, queries: Queries, k: int = 10, mask: Tensor | None = None
         ) -> list[list[str]]:
    """Top-k SKU ids per query by cosine similarity (``mask`` overrides the products' availability mask)."""
    was_training = model.training
    model.eval()
    items = model.product_vectors(products, mask=mask)
    top = (model.query_vectors(queries) @ items.T).topk(k, dim=1).indices.numpy()
    model.train(was_training)
    return [list(products.sku_ids[row]) for row in top]


def ndcg_per_query(catalog: Catalog, queries: Queries, ranked: list[list[str]], k: int = 10) -> np.ndarray:
    """NDCG@k of each query (for bootstrap intervals and per-kind tables)."""
    relevance = catalog.relevance(queries.query_ids)
    return metrics.ndcg_per_query(ranked, [relevance[q] for q in queries.query_ids], k)


def mean_ndcg(catalog: Catalog, queries: Queries, ranked: list[list[str]], k: int = 10) -> float:
    return float(ndcg_per_query(catalog, queries, ranked, k).mean())


def by_kind(per_query: np.ndarray, queries: Queries) -> dict[str, float]:
    """Mean of a per-query score for each query kind present, and over all of them ("mixed")."""
    kinds = queries.kinds
    means = {kind: float(per_query[kinds == kind].mean()) for kind in QUERY_KINDS if (kinds == kind).any()}
    return means | {"mixed": float(per_query.mean())}
