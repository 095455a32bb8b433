"""Checks for the exercises of Notebook 08 (retrieval and metrics)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mmlab.exercises.common import as_number, attempt, verdict
from mmlab.metrics import ndcg_at_k
from mmlab.retrieval import search

NdcgFn = Callable[[list[str], dict[str, int], int], float]
Rescore = Callable[[np.ndarray], np.ndarray]
TwoStageFn = Callable[[np.ndarray, np.ndarray, Rescore, int, int], np.ndarray]

# (ranking, grades, k): graded labels, a relevant item beyond k, fewer relevant items than k, a short ranking
NDCG_CASES = [
    (["b", "c", "d", "a", "e", "f"], {"a": 2, "c": 1, "e": 1}, 3),
    (["x", "a", "y", "b"], {"a": 1, "b": 2, "z": 2}, 2),
    (["a", "q", "r", "s", "t"], {"a": 2}, 5),
    (["p", "a"], {"a": 1, "b": 1}, 4),
]


def _exp2_ndcg(ranked: list[str], grades: dict[str, int], k: int) -> float:
    """NDCG@k with the exponential gain 2**grade - 1 (the other common convention)."""
    exp_grades = {item: 2**g - 1 for item, g in grades.items()}
    return ndcg_at_k([ranked], [exp_grades], k)


def _retrieved_ideal_ndcg(ranked: list[str], grades: dict[str, int], k: int) -> float:
    """NDCG@k normalised by the best order of the *retrieved* top k only (a common mistake)."""
    found = {item: grades[item] for item in ranked[:k] if grades.get(item, 0) > 0}
    return ndcg_at_k([ranked], [found], k) if found else 0.0


def check_ndcg_at_k(my_ndcg: NdcgFn) -> bool:
    """08, exercise 1: ``my_ndcg(ranked, grades, k)`` is one query's NDCG@k, linear gain, log2(rank + 1) discount,
    normalised by the ideal order of *all* the query's relevant items."""
    for ranked, grades, k in NDCG_CASES:
        ok, got = attempt(my_ndcg, list(ranked), dict(grades), k)
        if not ok:
            return verdict(False, "", got)
        value = as_number(got)
        if value is None:
            return verdict(False, "", f"return one number (a float), got {type(got).__name__}")
        want = ndcg_at_k([ranked], [grades], k)
        if np.isclose(value, want, atol=1e-6):
            continue
        case = f"ranked={ranked}, grades={grades}, k={k}: expected {want:.4f}, got {value:.4f}"
        if np.isclose(value, _exp2_ndcg(ranked, grades, k), atol=1e-6):
            return verdict(False, "", f"{case}. You used the gain 2**grade - 1; this workbook uses the grade itself")
        if np.isclose(value, _retrieved_ideal_ndcg(ranked, grades, k), atol=1e-6):
            return verdict(False, "", f"{case}. Your ideal ranking uses only the retrieved items; build it from all "
                           "the query's grades, sorted, best first, cut at k")
        return verdict(False, "", f"{case}. Check the discount 1 / log2(rank + 1) with rank counted from 1, and "
                       "that DCG and ideal DCG both stop at k")
    return verdict(True, "NDCG@k matches mmlab.metrics on graded, short and cut-off cases", "")


def _reference_two_stage(queries: np.ndarray, items: np.ndarray, rescore: Rescore, n_candidates: int,
                         k: int) -> np.ndarray:
    _, candidates = search(queries, items, n_candidates)
    order = np.argsort(-rescore(candidates), axis=1, kind="stable")[:, :k]
    return np.take_along_axis(candidates, order, axis=1)


def check_two_stage(my_two_stage: TwoStageFn) -> bool:
    """08, exercise 2: ``my_two_stage(queries, items, rescore, n_candidates, k)`` retrieves each query's top
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
