"""How much each signal counts for each kind of query, chosen on the validation queries only.

For one kind, every weight vector on a grid of the simplex (weights that are multiples of ``step`` and sum to 1) is
scored by the mean NDCG@10 of the validation queries ranked by the weighted sum of their signals, and the best one
kept (the first in grid order on a tie). The test queries are never looked at.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from mmlab.metrics import ndcg_per_query
from mmlab.engine.signals import weighted_score


def simplex(n: int, step: float = 0.1) -> list[tuple[float, ...]]:
    """Every ``n``-vector of non-negative multiples of ``step`` that sums to 1, in lexicographic order."""
    units = round(1 / step)
    if n < 1 or abs(units * step - 1) > 1e-9:
        raise ValueError(f"need n >= 1 signals and a step that divides 1, got n={n}, step={step}")
    return [tuple(c / units for c in combo) for combo in itertools.product(range(units + 1), repeat=n)
            if sum(combo) == units]


def mean_ndcg(score: Tensor, relevance: Sequence[dict[str, int]], sku_ids: np.ndarray, k: int = 10) -> float:
    """Mean NDCG@k of queries ranked by ``score`` (n_queries, n_products)."""
    top = score.topk(k, dim=1).indices.numpy()
    return float(ndcg_per_query([list(sku_ids[row]) for row in top], relevance, k).mean())


def fit_weights(signals: dict[str, Tensor], relevance: Sequence[dict[str, int]], sku_ids: np.ndarray,
                step: float = 0.1, k: int = 10) -> tuple[dict[str, float], float]:
    """The simplex weights over ``signals`` (name -> (n_queries, n_products)) with the best mean NDCG@k, and it."""
    names = list(signals)
    best, best_weights = -1.0, {}
    for combo in simplex(len(names), step):
        weights = dict(zip(names, combo))
        with torch.no_grad():
            value = mean_ndcg(weighted_score(signals, weights), relevance, sku_ids, k)
        if value > best + 1e-12:
            best, best_weights = value, weights
    return best_weights, best
