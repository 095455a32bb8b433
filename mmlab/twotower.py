"""Training and scoring the two towers of notebooks 06 (fusion) and 07 (alignment losses).

The towers themselves (``TowerConfig``, the query tower, the fusers, ``TwoTower`` and its training step) are written
in notebook 06 and saved to :mod:`mmlab.models.fusion`; the losses in notebook 07 (:mod:`mmlab.models.losses`). The
upstream encoders are frozen and their embeddings cached (:mod:`mmlab.towerdata`), so an experiment only trains the
two small towers on top of them, in seconds:

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
from torch import Tensor, nn

from mmlab import metrics, zoo
from mmlab.data.catalog import Catalog
from mmlab.models.fusion import FUSIONS, GatedFusion, TowerConfig, TwoTower
from mmlab.models.losses import alignment_loss, logit_scale
from mmlab.towerdata import QUERY_KINDS, Products, Queries
from mmlab.train import batch_rows, fit, summary

VERSION = 4  # part of every checkpoint key, with the code of the fusers: bump when training itself changes


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
        loss = net.training_loss(batch, products, mask, generator)
        temperatures.append(getattr(net.scale, "temperature", float("nan")))
        return loss

    history = fit(model, lambda epoch: batches(train, relevant, config.batch_size, seed * 1000 + epoch), loss_fn,
                  epochs=config.epochs, lr=config.lr, progress=progress, patience=config.patience,
                  evaluate=lambda: mean_ndcg(catalog, val, rank(model, products, val)))
    return summary(history, "ndcg10", temperature=temperatures, train_queries=len(train.query_ids))


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
                  scale: Callable[[str, float, bool], nn.Module] = logit_scale, tower: type[TwoTower] = TwoTower
                  ) -> tuple[TwoTower, dict[str, Any]]:
    """A trained ``tower`` built from ``fusions``, ``gated``, ``alignment`` and ``scale`` (notebook 06's and 07's,
    as saved in mmlab.models, unless a notebook passes its own), from the zoo if this config was trained on these
    features with the same code before (an edited fuser, tower or loss retrains, an unchanged one loads)."""
    dims = {m: x.shape[1] for m, x in products.features.items()}
    query_dims = (queries.image.shape[1], queries.text.shape[1])
    code = zoo.code_fingerprint(*fuser_classes(config, fusions, gated), alignment, scale, tower, train_tower)
    key = asdict(config) | {"seed": seed, "version": VERSION, "code": code}
    return zoo.trained("twotower", key, catalog.fingerprint() + features_hash(products, queries),
                       build=lambda: tower(config, dims, *query_dims, fusions, gated, alignment, scale),
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
