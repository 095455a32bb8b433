"""The check helpers of notebook 06 pass a right answer, fail wrong ones and report a stub as not done."""

import numpy as np
import torch

import torch.nn.functional as F

from mmlab.exercises.fusion import check_gated_forward, check_modality_weights, check_paired_bootstrap
from mmlab.models.fusion import GatedFusion, WeightedSumFusion


def stub(*args):
    raise NotImplementedError("write your code here")


def test_modality_weights_check(capsys):
    def right(logits, mask):
        fuser = WeightedSumFusion({m: 2 for m in "abcd"}, dim=2)
        fuser.logits.data.copy_(logits)
        return fuser.weights(mask)

    assert check_modality_weights(right)
    assert not check_modality_weights(lambda logits, mask: torch.softmax(logits, 0).expand(mask.shape))
    assert "missing modality still takes a share" in capsys.readouterr().out
    assert not check_modality_weights(lambda logits, mask: torch.softmax(logits, 0) * mask)
    assert "no longer sum to one" in capsys.readouterr().out
    assert not check_modality_weights(lambda logits, mask: mask.float())
    assert not check_modality_weights(stub)
    assert "not done yet" in capsys.readouterr().out


def paired(a, b, n, seed):
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(a), size=(n, len(a)))
    means = (a - b)[rows].mean(axis=1)
    return float(np.mean(a - b)), *np.percentile(means, [2.5, 97.5])


def unpaired(a, b, n, seed):
    rng = np.random.default_rng(seed)
    means = a[rng.integers(0, len(a), (n, len(a)))].mean(1) - b[rng.integers(0, len(b), (n, len(b)))].mean(1)
    return float(np.mean(a - b)), *np.percentile(means, [2.5, 97.5])


def test_paired_bootstrap_check(capsys):
    assert check_paired_bootstrap(paired)
    assert not check_paired_bootstrap(unpaired)
    assert "too wide" in capsys.readouterr().out
    assert not check_paired_bootstrap(lambda a, b, n, seed: (float(np.mean(a - b)), 0.0, 1.0))
    assert not check_paired_bootstrap(lambda a, b, n, seed: (float(np.mean(a)), 0.0, 1.0))
    assert not check_paired_bootstrap(lambda a, b, n, seed: "0.02")
    assert not check_paired_bootstrap(stub)
    assert "not done yet" in capsys.readouterr().out


def gated(tirg, image, text, sigmoid=True, normalize=True, gated_input="x", weights=True):
    """TIRG's forward pass, right by default; each flag turns on one mistake a learner makes."""
    x, t = tirg.image_proj(image), tirg.text_proj(text)
    both = torch.cat([x, t], dim=1)
    gate = torch.sigmoid(tirg.gate(both)) if sigmoid else tirg.gate(both)
    w_g, w_r = (tirg.gate_weight, tirg.residual_weight) if weights else (1.0, 1.0)
    composed = w_g * gate * (x if gated_input == "x" else t) + w_r * tirg.residual(both)
    return F.normalize(composed, dim=1) if normalize else composed


def test_gated_forward_check(capsys):
    assert check_gated_forward(gated, GatedFusion)
    assert check_gated_forward(lambda tirg, image, text: tirg(image, text), GatedFusion)
    for mistake, message in [({"normalize": False}, "not unit length"), ({"sigmoid": False}, "through a sigmoid"),
                             ({"gated_input": "t"}, "not the text t"), ({"weights": False}, "learned scalars")]:
        assert not check_gated_forward(lambda tirg, image, text: gated(tirg, image, text, **mistake), GatedFusion)
        assert message in capsys.readouterr().out
    assert not check_gated_forward(lambda tirg, image, text: F.normalize(tirg.image_proj(image), dim=1), GatedFusion)
    assert "expected the (3, 4) composed vectors" in capsys.readouterr().out
    assert not check_gated_forward(lambda tirg, image, text: torch.cat([image, text], 1) @ torch.ones(11, 4),
                                   GatedFusion)
    assert not check_gated_forward(stub, GatedFusion)
    assert "not done yet" in capsys.readouterr().out
