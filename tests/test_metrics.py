"""Our ranking metrics: hand-computed values, and agreement with independent libraries (ranx, scikit-learn)."""

import numpy as np
import pytest
from ranx import Qrels, Run, evaluate as ranx_evaluate
from sklearn.metrics import ndcg_score

from mmlab import metrics

RANKED = [["a", "b", "c", "d"], ["x", "y", "z", "w"]]
RELEVANCE = [{"b": 2, "d": 1, "e": 1}, {"x": 1}]
TARGETS = ["b", "w"]


def test_hand_computed_values():
    assert metrics.hit_rate_at_k(RANKED, TARGETS, 1) == 0.0
    assert metrics.hit_rate_at_k(RANKED, TARGETS, 2) == 0.5
    assert metrics.recall_at_k(RANKED, RELEVANCE, 4) == pytest.approx((2 / 3 + 1) / 2)
    assert metrics.precision_at_k(RANKED, RELEVANCE, 2) == pytest.approx((1 / 2 + 1 / 2) / 2)
    assert metrics.mrr(RANKED, RELEVANCE) == pytest.approx((1 / 2 + 1) / 2)
    dcg = 2 / np.log2(3) + 1 / np.log2(5)
    ideal = 2 + 1 / np.log2(3) + 1 / np.log2(4)
    assert metrics.ndcg_at_k(RANKED, RELEVANCE, 4) == pytest.approx((dcg / ideal + 1) / 2)
    ap_first = (1 / 2 + 2 / 4) / 3
    assert metrics.average_precision_at_k(RANKED, RELEVANCE, 4) == pytest.approx((ap_first + 1) / 2)


def _random_case(seed: int, n_queries: int = 30, n_items: int = 40, k: int = 10):
    rng = np.random.default_rng(seed)
    items = [f"i{j}" for j in range(n_items)]
    ranked = [list(rng.permutation(items)) for _ in range(n_queries)]
    relevance = []
    for _ in range(n_queries):
        chosen = rng.choice(items, size=rng.integers(1, 6), replace=False)
        relevance.append({item: int(rng.integers(1, 3)) for item in chosen})
    return items, ranked, relevance, k


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_agrees_with_ranx(seed):
    _, ranked, relevance, k = _random_case(seed)
    qrels = Qrels({f"q{i}": grades for i, grades in enumerate(relevance)})
    run = Run({f"q{i}": {item: float(len(items) - r) for r, item in enumerate(items)} for i, items in enumerate(ranked)})
    theirs = ranx_evaluate(qrels, run, [f"ndcg@{k}", f"recall@{k}", f"precision@{k}", "mrr", f"map@{k}"])
    assert metrics.ndcg_at_k(ranked, relevance, k) == pytest.approx(theirs[f"ndcg@{k}"], abs=1e-9)
    assert metrics.recall_at_k(ranked, relevance, k) == pytest.approx(theirs[f"recall@{k}"], abs=1e-9)
    assert metrics.precision_at_k(ranked, relevance, k) == pytest.approx(theirs[f"precision@{k}"], abs=1e-9)
    assert metrics.mrr(ranked, relevance) == pytest.approx(theirs["mrr"], abs=1e-9)
    # ranx's map@k divides by all relevant items, ours by min(k, #relevant): equal while #relevant <= k
    assert metrics.average_precision_at_k(ranked, relevance, k) == pytest.approx(theirs[f"map@{k}"], abs=1e-9)


def test_ndcg_agrees_with_scikit_learn():
    items, ranked, relevance, k = _random_case(3)
    true = np.array([[grades.get(item, 0) for item in items] for grades in relevance])
    score = np.array([[len(items) - row.index(item) for item in items] for row in ranked])
    assert metrics.ndcg_at_k(ranked, relevance, k) == pytest.approx(ndcg_score(true, score, k=k), abs=1e-9)
    each = metrics.ndcg_per_query(ranked, relevance, k)
    assert each == pytest.approx([ndcg_score(true[i:i + 1], score[i:i + 1], k=k) for i in range(len(true))], abs=1e-9)


def test_queries_without_relevant_items_are_an_error_not_a_zero():
    with pytest.raises(ValueError, match="no relevant item"):
        metrics.ndcg_at_k([["a"]], [{}], 1)
    with pytest.raises(ValueError, match="one per query"):
        metrics.hit_rate_at_k(RANKED, ["b"], 1)
    with pytest.raises(ValueError, match="positive int"):
        metrics.ndcg_at_k(RANKED, RELEVANCE, 0)


def test_evaluate_reports_every_metric():
    row = metrics.evaluate(RANKED, RELEVANCE, TARGETS, ks=(1, 4))
    assert set(row) == {"hit@1", "recall@1", "ndcg@1", "hit@4", "recall@4", "ndcg@4", "mrr"}
