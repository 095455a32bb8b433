"""The frozen upstream encoders a raw query passes through, and the fused index's per-modality parts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor

from mmlab.data.byo import has
from mmlab.data.catalog import Catalog
from mmlab.encoders import image, text, voice
from mmlab.encoders.speech_ctc import trained_recogniser
from mmlab.engine.hearing import ViterbiHearing
from mmlab.models.fusion import TwoTower, WeightedSumFusion
from mmlab.towerdata import Products

@dataclass(frozen=True)
class Encoders:
    """The frozen upstream encoders a raw query passes through before the query tower."""

    text: text.TextEncoder
    image: image.EfficientNetWithHead
    hear: Callable[[Sequence[np.ndarray]], list[str]]  # 16 kHz clips -> transcripts ("" when nothing was heard)
    cnn: torch.nn.Module | None = None  # notebook 02's small CNN: one more view of a photo


def cannot_hear(clips: Sequence[np.ndarray]) -> list[str]:
    """The stand-in recogniser of a catalog without voice queries: every spoken query fails with the fix."""
    raise ValueError("this catalog has no voice queries, so no speech recogniser was trained for it. Fix: search "
                     "by text or photo, or add recordings to your queries.csv (audio column, see data/README.md)")


DECODERS = ("greedy", "viterbi")


def upstream_encoders(catalog: Catalog, seed: int = 0, decoder: str = "viterbi") -> Encoders:
    """The encoders :mod:`mmlab.towerdata` embedded the tower's training queries with (spoken ones with the greedy
    decoder), from the zoo.

    A clip is heard by notebook 05's recogniser, its words found by ``decoder``: "greedy" as in notebook 05 (the
    lexicon words closest to the greedy phonemes), "viterbi" the lexicon's most probable path through the frame
    probabilities (:mod:`mmlab.engine.hearing`). A catalog without voice queries (your own, see
    ``data/README.md``) gets :func:`cannot_hear` as recogniser.
    """
    if decoder not in DECODERS:
        raise ValueError(f"unknown decoder {decoder!r}; choose one of {DECODERS}")
    text_model, _ = text.trained_text_encoder(catalog, kind=voice.TEXT_KIND, seed=seed, progress=False)
    image_model, _ = image.trained_image_encoder(catalog, kind="efficientnet_head", seed=seed, progress=False)
    cnn, _ = image.trained_image_encoder(catalog, kind="cnn", seed=seed, progress=False)
    if not has(catalog, "voice"):
        return Encoders(text_model, image_model, cannot_hear, cnn.eval())
    recogniser, _ = trained_recogniser(catalog, seed=seed, progress=False)
    hear = recogniser.transcribe if decoder == "greedy" else ViterbiHearing(recogniser).transcribe
    return Encoders(text_model, image_model, hear, cnn.eval())


def modality_parts(model: TwoTower, products: Products) -> Tensor:
    """(n_skus, M, dim): each SKU's per-modality terms ``w_m p̂_m / Z``; summed over M they give its index vector."""
    fuser = model.fuser
    if not isinstance(fuser, WeightedSumFusion):
        raise ValueError(f"per-modality contributions need weighted-sum fusion, the tower uses "
                         f"{type(fuser).__name__}; train it with TowerConfig(fusion='weighted_sum')")
    mask = products.mask_of(model.config.modalities)
    with torch.no_grad():
        tokens, mask = fuser.project({m: products.features[m] for m in model.config.modalities}, mask)
        weights = fuser.weights(mask).nan_to_num(0.0)  # a row with nothing present: NaN softmax → no weight
        parts = weights.unsqueeze(2) * F.normalize(tokens, dim=2)
        norm = parts.sum(dim=1).norm(dim=1).clamp_min(1e-12)  # a SKU with nothing present stays a zero vector
    return parts / norm[:, None, None]


def ratings(catalog: Catalog) -> pd.Series:
    """Mean star rating of each SKU's clean reviews (NaN for a SKU without any), indexed by sku_id."""
    reviews = catalog.reviews
    clean = reviews[reviews.noise.fillna("") == ""]
    return clean.groupby("sku_id").rating.mean().reindex(catalog.skus.sku_id)
