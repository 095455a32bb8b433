"""The check helpers of notebook 10 pass a right answer, fail wrong ones and report a stub as not done."""

import numpy as np

from mmlab.exercises.space import check_close_gap, check_modality_gap


def stub(*args):
    raise NotImplementedError("write your code here")


def unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_modality_gap_check(capsys):
    assert check_modality_gap(lambda a, b: float(np.linalg.norm(unit(a).mean(0) - unit(b).mean(0))))
    assert not check_modality_gap(lambda a, b: float(np.linalg.norm(a.mean(0) - b.mean(0))))
    assert "normalise every row" in capsys.readouterr().out
    assert not check_modality_gap(lambda a, b: float(np.linalg.norm(a[:, None] - b[None], axis=2).mean()))
    assert "mean pairwise distance" in capsys.readouterr().out
    assert not check_modality_gap(lambda a, b: float(unit(a).mean(0) @ unit(b).mean(0)))
    assert "expected" in capsys.readouterr().out
    assert not check_modality_gap(lambda a, b: "0.5")
    assert not check_modality_gap(stub)
    assert "not done yet" in capsys.readouterr().out


def test_close_gap_check(capsys):
    assert check_close_gap(lambda a, b: (unit(unit(a) - unit(a).mean(0)), unit(unit(b) - unit(b).mean(0))))
    assert not check_close_gap(lambda a, b: (unit(a) - unit(a).mean(0), unit(b) - unit(b).mean(0)))
    assert "renormalise" in capsys.readouterr().out

    def shared(a, b):
        centre = np.concatenate([unit(a), unit(b)]).mean(0)
        return unit(unit(a) - centre), unit(unit(b) - centre)

    assert not check_close_gap(shared)
    assert "OWN centroid" in capsys.readouterr().out
    assert not check_close_gap(lambda a, b: (unit(a - a.mean(0)), unit(b - b.mean(0))))
    assert "normalise the rows first" in capsys.readouterr().out
    assert not check_close_gap(lambda a, b: unit(a))
    assert not check_close_gap(lambda a, b: (unit(a)[:5], unit(b)))
    assert "keep the shapes" in capsys.readouterr().out
    assert not check_close_gap(stub)
    assert "not done yet" in capsys.readouterr().out
