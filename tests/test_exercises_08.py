"""The check helpers of notebook 08 pass a right answer, fail wrong ones and report a stub as not done."""

import numpy as np

from mmlab.exercises.retrieval import check_ndcg_at_k, check_recall_at_k


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


def recall(ranked, grades, k):
    return sum(grades.get(item, 0) > 0 for item in ranked[:k]) / len(grades)


def test_recall_check(capsys):
    assert check_recall_at_k(recall)
    assert not check_recall_at_k(lambda r, g, k: float(any(g.get(item, 0) > 0 for item in r[:k])))
    assert "HitRate@k" in capsys.readouterr().out
    assert not check_recall_at_k(lambda r, g, k: sum(g.get(item, 0) > 0 for item in r[:k]) / k)
    assert "Precision@k" in capsys.readouterr().out
    assert not check_recall_at_k(lambda r, g, k: sum(g.get(item, 0) >= 2 for item in r[:k]) / len(g))
    assert "divide by the number" in capsys.readouterr().out
    assert not check_recall_at_k(lambda r, g, k: [recall(r, g, k)])
    assert "one number" in capsys.readouterr().out
    assert not check_recall_at_k(stub)
    assert "not done yet" in capsys.readouterr().out
