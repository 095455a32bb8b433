"""faiss indexes: flat agrees with exact search, HNSW/IVF trade recall for effort, the sweep, clear errors."""

import numpy as np
import pytest
import torch

from mmlab.ann import build_index, default_nlist, recall_at_k, recall_latency_sweep
from mmlab.retrieval import search


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(3000, 16)).astype(np.float32), rng.normal(size=(50, 16)).astype(np.float32)


@pytest.mark.parametrize("metric", ["cosine", "dot", "euclidean"])
def test_faiss_flat_returns_the_same_neighbours_as_exact_search(data, metric):
    items, queries = data
    exact_scores, exact_rows = search(queries, items, 10, metric)
    scores, rows = build_index(torch.from_numpy(items).requires_grad_(), "flat", metric).search(queries, 10)
    assert (rows == exact_rows).all()
    np.testing.assert_allclose(scores, exact_scores, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_hnsw_and_ivf_gain_recall_with_effort(data, metric):
    items, queries = data
    _, exact = search(queries, items, 10, metric)
    hnsw = recall_latency_sweep(build_index(items, "hnsw", metric, m=8), queries, exact, efforts=[1, 128])
    assert hnsw["recall@10"].iloc[0] < 0.9 <= hnsw["recall@10"].iloc[1]
    ivf = build_index(items, "ivf", metric)
    sweep = recall_latency_sweep(ivf, queries, exact, repeats=1)
    assert sweep.effort.tolist() == [1, 2, 4, 8, 16, 32, 64, 76] and ivf.index.nlist == default_nlist(3000) == 76
    assert sweep["recall@10"].iloc[0] < 0.7 and sweep["recall@10"].iloc[-1] == 1.0  # every cell: exact again
    assert sweep["recall@10"].is_monotonic_increasing and (sweep.ms_per_query > 0).all()


def test_flat_sweep_has_one_row(data):
    items, queries = data
    sweep = recall_latency_sweep(build_index(items[:100]), queries, search(queries, items[:100], 5)[1], k=5)
    assert sweep.to_dict("records")[0] | {"ms_per_query": 0} == {
        "kind": "flat", "parameter": "-", "effort": None, "recall@5": 1.0, "ms_per_query": 0}


def test_missing_results_are_row_minus_one_and_score_minus_infinity(data):
    items, queries = data
    scores, rows = build_index(items[:200], "ivf", "dot", nlist=100).search(queries[:5], 20, effort=1)
    assert (rows == -1).any() and np.isneginf(scores[rows == -1]).all() and np.isfinite(scores[rows >= 0]).all()


def test_recall_at_k_by_hand():
    found, exact = np.array([[1, 2, 3], [4, 5, 6]]), np.array([[3, 9, 1], [7, 8, 9]])
    assert recall_at_k(found, exact, 3) == pytest.approx((2 / 3 + 0) / 2)
    assert recall_at_k(found, exact, 1) == 0.0
    with pytest.raises(ValueError, match=">= 4 columns"):
        recall_at_k(found, exact, 4)


@pytest.mark.parametrize("call, message", [
    (lambda x: build_index(x, "lsh"), "unknown index kind 'lsh'"),
    (lambda x: build_index(x, metric="l1"), "unknown metric 'l1'"),
    (lambda x: build_index(x, "ivf", nlist=20), "nlist=20 must be between 1 and the number of vectors \\(10\\)"),
    (lambda x: build_index(np.where(np.eye(10, 4) == 1, np.nan, x)), "vectors row 0 contains NaN"),
    (lambda x: build_index(x).search(x, 11), "k=11 must be a whole number between 1 and the number of items"),
    (lambda x: build_index(x).search(x[:, :3], 1), "dimension 3 but the index 4"),
    (lambda x: build_index(x).search(x, 1, effort=8), "flat index has no effort"),
    (lambda x: build_index(x, "hnsw").search(x, 1, effort=0), "efSearch\\) must be a whole number >= 1")])
def test_bad_input_fails_clearly(call, message):
    with pytest.raises(ValueError, match=message):
        call(np.random.default_rng(0).normal(size=(10, 4)).astype(np.float32))
