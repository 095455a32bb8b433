"""Ranking metrics for retrieval, defined once for the whole workbook.

Inputs are the same everywhere:
    ranked     list (one per query) of ranked item ids, best first (at least k of them, or all items)
    relevance  list (one per query) of {item_id: grade}; grade 2 = exact match, 1 = partial, missing = 0
    targets    list (one per query) of the single exact item the shopper wanted

Conventions (libraries differ on these, so they are stated here; notebook 08 shows each with numbers):
- HitRate@K: 1 if the *target* is in the top K, averaged over queries ("did we find the thing?"). ranx's
  ``hit_rate@k`` counts *any* relevant item instead, which is our "Recall@K > 0".
- Recall@K: relevant items found in the top K / all relevant items of the query (grade >= ``min_grade``).
- Precision@K: relevant items in the top K / K.
- NDCG@K: linear gain (gain = grade), discount 1/log2(rank + 1), normalised by the ideal ranking of *all* the
  query's relevant items (as trec_eval, ranx "ndcg" and scikit-learn ``ndcg_score`` do). ranx "ndcg_burges" and
  many papers use the exponential gain 2**grade - 1 instead, which weighs grade 2 three times grade 1, not twice.
- MRR: 1 / rank of the first relevant item (grade >= ``min_grade``, not only the target), 0 if none is ranked.
- AP@K: mean of Precision@i over the ranks i <= K holding a relevant item, divided by min(K, #relevant); ranx's
  ``map@k`` divides by all relevant items, so it is lower whenever a query has more than K relevant items.
- A query with no relevant item has undefined recall, NDCG and AP: it is an error, not a silent zero
  (scikit-learn scores such a query 0 and lowers the mean).
- Ties: the ranking you pass is the ranking scored; break ties before (``retrieval.search`` is stable).
  scikit-learn's ``ndcg_score`` averages the gains of items with tied scores instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _check(ranked: Sequence[Sequence[str]], per_query: Sequence, k: int, what: str) -> None:
    if len(ranked) != len(per_query):
        raise ValueError(f"{len(ranked)} rankings but {len(per_query)} {what}; pass one per query, in order")
    if len(ranked) == 0:
        raise ValueError("no queries to evaluate; pass at least one ranking")
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}; pass k >= 1, e.g. k=10")


def gains(ranked: Sequence[Sequence[str]], relevance: Sequence[dict[str, int]], k: int) -> np.ndarray:
    """The (n_queries, k) matrix of grades at each rank (0 where the item is not relevant or missing)."""
    _check(ranked, relevance, k, "relevance dicts")
    out = np.zeros((len(ranked), k))
    for i, (items, grades) in enumerate(zip(ranked, relevance)):
        if not grades or max(grades.values()) <= 0:
            raise ValueError(f"query {i} has no relevant item; metrics are undefined for it: drop it first")
        negative = next((item for item, grade in grades.items() if grade < 0), None)
        if negative is not None:
            raise ValueError(f"query {i} gives item {negative!r} grade {grades[negative]}; grades are 0 (not "
                             "relevant), 1 (partial) or 2 (exact match): leave irrelevant items out")
        out[i, : min(k, len(items))] = [grades.get(item, 0) for item in items[:k]]
    return out


def hit_rate_at_k(ranked: Sequence[Sequence[str]], targets: Sequence[str], k: int) -> float:
    """Share of queries whose target item is in the top k."""
    _check(ranked, targets, k, "targets")
    return float(np.mean([target in list(items[:k]) for items, target in zip(ranked, targets)]))


def _n_relevant(relevance: Sequence[dict[str, int]], min_grade: int) -> np.ndarray:
    return np.array([sum(g >= min_grade for g in grades.values()) for grades in relevance], dtype=float)


def recall_at_k(ranked, relevance, k: int, min_grade: int = 1) -> float:
    """Mean over queries of (relevant items in the top k) / (all relevant items)."""
    found = (gains(ranked, relevance, k) >= min_grade).sum(axis=1)
    total = _n_relevant(relevance, min_grade)
    if (total == 0).any():
        raise ValueError(f"a query has no item with grade >= {min_grade}; drop it or lower min_grade")
    return float(np.mean(found / total))


def precision_at_k(ranked, relevance, k: int, min_grade: int = 1) -> float:
    """Mean over queries of (relevant items in the top k) / k."""
    return float(np.mean((gains(ranked, relevance, k) >= min_grade).sum(axis=1) / k))


def ndcg_per_query(ranked, relevance, k: int) -> np.ndarray:
    """NDCG@k of each query (linear gains, log2 discount): for bootstrap intervals and per-group tables."""
    discount = 1 / np.log2(np.arange(2, k + 2))
    dcg = gains(ranked, relevance, k) @ discount
    ideal = np.zeros((len(relevance), k))
    for i, grades in enumerate(relevance):
        best = sorted(grades.values(), reverse=True)[:k]
        ideal[i, : len(best)] = best
    return dcg / (ideal @ discount)


def ndcg_at_k(ranked, relevance, k: int) -> float:
    """Mean NDCG@k with linear gains and the log2 discount."""
    return float(np.mean(ndcg_per_query(ranked, relevance, k)))


def mrr(ranked, relevance, min_grade: int = 1, k: int | None = None) -> float:
    """Mean reciprocal rank of the first item with grade >= min_grade (within the top k if given)."""
    k = k or max(len(items) for items in ranked)
    hits = gains(ranked, relevance, k) >= min_grade
    first = np.where(hits.any(axis=1), hits.argmax(axis=1) + 1, np.inf)
    return float(np.mean(1 / first))


def average_precision_at_k(ranked, relevance, k: int, min_grade: int = 1) -> float:
    """Mean AP@k: precision at each relevant rank, divided by min(k, number of relevant items)."""
    hits = gains(ranked, relevance, k) >= min_grade
    precision = np.cumsum(hits, axis=1) / np.arange(1, k + 1)
    denominator = np.minimum(_n_relevant(relevance, min_grade), k)
    return float(np.mean((precision * hits).sum(axis=1) / denominator))


def evaluate(ranked, relevance, targets, ks: Sequence[int] = (1, 10)) -> dict[str, float]:
    """The workbook's standard table row: HitRate@k, Recall@k and NDCG@k for each k, plus MRR."""
    row = {}
    for k in ks:
        row[f"hit@{k}"] = hit_rate_at_k(ranked, targets, k)
        row[f"recall@{k}"] = recall_at_k(ranked, relevance, k)
        row[f"ndcg@{k}"] = ndcg_at_k(ranked, relevance, k)
    row["mrr"] = mrr(ranked, relevance)
    return row


def bootstrap_ci(scores: Sequence[float], baseline: Sequence[float] | None = None, n_resamples: int = 2000,
                 confidence: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """Mean of per-query ``scores`` with a percentile bootstrap interval over queries: ``(mean, low, high)``.

    With ``baseline`` (the same queries scored by another system, in the same order) it is the paired bootstrap of
    the difference ``scores - baseline``: each resample draws queries, not systems, so the noise of hard and easy
    queries cancels between the two systems. An interval that excludes 0 says the difference is not query luck.
    """
    values = np.asarray(scores, dtype=float)
    if values.ndim != 1 or len(values) < 2:
        raise ValueError(f"scores must be a 1-D sequence of at least 2 per-query values, got shape {values.shape}")
    if baseline is not None:
        other = np.asarray(baseline, dtype=float)
        if other.shape != values.shape:
            raise ValueError(f"baseline has shape {other.shape} but scores {values.shape}; pass one value per query, "
                             "for the same queries in the same order")
        values = values - other
    if not np.isfinite(values).all():
        raise ValueError("scores contain NaN or inf; drop the queries whose metric is undefined first")
    if not 0 < confidence < 1 or n_resamples < 1:
        raise ValueError(f"need 0 < confidence < 1 and n_resamples >= 1, got {confidence} and {n_resamples}; "
                         "e.g. confidence=0.95 (not 95) and n_resamples=2000")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(n_resamples, len(values)))].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(values.mean()), float(low), float(high)
