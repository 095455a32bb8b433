"""How much each signal counts for each kind of query, chosen on the validation queries only.

For one kind, every weight vector on a grid of the simplex (weights that are multiples of ``step`` and sum to 1) is
scored by the mean NDCG@10 of the validation queries ranked by the weighted sum of their signals, and the best one
kept (the first in grid order on a tie). The test queries are never looked at.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from mmlab.config import cache_dir
from mmlab.engine.inputs import raw_query
from mmlab.engine.modifiers import matching_skus, parse_modifier
from mmlab.engine.signals import DENSE, SIGNALS, signals_of, weighted_score
from mmlab.metrics import ndcg_per_query
from mmlab.zoo import code_fingerprint


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


def validation_signals(engine: Any, kind: str) -> tuple[dict[str, Tensor], list[dict[str, int]]]:
    """Every signal of the validation queries of ``kind`` (through the engine's doors) and their relevance."""
    queries = engine.catalog.queries
    rows = queries[(queries.split == "val") & (queries.modality == kind)]
    evidence = [engine.signals(engine.evidence(kind, raw_query(engine.catalog, row))) for row in
                rows.itertuples()]
    relevance = engine.catalog.relevance(rows.query_id)
    return {name: torch.stack([e[name] for e in evidence]) for name in evidence[0]}, [relevance[q] for q in
                                                                                       rows.query_id]


def validation_weights(engine: Any, step: float = 0.1, using: Sequence[str] | None = None
                       ) -> dict[str, dict[str, float]]:
    """Each query kind's signal weights, chosen on its validation queries (cached; kinds without any keep the
    fused index alone). ``using``: only these signals (the fused index always), for an ablation."""
    using = sorted(set(using or DENSE + ("BM25", "modifier")) | {"index"})
    path = cache_dir() / "engine" / f"weights-{_key(engine, step, using)}.json"
    if path.exists():
        return json.loads(path.read_text())
    weights = {}
    for kind in SIGNALS:
        if ((engine.catalog.queries.split == "val") & (engine.catalog.queries.modality == kind)).sum() >= 2:
            signals, relevance = validation_signals(engine, kind)
            kept = {name: signal for name, signal in signals.items() if name in using}
            weights[kind] = fit_weights(kept, relevance, engine.sku_ids, step)[0]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(weights, indent=1))
    return weights


def _key(engine: Any, step: float, using: list[str]) -> str:
    """What the weights depend on: the catalog, every product vector, the code, the step and the signals used."""
    digest = hashlib.sha256(f"{engine.catalog.fingerprint()} {step} {using}".encode())
    spaces = engine.spaces
    for tensor in (engine.index, spaces.text, spaces.photo, spaces.frozen, spaces.cnn):
        digest.update(tensor.numpy().tobytes())
    digest.update(code_fingerprint(type(engine), fit_weights, validation_signals, signals_of, parse_modifier,
                                   matching_skus).encode())
    return digest.hexdigest()[:16]
