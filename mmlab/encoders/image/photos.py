"""Catalog photos, shoppers' photos (re-shot with a camera corruption) and the search quality of an encoder."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor, nn

from mmlab import zoo
from mmlab.data.catalog import Catalog
from mmlab.data.images import rotate_hue, shopper_photo
from mmlab.metrics import evaluate, precision_at_k
from mmlab.retrieval import rank_ids

from mmlab.encoders.image.encoders import (BIG_MODEL_THREADS, EfficientNetLite0, EfficientNetWithHead, embed,
                                          photos_to_tensor)


def product_photos(catalog: Catalog, sku_ids: Sequence[str] | None = None) -> Tensor:
    """Catalog photos (all SKUs by default, in ``catalog.skus`` order) as a tensor (N, 3, 64, 64)."""
    ids = catalog.skus.sku_id if sku_ids is None else sku_ids
    return photos_to_tensor([catalog.product_image(s) for s in ids])


def query_photos(catalog: Catalog, query_ids: Sequence[str]) -> Tensor:
    """The shoppers' photos of image (or composed) queries as a tensor (N, 3, 64, 64)."""
    return photos_to_tensor([catalog.query_image(q) for q in query_ids])


class FeatureBank(nn.Module):
    """A fixed table of features held in a buffer, so that the zoo can cache it like a model's weights."""

    def __init__(self, n: int, dim: int) -> None:
        super().__init__()
        self.register_buffer("features", torch.zeros(n, dim))


def pooled_features(backbone: EfficientNetLite0, photos: Tensor, batch_size: int = 128) -> Tensor:
    """Frozen backbone features (N, 1280) of a photo batch, computed in chunks."""
    with torch.no_grad():
        return torch.cat([backbone.features(photos[i:i + batch_size]) for i in range(0, len(photos), batch_size)])


def frozen_features(catalog: Catalog, backbone: EfficientNetLite0, query_ids: Sequence[str] | None = None) -> Tensor:
    """Backbone features of every catalog photo (or of the given queries' photos), cached on disk by the zoo.

    The frozen network gives the same features every time, so they are computed once per catalog version, photo
    set and input size: the second call (in this or a later notebook) takes milliseconds instead of minutes.
    """
    ids = list(catalog.skus.sku_id if query_ids is None else query_ids)
    which = "products" if query_ids is None else hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]
    load = (lambda: product_photos(catalog)) if query_ids is None else (lambda: query_photos(catalog, ids))

    def compute(bank: FeatureBank) -> dict[str, Any]:
        bank.features.copy_(pooled_features(backbone, load()))
        return {"photos": len(ids)}

    bank, _ = zoo.trained("efficientnet-features", {"size": backbone.size, "photos": which}, catalog.fingerprint(),
                          build=lambda: FeatureBank(len(ids), 1280), train=compute, threads=BIG_MODEL_THREADS)
    return bank.features


def _frozen_backbone(model: nn.Module) -> bool:
    return isinstance(model, (EfficientNetLite0, EfficientNetWithHead))


def product_embeddings(model: nn.Module, catalog: Catalog) -> np.ndarray:
    """Embeddings (n_skus, D) of every catalog photo, rows in ``catalog.skus`` order."""
    if _frozen_backbone(model):  # reuse the cached backbone features
        with torch.no_grad():
            return model.from_features(frozen_features(catalog, model.backbone)).numpy()
    return embed(model, product_photos(catalog))


def photo_embeddings(model: nn.Module, catalog: Catalog, query_ids: Sequence[str]) -> np.ndarray:
    """Embeddings (n_queries, D) of the shoppers' photos of the given image or composed queries."""
    if _frozen_backbone(model):
        with torch.no_grad():
            return model.from_features(frozen_features(catalog, model.backbone, query_ids)).numpy()
    return embed(model, query_photos(catalog, query_ids))


def image_queries(catalog: Catalog, split: str) -> pd.DataFrame:
    """The photo queries (modality "image") of one split: train, val, test or zero_shot."""
    splits = set(catalog.queries.split)
    if split not in splits:
        raise ValueError(f"unknown split {split!r}; the catalog has {sorted(splits)}")
    queries = catalog.queries
    return queries[(queries.modality == "image") & (queries.split == split)].reset_index(drop=True)


def search_quality(photo_vectors: np.ndarray, product_vectors: np.ndarray, catalog: Catalog,
                   query_ids: Sequence[str]) -> dict[str, float]:
    """SKU HitRate@1/@10, NDCG@10 and type R@1 of photo queries searched against every SKU (cosine).

    Type R@1 is the share of queries whose top-1 SKU is of the right product type; every SKU of the query's type
    has relevance grade >= 1, so it is Precision@1 with grade >= 1.
    """
    if len(photo_vectors) != len(query_ids):
        raise ValueError(f"{len(photo_vectors)} photo vectors for {len(query_ids)} query ids; pass one per query")
    ranked = rank_ids(photo_vectors, product_vectors, catalog.skus.sku_id.to_numpy(), k=10)
    relevance = catalog.relevance(query_ids)
    grades = [relevance[q] for q in query_ids]
    targets = [catalog.query(q).target_sku for q in query_ids]
    row = evaluate(ranked, grades, targets, ks=(1, 10))
    return {"hit@1": row["hit@1"], "hit@10": row["hit@10"], "type_r1": precision_at_k(ranked, grades, 1),
            "ndcg@10": row["ndcg@10"]}


def looks(catalog: Catalog, sku_ids: Sequence[str]) -> np.ndarray:
    """An integer per SKU, equal for SKUs whose catalog photos are identical (same art, same colour)."""
    skus = catalog.skus.set_index("sku_id").loc[list(sku_ids)]
    art = skus.get("image_path", pd.Series("", index=skus.index)).fillna("").astype(str)
    keys = skus.code.astype(str) + "|" + art + "|" + skus.hue_shift.astype(str)
    return pd.factorize(keys)[0]


def shoot(catalog: Catalog, query: pd.Series, rng: np.random.Generator) -> Image.Image:
    """A new shopper photo of a query's product: its shopper art and colour, a fresh camera corruption."""
    source = catalog.sku(query.source_sku)
    return shopper_photo(rotate_hue(catalog._art(source, "twitter"), query.hue_shift), rng)


def jitter(x: Tensor, generator: torch.Generator, degrees: float = 10, scale: float = 0.1,
           shift: float = 0.06) -> Tensor:
    """A small random rotation, zoom and shift of each photo in a batch, filling with white (the background)."""
    n = len(x)
    angle = (torch.rand(n, generator=generator) * 2 - 1) * math.radians(degrees)
    zoom = 1 + (torch.rand(n, generator=generator) * 2 - 1) * scale
    offset = (torch.rand(n, 2, generator=generator) * 2 - 1) * shift * 2  # grid coordinates span [-1, 1]
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([torch.stack([cos, -sin, offset[:, 0]], 1), torch.stack([sin, cos, offset[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    moved = F.grid_sample(x - 1, grid, align_corners=False) + 1  # zeros outside = white after the shift back
    return moved.clamp(0, 1)
