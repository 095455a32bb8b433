"""The evidence the engine weighs for each kind of query: the fused index and the specialised spaces beside it.

One fused vector per product has to serve every kind of query, and that costs it where a specialised space is
already good (notebook 06: routing each kind to its upstream index beats every tower). So the score of a product is
a weighted sum of signals, each one similarity of the query to every product:

- ``index``: the fused index (the query tower's vector against the fused product vectors);
- ``text space`` and ``BM25`` (scaled to [0, 1] by the query's best product) for typed and spoken queries; BM25
  knows every word of the catalog, including those of product types no encoder was trained on;
- ``photo space`` (notebook 02's trained head), ``frozen photo`` (the frozen EfficientNet's pooled features) and
  ``small CNN`` for photos: the frozen features still see product types the head never saw;
- ``modifier`` for a photo plus modifier: 1 for the SKUs of the photo's type that fulfil it
  (:mod:`mmlab.engine.modifiers`), 0 elsewhere.

The weights are chosen on the validation queries (:mod:`mmlab.engine.weights`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor

from mmlab.data.catalog import Catalog
from mmlab.encoders import image, text

SIGNALS = {"text": ("index", "text space", "BM25"), "voice": ("index", "text space", "BM25"),
           "image": ("index", "photo space", "frozen photo", "small CNN"),
           "composed": ("index", "photo space", "frozen photo", "small CNN", "modifier")}


@dataclass(frozen=True)
class ProductSpaces:
    """Every product in each specialised space (unit rows, ``catalog.skus`` order) and the BM25 index."""

    text: Tensor
    photo: Tensor
    frozen: Tensor
    cnn: Tensor
    bm25: text.BM25Index
    attributes: pd.DataFrame  # type_id, colour, price: what modifiers act on


def product_spaces(catalog: Catalog, text_model: text.TextEncoder, photo_model: image.EfficientNetWithHead,
                   cnn: torch.nn.Module) -> ProductSpaces:
    """The products in notebook 03's text space, notebook 02's photo spaces (head, frozen backbone, small CNN)."""
    def unit(x) -> Tensor:
        return F.normalize(torch.as_tensor(x, dtype=torch.float32), dim=1)

    return ProductSpaces(unit(text.product_text_embeddings(text_model, catalog)),
                         unit(image.product_embeddings(photo_model, catalog)),
                         unit(image.frozen_features(catalog, photo_model.backbone)),
                         unit(image.product_embeddings(cnn, catalog)), text.BM25Index(catalog),
                         catalog.skus[["type_id", "colour", "price"]].reset_index(drop=True))


def bm25_signal(spaces: ProductSpaces, words: str) -> Tensor:
    """BM25 of every product divided by the best product's (all zero when no word of the query is indexed)."""
    scores = torch.as_tensor(spaces.bm25.scores(words), dtype=torch.float32)
    return scores / scores.max() if scores.max() > 0 else scores


def text_signals(spaces: ProductSpaces, words: str, words_vector: Tensor, index_scores: Tensor) -> dict[str, Tensor]:
    """A typed query (or a transcript): ``words_vector`` is its text-space embedding (dim,)."""
    return {"index": index_scores, "text space": spaces.text @ F.normalize(words_vector, dim=0),
            "BM25": bm25_signal(spaces, words)}


def photo_signals(spaces: ProductSpaces, photo_vector: Tensor, frozen_vector: Tensor, cnn_vector: Tensor,
                  index_scores: Tensor) -> dict[str, Tensor]:
    """A shopper's photo, embedded by the trained head, the frozen backbone and the small CNN (each (dim,))."""
    return {"index": index_scores, "photo space": spaces.photo @ F.normalize(photo_vector, dim=0),
            "frozen photo": spaces.frozen @ F.normalize(frozen_vector, dim=0),
            "small CNN": spaces.cnn @ F.normalize(cnn_vector, dim=0)}


def weighted_score(signals: dict[str, Tensor], weights: dict[str, float]) -> Tensor:
    """Σ_s w_s · signal_s over the signals the weights name (n_products,)."""
    return sum(weight * signals[name] for name, weight in weights.items())
