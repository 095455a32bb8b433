"""Products no encoder was trained on, and the rule that trusts the words for them.

The encoders learnt from the training queries. A product type that has none (one added to the shop since, like
MiniMart's zero-shot types) has vectors that nothing taught, so the dense signals rank its products poorly. When the
best lexical match (BM25) of a typed or spoken query is such a product, the query is about something the dense
signals never saw, and it is ranked by BM25 alone.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from mmlab.data.catalog import Catalog

LEXICAL_KINDS = ("text", "voice")  # the kinds with a BM25 signal


def untrained_products(catalog: Catalog, sku_ids: np.ndarray) -> Tensor:
    """True for each SKU (in ``sku_ids`` order) whose product type has no training query."""
    trained = set(catalog.queries.type_id[catalog.queries.split == "train"])
    types = catalog.skus.set_index("sku_id").type_id.loc[sku_ids]
    return torch.from_numpy(~types.isin(trained).to_numpy())


def fallback_rows(kind: str, bm25: Tensor, untrained: Tensor) -> Tensor:
    """True for each query (rows of ``bm25``, its BM25 signal over the products) of a lexical ``kind`` whose best
    BM25 match is an untrained product (and that matches some product at all)."""
    if kind not in LEXICAL_KINDS:
        return torch.zeros(len(bm25), dtype=torch.bool)
    best, rows = bm25.max(dim=1)
    return (best > 0) & untrained[rows]


def adapted_weights(kind: str, weights: dict[str, float], boosts: dict[str, Tensor], untrained: Tensor
                    ) -> dict[str, float]:
    """``weights``, or BM25 alone when the query's best BM25 match is an untrained product."""
    if "BM25" in boosts and fallback_rows(kind, boosts["BM25"][None], untrained)[0]:
        return {"BM25": 1.0}
    return weights
