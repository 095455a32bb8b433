"""Cached inputs of the two towers: every SKU's per-modality embeddings and every query's embeddings.

The upstream encoders are the workbook's best ones, frozen and taken from the zoo (trained first if missing):

| input | encoder (notebook) | dim |
|---|---|---|
| product image, shopper photo | EfficientNet-Lite0 + trained head (02) | 128 |
| product title + description, typed query, composed-query modifier | mean WordPiece encoder (03) | 128 |
| product reviews (mask: SKU has reviews) | review encoder (04) | 64 |
| product behaviour (mask: SKU has clicks/carts/purchases) | item2vec (04) | 32 |

A catalog without reviews or sessions (your own) gets zeros there, masked out for every SKU.
| spoken query | audio encoder into the text space (05) | 128 |

    products, queries = load_tower_inputs(catalog, seed=0)
    products.mask_of(["review", "behaviour"])     # (n_skus, 2) bool availability
    queries.split_of("test").kind_of("voice")       # the test voice queries
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from mmlab.data.byo import has
from mmlab.data.catalog import Catalog
from mmlab.encoders import behaviour, image, review, text, voice

PRODUCT_MODALITIES = ("image", "text", "review", "behaviour")
QUERY_KINDS = ("text", "image", "voice", "composed")
SPLITS = ("train", "val", "test")


def _check_modality(modality: str) -> None:
    if modality not in PRODUCT_MODALITIES:
        raise ValueError(f"unknown modality {modality!r}; choose one of {PRODUCT_MODALITIES}")


@dataclass(frozen=True)
class Products:
    """Per-modality SKU features (zeros where missing) and their availability mask, rows in catalog order."""

    sku_ids: np.ndarray
    features: dict[str, Tensor]
    mask: Tensor  # (n_skus, len(PRODUCT_MODALITIES)) bool

    def mask_of(self, modalities: Sequence[str]) -> Tensor:
        """The availability columns of ``modalities``, in that order."""
        unknown = set(modalities) - set(PRODUCT_MODALITIES)
        if unknown:
            raise ValueError(f"unknown modalities {sorted(unknown)}; choose from {PRODUCT_MODALITIES}")
        return self.mask[:, [PRODUCT_MODALITIES.index(m) for m in modalities]]

    def without(self, modality: str) -> Products:
        """The same SKUs with ``modality`` marked missing everywhere (a test-time ablation)."""
        _check_modality(modality)
        mask = self.mask.clone()
        mask[:, PRODUCT_MODALITIES.index(modality)] = False
        return replace(self, mask=mask)

    def with_noise(self, modality: str, share: float, seed: int = 0) -> Products:
        """The same SKUs with ``modality`` replaced by random vectors of the same norm on a ``share`` of them."""
        _check_modality(modality)
        if not 0 <= share <= 1:
            raise ValueError(f"share must be in [0, 1], got {share}")
        generator = torch.Generator().manual_seed(seed)
        x = self.features[modality]
        noisy = torch.rand(len(x), generator=generator) < share
        noise = torch.randn(x.shape, generator=generator)
        noise = noise / noise.norm(dim=1, keepdim=True) * x.norm(dim=1, keepdim=True)
        return replace(self, features=self.features | {modality: torch.where(noisy[:, None], noise, x)})


@dataclass(frozen=True)
class Queries:
    """Query embeddings: ``image`` (photo, zeros if none) and ``text`` (typed, modifier or spoken; zeros if none)."""

    query_ids: np.ndarray
    split: np.ndarray
    kind: Tensor  # (n,) index into QUERY_KINDS
    image: Tensor
    text: Tensor
    targets: Tensor  # (n,) catalog row of the target SKU

    def subset(self, rows: Tensor | np.ndarray) -> Queries:
        rows = torch.as_tensor(rows)
        index = rows.numpy()
        return Queries(self.query_ids[index], self.split[index], self.kind[rows], self.image[rows], self.text[rows],
                       self.targets[rows])

    def split_of(self, split: str) -> Queries:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")
        return self.subset(np.flatnonzero(self.split == split))

    def kind_of(self, kind: str) -> Queries:
        if kind not in QUERY_KINDS:
            raise ValueError(f"unknown query kind {kind!r}; choose one of {QUERY_KINDS}")
        return self.subset(torch.nonzero(self.kind == QUERY_KINDS.index(kind)).flatten())

    def where_target(self, usable: Tensor) -> Queries:
        """The queries whose target SKU row is True in ``usable`` (n_skus,)."""
        return self.subset(torch.nonzero(usable[self.targets]).flatten())

    @property
    def kinds(self) -> np.ndarray:
        """Kind names, one per query."""
        return np.array(QUERY_KINDS)[self.kind.numpy()]


def absent(n: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """A modality no SKU has (your own catalog without reviews or sessions): zero vectors, all masked out."""
    return np.zeros((n, dim), np.float32), np.zeros(n, bool)


def product_features(catalog: Catalog, seed: int = 0) -> Products:
    """Every SKU's image, text, review and behaviour embedding with its availability mask."""
    image_model, _ = image.trained_image_encoder(catalog, kind="efficientnet_head", seed=seed, progress=False)
    text_model, _ = text.trained_text_encoder(catalog, kind="mean", seed=seed, progress=False)
    n = len(catalog.skus)
    reviews, has_reviews = (review.review_embeddings(catalog, seed=seed) if has(catalog, "reviews")
                            else absent(n, review.ReviewConfig().dim))
    behaviours, has_behaviour = (behaviour.behaviour_embeddings(catalog, seed=seed, kind="item2vec")
                                 if has(catalog, "behaviour") else absent(n, behaviour.ITEM2VEC.dim))
    features = {"image": image.product_embeddings(image_model, catalog),
                "text": text.product_text_embeddings(text_model, catalog), "review": reviews, "behaviour": behaviours}
    mask = np.stack([np.ones(n, bool), np.ones(n, bool), has_reviews, has_behaviour], axis=1)
    return Products(catalog.skus.sku_id.to_numpy(), {m: torch.as_tensor(x, dtype=torch.float32)
                                                     for m, x in features.items()}, torch.as_tensor(mask))


def _query_table(catalog: Catalog, kinds: Sequence[str]) -> pd.DataFrame:
    queries = catalog.queries
    return queries[queries.modality.isin(kinds) & queries.split.isin(SPLITS)].reset_index(drop=True)


def query_features(catalog: Catalog, seed: int = 0) -> Queries:
    """Embeddings of the train/val/test queries of every kind (voice: notebook 05's encoder, in the text space)."""
    table = _query_table(catalog, QUERY_KINDS)
    image_model, _ = image.trained_image_encoder(catalog, kind="efficientnet_head", seed=seed, progress=False)
    text_model, _ = text.trained_text_encoder(catalog, kind="mean", seed=seed, progress=False)
    dim = image.DIM
    photos, words = torch.zeros(len(table), dim), torch.zeros(len(table), dim)
    for (split, kind), group in table.groupby(["split", "modality"]):
        rows = torch.as_tensor(group.index.to_numpy(copy=True))
        if kind in ("image", "composed"):  # per split and kind: the photo features the zoo cached for notebook 02
            photos[rows] = torch.as_tensor(image.photo_embeddings(image_model, catalog, list(group.query_id)))
        if kind in ("text", "composed"):
            words[rows] = torch.as_tensor(text.encode_texts(text_model, group.text.tolist()))
        if kind == "voice":
            words[rows] = torch.as_tensor(voice.embed_voice_queries(catalog, group, fast=catalog.fast, seed=seed))
    row_of_sku = {s: i for i, s in enumerate(catalog.skus.sku_id)}
    return Queries(table.query_id.to_numpy(), table.split.to_numpy(),
                   torch.as_tensor([QUERY_KINDS.index(k) for k in table.modality]), photos, words,
                   torch.as_tensor([row_of_sku[s] for s in table.target_sku]))


def load_tower_inputs(catalog: Catalog, seed: int = 0) -> tuple[Products, Queries]:
    """Products and queries, ready for :func:`mmlab.twotower.trained_tower`."""
    return product_features(catalog, seed), query_features(catalog, seed)
