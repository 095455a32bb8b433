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
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from mmlab.config import cache_dir
from mmlab.engine.cold import fallback_rows
from mmlab.engine.hearing import ViterbiHearing, lexicon_viterbi
from mmlab.engine.inputs import raw_query
from mmlab.engine.modifiers import matching_skus, parse_modifier
from mmlab.engine.signals import DENSE, SIGNALS, ranked, signals_of, weighted_score
from mmlab.zoo import code_fingerprint


def simplex(n: int, step: float = 0.1) -> list[tuple[float, ...]]:
    """Every ``n``-vector of non-negative multiples of ``step`` that sums to 1, in lexicographic order."""
    units = round(1 / step)
    if n < 1 or abs(units * step - 1) > 1e-9:
        raise ValueError(f"need n >= 1 signals and a step that divides 1, got n={n}, step={step}")
    return [tuple(c / units for c in combo) for combo in itertools.product(range(units + 1), repeat=n)
            if sum(combo) == units]


@dataclass(frozen=True)
class Judgements:
    """The relevance of a table of queries as tensors, so that scoring one weighting is a few tensor operations:
    each product's grade per query, and each query's ideal DCG@k (over all its judged items, as
    :func:`mmlab.metrics.ndcg_per_query`)."""

    grades: Tensor  # (n_queries, n_products), float64, 0 where not judged
    ideal: Tensor   # (n_queries,)
    k: int

    @classmethod
    def of(cls, relevance: Sequence[dict[str, int]], sku_ids: np.ndarray, k: int = 10) -> Judgements:
        column = {sku: j for j, sku in enumerate(sku_ids)}
        grades = torch.zeros(len(relevance), len(sku_ids), dtype=torch.float64)
        ideal = torch.zeros(len(relevance), k, dtype=torch.float64)
        for i, judged in enumerate(relevance):
            for sku, grade in judged.items():
                if sku in column:
                    grades[i, column[sku]] = grade
            best = sorted(judged.values(), reverse=True)[:k]
            ideal[i, :len(best)] = torch.tensor(best, dtype=torch.float64)
        return cls(grades, ideal @ _discount(k), k)

    def mean_ndcg(self, score: Tensor) -> float:
        """Mean NDCG@k (linear gains, log2 discount) of the queries ranked by ``score`` (n_queries, n_products)."""
        dcg = self.grades.gather(1, ranked(score, self.k)) @ _discount(self.k)
        return float((dcg / self.ideal).mean())


def _discount(k: int) -> Tensor:
    return 1 / torch.log2(torch.arange(2, k + 2, dtype=torch.float64))


def fit_weights(signals: dict[str, Tensor], relevance: Sequence[dict[str, int]], sku_ids: np.ndarray,
                step: float = 0.1, k: int = 10) -> tuple[dict[str, float], float]:
    """The simplex weights over ``signals`` (name -> (n_queries, n_products)) with the best mean NDCG@k, and it."""
    names, judgements = list(signals), Judgements.of(relevance, sku_ids, k)
    best, best_weights = -1.0, {}
    for combo in simplex(len(names), step):
        weights = dict(zip(names, combo))
        with torch.no_grad():
            value = judgements.mean_ndcg(weighted_score(signals, weights))
        if value > best + 1e-12:
            best, best_weights = value, weights
    return best_weights, best


@dataclass(frozen=True)
class KindSignals:
    """Every signal of a table of queries of one kind (name -> (n_queries, n_products)), their ids and relevance."""

    signals: dict[str, Tensor]
    query_ids: list[str]
    relevance: list[dict[str, int]]

    def scores(self, weights: dict[str, float], untrained: Tensor | None = None, kind: str = "") -> Tensor:
        """The engine's score of every product per query; with ``untrained``, BM25 alone for the queries whose best
        BM25 match is untrained (:mod:`mmlab.engine.cold`)."""
        score = weighted_score(self.signals, weights)
        if untrained is None or "BM25" not in self.signals:
            return score
        return torch.where(fallback_rows(kind, self.signals["BM25"], untrained)[:, None], self.signals["BM25"], score)


def query_signals(engine: Any, queries: pd.DataFrame) -> dict[str, KindSignals]:
    """Every signal of each query (rows of ``catalog.queries``) through the engine's doors, grouped by kind."""
    out = {}
    for kind, rows in queries.groupby("modality", sort=False):
        evidence = [engine.signals(engine.evidence(kind, raw_query(engine.catalog, row))) for row in
                    rows.itertuples()]
        relevance = engine.catalog.relevance(rows.query_id)
        out[kind] = KindSignals({name: torch.stack([e[name] for e in evidence]) for name in evidence[0]},
                                list(rows.query_id), [relevance.get(q, {}) for q in rows.query_id])
    return out


def fit_kind_weights(signals: dict[str, KindSignals], sku_ids: np.ndarray, step: float = 0.1,
                     using: Sequence[str] | None = None) -> dict[str, dict[str, float]]:
    """Each kind's best simplex weights over its signals (``using``: only these, the fused index always)."""
    using = set(using or DENSE + ("BM25", "modifier")) | {"index"}
    return {kind: fit_weights({name: s for name, s in found.signals.items() if name in using}, found.relevance,
                              sku_ids, step)[0] for kind, found in signals.items() if len(found.query_ids) >= 2}


def validation_weights(engine: Any, step: float = 0.1) -> dict[str, dict[str, float]]:
    """Each query kind's signal weights, chosen on its validation queries (cached; kinds without any keep the
    fused index alone)."""
    path = cache_dir() / "engine" / f"weights-{_key(engine, step)}.json"
    if path.exists():
        return json.loads(path.read_text())
    queries = engine.catalog.queries
    val = queries[(queries.split == "val") & queries.modality.isin(list(SIGNALS))]
    weights = fit_kind_weights(query_signals(engine, val), engine.sku_ids, step)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(weights, indent=1))
    return weights


def _key(engine: Any, step: float) -> str:
    """What the weights depend on: the catalog, every product vector, the code, the step and how speech is heard."""
    digest = hashlib.sha256(f"{engine.catalog.fingerprint()} {step} {_hearing(engine)}".encode())
    spaces = engine.spaces
    for tensor in (engine.index, spaces.text, spaces.photo, spaces.frozen, spaces.cnn):
        digest.update(tensor.numpy().tobytes())
    digest.update(code_fingerprint(type(engine), fit_weights, fit_kind_weights, Judgements, ranked, query_signals,
                                   signals_of, fallback_rows, parse_modifier, matching_skus).encode())
    return digest.hexdigest()[:16]


def _hearing(engine: Any) -> str:
    """Which decoder hears the spoken queries, with its settings and code."""
    hear = engine.encoders.hear
    owner = getattr(hear, "__self__", None)
    return f"{getattr(hear, '__qualname__', '')} {getattr(owner, 'word_cost', '')} " + \
        code_fingerprint(ViterbiHearing, lexicon_viterbi.py_func)
