"""The check helpers of notebook 07 pass a right answer, fail wrong ones and report a stub as not done."""

import torch
import torch.nn.functional as F

from mmlab.exercises.losses import check_hardest_negative, check_symmetric_info_nce


def stub(*args):
    raise NotImplementedError("write your code here")


def right_info_nce(sim, positives, t):
    soft = positives.float()
    return (F.cross_entropy(sim / t, soft / soft.sum(1, keepdim=True))
            + F.cross_entropy(sim.T / t, soft.T / soft.T.sum(1, keepdim=True))) / 2


def test_symmetric_info_nce_check(capsys):
    assert check_symmetric_info_nce(right_info_nce)
    one_way = lambda sim, p, t: F.cross_entropy(sim / t, p.float() / p.float().sum(1, keepdim=True))
    assert not check_symmetric_info_nce(one_way)
    assert "items → queries" in capsys.readouterr().out
    plain = lambda sim, p, t: (F.cross_entropy(sim / t, torch.arange(5)) + F.cross_entropy(sim.T / t,
                                                                                            torch.arange(5))) / 2
    assert not check_symmetric_info_nce(plain)
    assert "soft" in capsys.readouterr().out
    assert not check_symmetric_info_nce(lambda sim, p, t: right_info_nce(sim, p, 1.0))
    assert not check_symmetric_info_nce(lambda sim, p, t: "loss")
    assert not check_symmetric_info_nce(stub)
    assert "not done yet" in capsys.readouterr().out


def test_hardest_negative_check(capsys):
    assert check_hardest_negative(lambda sim, p: sim.masked_fill(p, float("-inf")).argmax(dim=1))
    assert not check_hardest_negative(lambda sim, p: sim.argmax(dim=1))
    assert "positive itself" in capsys.readouterr().out
    eye = lambda sim, p: sim.masked_fill(torch.eye(len(sim), dtype=torch.bool), float("-inf")).argmax(dim=1)
    assert not check_hardest_negative(eye)
    assert "relevant to query 1" in capsys.readouterr().out
    assert not check_hardest_negative(lambda sim, p: sim.masked_fill(p, float("-inf")).argmin(dim=1))
    assert not check_hardest_negative(stub)
    assert "not done yet" in capsys.readouterr().out
