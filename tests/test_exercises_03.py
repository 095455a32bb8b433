"""The check helpers of notebook 03 pass a right answer, fail wrong ones and report a stub as not done."""

import torch
import torch.nn.functional as F

from mmlab.pooling import masked_mean
from mmlab.exercises.text import check_in_batch_info_nce, check_masked_mean


def stub(*args):
    raise NotImplementedError("write your code here")


def test_masked_mean_check(capsys):
    assert check_masked_mean(masked_mean)
    assert not check_masked_mean(lambda states, mask: states.mean(dim=1))
    assert "plain mean" in capsys.readouterr().out
    assert not check_masked_mean(lambda states, mask: (states * mask.unsqueeze(-1)).sum(dim=1) / mask.shape[1])
    assert not check_masked_mean(lambda states, mask: states[:, 0])
    assert not check_masked_mean(stub)
    assert "not done yet" in capsys.readouterr().out


def test_in_batch_info_nce_check(capsys):
    right = lambda sims, t: F.cross_entropy(sims / t, torch.arange(len(sims)))
    assert check_in_batch_info_nce(right)
    assert not check_in_batch_info_nce(lambda sims, t: F.cross_entropy(sims, torch.arange(len(sims))))
    assert "temperature is missing" in capsys.readouterr().out
    assert not check_in_batch_info_nce(lambda sims, t: F.cross_entropy(sims.T / t, torch.arange(len(sims))))
    assert not check_in_batch_info_nce(lambda sims, t: F.cross_entropy(sims / t, torch.arange(len(sims)),
                                                                         reduction="sum"))
    assert not check_in_batch_info_nce(lambda sims, t: (sims / t).diagonal().mean())
    assert not check_in_batch_info_nce(stub)
    assert "not done yet" in capsys.readouterr().out
