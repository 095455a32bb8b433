"""Reciprocal rank fusion by hand, tie order, weights, and a hybrid of real BM25 rankings."""

import pytest

from mmlab.hybrid import hybrid_ranker, reciprocal_rank_fusion


def test_rrf_matches_the_hand_computed_scores():
    fused = dict(reciprocal_rank_fusion([["a", "b", "c"], ["b", "c", "d"]]))
    expected = {"b": 1 / 62 + 1 / 61, "c": 1 / 63 + 1 / 62, "a": 1 / 61, "d": 1 / 63}
    assert list(fused) == ["b", "c", "a", "d"]
    assert fused == pytest.approx(expected)


def test_rrf_k_and_weights_change_the_order():
    rankings = [["a", "b", "c"], ["c", "b", "a"], ["c", "b", "a"]]
    # rrf_k=0: c = 1/3 + 1 + 1, a = 1 + 1/3 + 1/3, b = 3 * 1/2; weights 3, 1, 1 and rrf_k=1 put a first
    assert [item for item, _ in reciprocal_rank_fusion(rankings, rrf_k=0)] == ["c", "a", "b"]
    weighted = reciprocal_rank_fusion(rankings, rrf_k=1, weights=[3, 1, 1])
    assert weighted[0] == ("a", pytest.approx(3 / 2 + 2 / 4))


def test_ties_go_to_the_best_single_rank_then_the_first_ranker():
    assert [item for item, _ in reciprocal_rank_fusion([["x", "y"], ["y", "x"]])] == ["x", "y"]
    assert [item for item, _ in reciprocal_rank_fusion([["p", "q", "r"], ["s"]])] == ["p", "s", "q", "r"]


@pytest.mark.parametrize("args, message", [
    (([],), "at least one ranking"), (([["a"]], 60, [1, 1]), "one non-negative weight per ranking"),
    (([["a"]], 60, [-1]), "non-negative weight"), (([["a"]], -1), "rrf_k=-1 must be >= 0"),
    (([["a", "b", "a"]],), "ranking 0 lists an item twice")])
def test_bad_rankings_fail_clearly(args, message):
    with pytest.raises(ValueError, match=message):
        reciprocal_rank_fusion(*args)


def test_hybrid_finds_what_either_ranker_finds():
    """Each ranker is right on half of the queries and lists the target last otherwise; they disagree on the
    other items (one fills from the front of the catalog, the other from the back)."""
    items, lexical_wins = [f"s{i}" for i in range(40)], {"s0", "s5"}
    first = lambda q, k, pool: [q] + [i for i in pool if i != q][:k - 1]
    last = lambda q, k, pool: [i for i in pool if i != q][:k - 1] + [q]
    lexical = lambda queries, k: [(first if q in lexical_wins else last)(q, k, items) for q in queries]
    dense = lambda queries, k: [(last if q in lexical_wins else first)(q, k, items[::-1]) for q in queries]
    queries = ["s0", "s5", "s12", "s19"]
    top3 = hybrid_ranker([lexical, dense], depth=10)(queries, 3)
    assert all(q in ranked for q, ranked in zip(queries, top3))
    assert [q in ranked[:3] for q, ranked in zip(queries, lexical(queries, 10))] == [True, True, False, False]
    with pytest.raises(ValueError, match="at least one ranker"):
        hybrid_ranker([])
    with pytest.raises(ValueError, match="one non-negative weight per ranking"):
        hybrid_ranker([lexical, dense], weights=[1])


def test_hybrid_of_bm25_with_itself_is_bm25():
    from mmlab.data.catalog import load_catalog
    from mmlab.encoders.text import BM25Index

    catalog = load_catalog(fast=True, seed=0)
    bm25 = BM25Index(catalog)
    texts = list(catalog.queries.query("modality == 'text'").text[:20])
    assert hybrid_ranker([bm25.rank, bm25.rank], depth=30)(texts, 10) == bm25.rank(texts, 10)
