"""Exact search: agreement with a brute-force sort, deterministic ties, memory-bounded chunks, clear errors."""

import numpy as np
import pytest
import torch

from mmlab.retrieval import rank_ids, scores, search


def _brute_force(queries: np.ndarray, items: np.ndarray, metric: str) -> np.ndarray:
    """Full score matrix in float64 the slow, obvious way."""
    if metric == "cosine":
        queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
        items = items / np.linalg.norm(items, axis=1, keepdims=True)
    if metric == "euclidean":
        return -np.linalg.norm(queries[:, None] - items[None], axis=2)
    return queries @ items.T


@pytest.mark.parametrize("metric", ["cosine", "dot", "euclidean"])
@pytest.mark.parametrize("max_memory_mb", [256, 0.0002])  # one chunk; chunks of 4 items, smaller than k
def test_top_k_agrees_with_a_brute_force_sort(metric, max_memory_mb):
    rng = np.random.default_rng(1)
    queries, items = rng.normal(size=(13, 8)), rng.normal(size=(301, 8))
    full = _brute_force(queries, items, metric)
    values, top = search(queries, items, k=7, metric=metric, batch_size=5, max_memory_mb=max_memory_mb)
    assert (top == np.argsort(-full, axis=1, kind="stable")[:, :7]).all()
    np.testing.assert_allclose(values, np.take_along_axis(full, top, axis=1), rtol=1e-4, atol=1e-4)
    assert values.dtype == np.float32 and top.shape == (13, 7)


@pytest.mark.parametrize("decimals", [None, 0])  # continuous scores; many ties, also between group maxima
def test_wide_blocks_search_only_the_best_groups_and_agree_with_a_sort(decimals):
    """Blocks of 5,003 items: the k best come from the groups with the highest maxima plus the 11 tail columns."""
    rng = np.random.default_rng(2)
    queries, items = rng.normal(size=(9, 8)), rng.normal(size=(5003, 8))
    if decimals is not None:
        queries, items = queries.round(decimals), items.round(decimals)
    items[-1] = queries[0] * 10  # the best item of query 0 sits in the tail after the last whole group
    full = _brute_force(queries, items, "dot")
    _, top = search(queries, items, k=10, metric="dot")
    assert (top == np.argsort(-full, axis=1, kind="stable")[:, :10]).all()
    assert top[0, 0] == 5002


@pytest.mark.parametrize("max_memory_mb", [256, 0.00003])  # ties inside one chunk, and across chunk borders
def test_ties_go_to_the_lower_item_index(max_memory_mb):
    items = np.array([[0.0, 1], [1, 0], [1, 0], [0, 1], [1, 0], [1, 0], [0.5, 0]])
    values, top = search(np.array([[1.0, 0], [0, 1]]), items, k=3, metric="dot", max_memory_mb=max_memory_mb)
    assert top.tolist() == [[1, 2, 4], [0, 3, 1]]
    assert values.tolist() == [[1, 1, 1], [1, 1, 0]]
    _, top = search(np.ones((2, 3)), np.ones((1000, 3)), k=6, max_memory_mb=max_memory_mb)
    assert top.tolist() == [[0, 1, 2, 3, 4, 5]] * 2  # plain torch.topk returns [3, 4, 1, 0, 2, 5] here


def test_k_equal_to_the_catalog_returns_every_item_once():
    rng = np.random.default_rng(2)
    _, top = search(rng.normal(size=(3, 4)), rng.normal(size=(9, 4)), k=9, max_memory_mb=0.00005)
    assert all(sorted(row) == list(range(9)) for row in top.tolist())


def test_torch_and_numpy_inputs_give_the_same_result():
    rng = np.random.default_rng(3)
    queries, items = rng.normal(size=(4, 6)).astype(np.float32), rng.normal(size=(40, 6)).astype(np.float32)
    from_numpy = search(queries, items, 5, "euclidean")
    from_torch = search(torch.from_numpy(queries), torch.from_numpy(items).requires_grad_(), 5, "euclidean")
    assert all(np.array_equal(a, b) for a, b in zip(from_numpy, from_torch))


def test_scores_euclidean_is_minus_the_distance():
    q, x = torch.tensor([[0.0, 0.0], [3.0, 4.0]]), torch.tensor([[3.0, 4.0], [0.0, 0.0]])
    assert scores(q, x, "euclidean").tolist() == [[-5.0, 0.0], [0.0, -5.0]]


def test_rank_ids_names_the_items():
    items = np.eye(3)
    assert rank_ids(np.array([[0.1, 0.9, 0.0]]), items, ["a", "b", "c"], k=2) == [["b", "a"]]
    with pytest.raises(ValueError, match="2 item_ids for 3 items"):
        rank_ids(items, items, ["a", "b"], k=1)


@pytest.mark.parametrize("kwargs, message", [
    ({"k": 0}, "between 1 and the number of items \\(50\\)"), ({"k": 51}, "ask for fewer results"),
    ({"k": 2.5}, "whole number"), ({"metric": "manhattan"}, "unknown metric 'manhattan'"),
    ({"queries": np.ones((2, 4))}, "dimension 4 but items 3"), ({"queries": np.ones(3)}, "must be 2-D"),
    ({"items": np.ones((0, 3))}, "items is empty"), ({"queries": np.ones((0, 3))}, "queries is empty"),
    ({"batch_size": 0}, "batch_size"), ({"max_memory_mb": 0}, "max_memory_mb")])
def test_bad_arguments_fail_clearly(kwargs, message):
    args = {"queries": np.ones((2, 3)), "items": np.ones((50, 3)), "k": 5} | kwargs
    with pytest.raises(ValueError, match=message):
        search(**args)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_embeddings_name_the_row(bad):
    items = np.ones((40, 3))
    items[33, 1] = bad
    with pytest.raises(ValueError, match="items row 33 contains NaN or inf"):
        search(np.ones((2, 3)), items, 3, max_memory_mb=0.0001)
    with pytest.raises(ValueError, match="queries row 1 contains NaN"):
        search(np.array([[1.0, 2, 3], [bad, 0, 0]]), np.ones((4, 3)), 1)
