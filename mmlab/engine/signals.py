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


DENSE = ("index", "text space", "photo space", "frozen photo", "small CNN")  # signals that are a dot product


@dataclass(frozen=True)
class Evidence:
    """What the engine takes from one raw query: a unit vector per dense signal (in that signal's space), one score
    per product for each other signal (BM25, modifier), and what it read (the transcript of a spoken query)."""

    vectors: dict[str, Tensor]
    boosts: dict[str, Tensor]
    read: dict[str, str]


def product_vectors(index: Tensor, spaces: ProductSpaces | None) -> dict[str, Tensor]:
    """Every product in each dense signal's space: the fused index, then the specialised spaces (if any)."""
    if spaces is None:
        return {"index": index}
    return {"index": index, "text space": spaces.text, "photo space": spaces.photo, "frozen photo": spaces.frozen,
            "small CNN": spaces.cnn}


def signals_of(evidence: Evidence, products: dict[str, Tensor]) -> dict[str, Tensor]:
    """Every signal of a query: each dense one as the products' dot products with its vector, then the boosts."""
    return {name: products[name] @ vector for name, vector in evidence.vectors.items()} | evidence.boosts


def stacked(products: dict[str, Tensor]) -> Tensor:
    """The products' dense signal vectors side by side (n_products, Σ dims): one vector per product for an index."""
    return torch.cat([products[name] for name in DENSE if name in products], dim=1)


def stacked_query(evidence: Evidence, weights: dict[str, float], products: dict[str, Tensor]) -> Tensor:
    """The query's weighted vectors side by side, zeros for a space it has no vector in: its dot product with
    :func:`stacked` products is the weighted sum of the dense signals."""
    parts = [weights.get(name, 0.0) * evidence.vectors[name] if name in evidence.vectors
             else torch.zeros(products[name].shape[1]) for name in DENSE if name in products]
    return torch.cat(parts)


def bm25_signal(spaces: ProductSpaces, words: str) -> Tensor:
    """BM25 of every product divided by the best product's (all zero when no word of the query is indexed)."""
    scores = torch.as_tensor(spaces.bm25.scores(words), dtype=torch.float32)
    return scores / scores.max() if scores.max() > 0 else scores


def ranked(scores: Tensor, k: int) -> Tensor:
    """Indices of the ``k`` best (float32) scores along the last dimension, best first; a tie goes to the lower
    index, so every path that ranks (in process, over Milvus, from collected signals) orders ties alike.

    As a stable sort, but one ``topk``: each score's bits become an integer in the order of the floats (+0.0 turns
    -0 into 0), shifted left to leave room for the index, which breaks ties.
    """
    bits = (scores.float() + 0.0).view(torch.int32).to(torch.int64)
    order = bits ^ ((bits >> 31) & 0x7FFFFFFF)  # negative floats: reverse the magnitude bits
    return torch.topk((order << 32) - torch.arange(scores.shape[-1]), k, dim=-1).indices


def weighted_score(signals: dict[str, Tensor], weights: dict[str, float]) -> Tensor:
    """Σ_s w_s · signal_s over the signals the weights name (n_products,)."""
    return sum(weight * signals[name] for name, weight in weights.items())
