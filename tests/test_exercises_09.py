"""The check helpers of notebook 09 pass a right answer, fail wrong ones and report a stub as not done."""

import numpy as np

from mmlab.exercises.search_system import check_rrf, check_two_stage
from mmlab.retrieval import search


def stub(*args):
    raise NotImplementedError("write your code here")


def rrf(rankings, k=60, first_rank=1, use_k=True, keep_all=True):
    scores = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, first_rank):
            scores[item] = scores.get(item, 0.0) + 1 / ((k if use_k else 60) + rank)
    if not keep_all:
        scores = {item: s for item, s in scores.items() if all(item in r for r in rankings)}
    return sorted(scores.items(), key=lambda pair: -pair[1])


def test_rrf_check(capsys):
    assert check_rrf(rrf)
    assert not check_rrf(lambda r, k: rrf(r, k, first_rank=0))
    assert "count ranks from 0" in capsys.readouterr().out
    assert not check_rrf(lambda r, k: rrf(r, k, use_k=False))
    assert "use the argument k" in capsys.readouterr().out
    assert not check_rrf(lambda r, k: rrf(r, k, keep_all=False))
    assert "missing" in capsys.readouterr().out
    assert not check_rrf(lambda r, k: rrf(r, k)[::-1])
    assert "order is not" in capsys.readouterr().out
    assert not check_rrf(lambda r, k: [item for item, _ in rrf(r, k)])
    assert "(item, score) pairs" in capsys.readouterr().out
    assert not check_rrf(lambda r, k: [(item, -rank) for ranking in r for rank, item in enumerate(ranking)])
    assert "twice" in capsys.readouterr().out
    assert not check_rrf(lambda r, k: [(item, s * 2) for item, s in rrf(r, k)])
    assert "sum over the rankings" in capsys.readouterr().out
    assert not check_rrf(stub)
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
