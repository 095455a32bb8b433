"""Checks for the exercises of notebook 08 (retrieval metrics)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mmlab.exercises.common import as_number, attempt, verdict
from mmlab.metrics import ndcg_at_k, recall_at_k

MetricFn = Callable[[list[str], dict[str, int], int], float]

# (ranking, grades, k): graded labels, a relevant item beyond k, fewer relevant items than k, a short ranking
NDCG_CASES = [
    (["b", "c", "d", "a", "e", "f"], {"a": 2, "c": 1, "e": 1}, 3),
    (["x", "a", "y", "b"], {"a": 1, "b": 2, "z": 2}, 2),
    (["a", "q", "r", "s", "t"], {"a": 2}, 5),
    (["p", "a"], {"a": 1, "b": 1}, 4),
]


def _one_query_value(metric: MetricFn, ranked: list[str], grades: dict[str, int], k: int) -> tuple[float | None, str]:
    """The learner's metric for one query, or None with the reason it is not one number."""
    ok, got = attempt(metric, list(ranked), dict(grades), k)
    if not ok:
        return None, got
    value = as_number(got)
    return (value, "") if value is not None else (None, f"return one number (a float), got {type(got).__name__}")


def _exp2_ndcg(ranked: list[str], grades: dict[str, int], k: int) -> float:
    """NDCG@k with the exponential gain 2**grade - 1 (the other common convention)."""
    exp_grades = {item: 2**g - 1 for item, g in grades.items()}
    return ndcg_at_k([ranked], [exp_grades], k)


def _retrieved_ideal_ndcg(ranked: list[str], grades: dict[str, int], k: int) -> float:
    """NDCG@k normalised by the best order of the *retrieved* top k only (a common mistake)."""
    found = {item: grades[item] for item in ranked[:k] if grades.get(item, 0) > 0}
    return ndcg_at_k([ranked], [found], k) if found else 0.0


def check_ndcg_at_k(my_ndcg: MetricFn) -> bool:
    """08, exercise 1: ``my_ndcg(ranked, grades, k)`` is one query's NDCG@k, linear gain, log2(rank + 1) discount,
    normalised by the ideal order of *all* the query's relevant items."""
    for ranked, grades, k in NDCG_CASES:
        value, problem = _one_query_value(my_ndcg, ranked, grades, k)
        if value is None:
            return verdict(False, "", problem)
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


# (ranking, grades, k): one relevant item found early, three relevant with one found, four with two found
RECALL_CASES = [
    (["a", "x", "y", "z", "w"], {"a": 2}, 5),
    (["x", "a", "y", "z"], {"a": 1, "b": 2, "c": 1}, 2),
    (["a", "x", "b", "y"], {"a": 1, "b": 1, "c": 2, "d": 1}, 3),
]


def _recall_mistake(value: float, ranked: list[str], grades: dict[str, int], k: int) -> str:
    """Name the other metric that ``value`` is."""
    found = sum(grades.get(item, 0) > 0 for item in ranked[:k])
    others = {"HitRate@k (is any relevant item in the top k?)": float(found > 0),
              "Precision@k (you divided by k)": found / k}
    for name, other in others.items():
        if np.isclose(value, other, atol=1e-6):
            return f"that is {name}; Recall@k divides the relevant items found by all the query's relevant items"
    return "count the relevant items (grade >= 1) among the first k and divide by the number of relevant items"


def check_recall_at_k(my_recall: MetricFn) -> bool:
    """08, exercise 2: ``my_recall(ranked, grades, k)`` is one query's Recall@k: relevant items (grade >= 1) in the
    top k, divided by all the query's relevant items."""
    for ranked, grades, k in RECALL_CASES:
        value, problem = _one_query_value(my_recall, ranked, grades, k)
        if value is None:
            return verdict(False, "", problem)
        want = recall_at_k([ranked], [grades], k)
        if not np.isclose(value, want, atol=1e-6):
            return verdict(False, "", f"ranked={ranked}, grades={grades}, k={k}: expected {want:.4f}, got "
                           f"{value:.4f}. {_recall_mistake(value, ranked, grades, k)}")
    return verdict(True, "Recall@k matches mmlab.metrics, and differs from hit rate and precision", "")
