"""Checks for the exercises of notebook 09 (the search system: hybrid retrieval, re-ranking, approximate search)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

import numpy as np

from mmlab.exercises.common import attempt, verdict
from mmlab.hybrid import reciprocal_rank_fusion
from mmlab.retrieval import search

Fused = list[tuple[Hashable, float]]
RrfFn = Callable[[list[list[str]], float], Fused]
Rescore = Callable[[np.ndarray], np.ndarray]
TwoStageFn = Callable[[np.ndarray, np.ndarray, Rescore, int, int], np.ndarray]

# (rankings, k): items listed by one ranker only, lists of different lengths, a small k that changes the order
RRF_CASES = [
    ([["a", "b", "c", "d"], ["c", "a", "e"]], 60),
    ([["x", "y", "z"], ["w", "y"], ["y", "v", "x"]], 60),
    ([["a", "b", "c", "d", "e"], ["e", "d"]], 1),
]


def _rrf_scores(rankings: Sequence[Sequence[str]], k: float, first_rank: int) -> dict[str, float]:
    """RRF scores with ranks counted from ``first_rank`` (1 is right; 0 is the usual slip)."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=first_rank):
            scores[item] = scores.get(item, 0.0) + 1 / (k + rank)
    return scores


def _as_pairs(got: object) -> Fused | None:
    """``got`` as a list of (item, score) pairs, or None if it is not one."""
    try:
        pairs = [(item, float(score)) for item, score in got]  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return None
    return pairs


def _rrf_mistake(got: dict[str, float], rankings: list[list[str]], k: float) -> str:
    """Name the slip that produced the scores ``got``."""
    missing = set(_rrf_scores(rankings, k, 1)) - set(got)
    if missing:
        return (f"{sorted(missing)} are missing: an item listed by only some rankers still gets their terms (a "
                "ranker that does not list it adds nothing)")
    if all(np.isclose(got[item], score) for item, score in _rrf_scores(rankings, k, 0).items()):
        return "your scores count ranks from 0: the first item of a ranking has rank 1, so its term is 1 / (k + 1)"
    if k != 60 and all(np.isclose(got[item], score) for item, score in _rrf_scores(rankings, 60, 1).items()):
        return f"this case passes k={k}: use the argument k, not 60"
    return "each item's score is the sum over the rankings that list it of 1 / (k + rank), rank counted from 1"


def check_rrf(my_rrf: RrfFn) -> bool:
    """09, exercise 1: ``my_rrf(rankings, k)`` fuses one query's rankings (item ids, best first) into (item, score)
    pairs, best first, the score being the sum of 1 / (k + rank) over the rankings that list the item."""
    for rankings, k in RRF_CASES:
        ok, got = attempt(my_rrf, [list(r) for r in rankings], k)
        if not ok:
            return verdict(False, "", got)
        pairs = _as_pairs(got)
        if pairs is None:
            return verdict(False, "", f"return a list of (item, score) pairs, best first; got {type(got).__name__}")
        want = reciprocal_rank_fusion(rankings, rrf_k=k)
        case = f"rankings={rankings}, k={k}"
        scores = dict(pairs)
        if len(scores) != len(pairs):
            return verdict(False, "", f"{case}: an item appears twice in your result; add up its terms into one score")
        if scores.keys() != dict(want).keys() or not all(np.isclose(scores[item], s) for item, s in want):
            return verdict(False, "", f"{case}: {_rrf_mistake(scores, rankings, k)}")
        if [item for item, _ in pairs] != [item for item, _ in want]:
            return verdict(False, "", f"{case}: the scores are right but the order is not; sort by score, highest "
                           f"first (expected {[item for item, _ in want]})")
    return verdict(True, "reciprocal rank fusion matches mmlab.hybrid on every case", "")


def _reference_two_stage(queries: np.ndarray, items: np.ndarray, rescore: Rescore, n_candidates: int,
                         k: int) -> np.ndarray:
    _, candidates = search(queries, items, n_candidates)
    order = np.argsort(-rescore(candidates), axis=1, kind="stable")[:, :k]
    return np.take_along_axis(candidates, order, axis=1)


def check_two_stage(my_two_stage: TwoStageFn) -> bool:
    """09, exercise 2: ``my_two_stage(queries, items, rescore, n_candidates, k)`` retrieves each query's top
    ``n_candidates`` item rows by cosine, re-orders them by ``rescore(candidates)`` (higher first) and returns
    the best ``k`` rows per query, an (n_queries, k) integer array."""
    rng = np.random.default_rng(0)
    queries, items = rng.normal(size=(6, 8)), rng.normal(size=(40, 8))
    bonus = rng.normal(size=40)  # the "expensive" second-stage scorer: a per-item bonus, reverses many orders
    rescore = lambda candidates: bonus[candidates] * 10
    n_candidates, k = 8, 3
    ok, got = attempt(my_two_stage, queries.copy(), items.copy(), rescore, n_candidates, k)
    if not ok:
        return verdict(False, "", got)
    got = np.asarray(got)
    if got.shape != (len(queries), k):
        return verdict(False, "", f"expected an array of shape {(len(queries), k)} (item rows per query), got "
                       f"{got.shape}")
    want = _reference_two_stage(queries, items, rescore, n_candidates, k)
    if np.array_equal(got, want):
        return verdict(True, "retrieve by cosine, re-score the candidates, keep the best k", "")
    _, first = search(queries, items, n_candidates)
    if np.array_equal(got, first[:, :k]):
        return verdict(False, "", "that is the first stage's top k: sort the candidates by rescore(candidates), "
                       "highest first (np.argsort(-scores, axis=1))")
    if any(not set(row) <= set(pool) for row, pool in zip(got, first)):
        return verdict(False, "", f"some rows are not among the first stage's top {n_candidates}: the second "
                       "stage may only re-order the candidates, never fetch new items")
    return verdict(False, "", "the candidates are right but the order is not: use np.take_along_axis(candidates, "
                   "order, axis=1) with order = np.argsort(-rescore(candidates), axis=1)[:, :k]")
