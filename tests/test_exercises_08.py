"""The check helpers of notebook 08 pass a right answer, fail wrong ones and report a stub as not done."""

import numpy as np

from mmlab.exercises.retrieval import check_ndcg_at_k, check_two_stage
from mmlab.retrieval import search


def stub(*args):
    raise NotImplementedError("write your code here")


def ndcg(ranked, grades, k, gain=lambda g: g, ideal_from_all=True, offset=1):
    dcg = sum(gain(grades.get(item, 0)) / np.log2(rank + offset) for rank, item in enumerate(ranked[:k], 1))
    pool = grades.values() if ideal_from_all else [grades.get(item, 0) for item in ranked[:k]]
    best = sorted(pool, reverse=True)[:k]
    ideal = sum(gain(g) / np.log2(rank + offset) for rank, g in enumerate(best, 1))
    return dcg / ideal if ideal else 0.0


def test_ndcg_check(capsys):
    assert check_ndcg_at_k(ndcg)
    assert not check_ndcg_at_k(lambda r, g, k: ndcg(r, g, k, gain=lambda x: 2**x - 1))
    assert "2**grade - 1" in capsys.readouterr().out
    assert not check_ndcg_at_k(lambda r, g, k: ndcg(r, g, k, ideal_from_all=False))
    assert "retrieved items" in capsys.readouterr().out
    assert not check_ndcg_at_k(lambda r, g, k: ndcg(r, g, k, offset=2))
    assert "discount" in capsys.readouterr().out
    assert not check_ndcg_at_k(lambda r, g, k: [ndcg(r, g, k)])
    assert "one number" in capsys.readouterr().out
    assert not check_ndcg_at_k(stub)
    assert "not done yet" in capsys.readouterr().out


def two_stage(queries, items, rescore, n_candidates, k):
    _, candidates = search(queries, items, n_candidates)
    order = np.argsort(-rescore(candidates), axis=1, kind="stable")[:, :k]
    return np.take_along_axis(candidates, order, axis=1)


def test_two_stage_check(capsys):
    assert check_two_stage(two_stage)
    assert not check_two_stage(lambda q, x, rescore, n, k: search(q, x, n)[1][:, :k])
    assert "first stage's top k" in capsys.readouterr().out
    whole_catalog = lambda q, x, rescore, n, k: np.argsort(-rescore(np.tile(np.arange(len(x)), (len(q), 1))),
                                                           axis=1)[:, :k]
    assert not check_two_stage(whole_catalog)
    assert "never fetch new items" in capsys.readouterr().out
    assert not check_two_stage(lambda q, x, rescore, n, k: two_stage(q, x, rescore, n, k)[:, ::-1])
    assert "order is not" in capsys.readouterr().out
    assert not check_two_stage(lambda q, x, rescore, n, k: two_stage(q, x, rescore, n, k + 1))
    assert "shape" in capsys.readouterr().out
    assert not check_two_stage(stub)
    assert "not done yet" in capsys.readouterr().out
