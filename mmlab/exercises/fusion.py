"""Checks for the exercises of notebook 06 (fusion)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from mmlab.exercises.common import as_number, attempt, same_tensor, verdict
from mmlab.metrics import bootstrap_ci


def check_modality_weights(weights: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> bool:
    """06, exercise 1: ``weights(logits (M,), mask (B, M) bool)`` is the per-SKU softmax over present modalities."""
    logits = torch.tensor([0.5, 1.5, -1.0, 0.0])
    mask = torch.tensor([[True, True, True, True], [True, False, True, False], [False, False, False, True]])
    want = torch.zeros(3, 4)
    for i, row in enumerate(mask):
        want[i, row] = torch.softmax(logits[row], dim=0)
    ok, got = attempt(weights, logits.clone(), mask.clone())
    if not ok:
        return verdict(False, "", got)
    if same_tensor(got, torch.softmax(logits, dim=0).expand(3, 4)):
        return verdict(False, "", "that is the softmax over every modality: a missing modality still takes a share. "
                       "Set the masked logits to -inf before the softmax")
    if same_tensor(got, torch.softmax(logits, dim=0) * mask):
        return verdict(False, "", "the masked weights are zero, but the rows no longer sum to one: mask the logits "
                       "(-inf) before the softmax instead of zeroing the weights after it")
    if not same_tensor(got, want):
        return verdict(False, "", "expected shape (3, 4), zero where masked, each row a softmax over its present "
                       "modalities. Hint: logits.expand(mask.shape).masked_fill(~mask, float('-inf')).softmax(dim=1)")
    return verdict(True, "each SKU shares its weight among the modalities it has", "")


def check_paired_bootstrap(paired: Callable[[np.ndarray, np.ndarray, int, int], tuple]) -> bool:
    """06, exercise 2: ``paired(a, b, n_resamples, seed)`` → (mean difference, low, high), a 95 % paired bootstrap."""
    rng = np.random.default_rng(0)
    difficulty = rng.uniform(size=400)
    a, b = difficulty + 0.02 + rng.normal(0, 0.02, 400), difficulty + rng.normal(0, 0.02, 400)
    ok, got = attempt(paired, a.copy(), b.copy(), 2000, 0)
    if not ok:
        return verdict(False, "", got)
    values = [as_number(x) for x in got] if isinstance(got, (tuple, list)) and len(got) == 3 else None
    if values is None or None in values:
        return verdict(False, "", f"return a tuple (mean difference, low, high) of three numbers, got {got!r}")
    mean, low, high = values
    want_mean, want_low, want_high = bootstrap_ci(a, baseline=b)
    if abs(mean - want_mean) > 1e-9:
        return verdict(False, "", f"the mean difference should be {want_mean:.4f} (mean of a - b), got {mean:.4f}")
    width, want_width = high - low, want_high - want_low
    if width > 3 * want_width:
        return verdict(False, "", f"your interval is {width / want_width:.0f}x too wide: resample the same query "
                       "indices for a and b (one draw of indices, used for both), not a and b independently")
    if not (low < mean < high) or abs(width - want_width) > 0.3 * want_width:
        return verdict(False, "", f"expected an interval about ({want_low:.4f}, {want_high:.4f}), got ({low:.4f}, "
                       f"{high:.4f}). Hint: np.percentile of the resampled means at 2.5 and 97.5")
    return verdict(True, f"difference {mean:.4f}, 95 % interval ({low:.4f}, {high:.4f}): paired and tight", "")


def check_gated_forward(forward: Callable[[torch.nn.Module, torch.Tensor, torch.Tensor], torch.Tensor],
                        gated_class: type[torch.nn.Module]) -> bool:
    """06, exercise 3: ``forward(tirg, image_emb, text_emb)`` is TIRG's composed query, as ``gated_class`` computes
    it: normalize(w_g · σ(f_gate([x, t])) ⊙ x + w_r · f_res([x, t])) with x, t the projected photo and text."""
    generator = torch.Generator().manual_seed(0)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        tirg = gated_class(6, 5, dim=4)
    with torch.no_grad():
        tirg.gate_weight.fill_(0.7)
        tirg.residual_weight.fill_(1.6)
    image, text = torch.randn(3, 6, generator=generator), torch.randn(3, 5, generator=generator)
    with torch.no_grad():
        want = tirg(image, text)
        x, t = tirg.image_proj(image), tirg.text_proj(text)
        both = torch.cat([x, t], dim=1)
        gate, edit = torch.sigmoid(tirg.gate(both)), tirg.residual(both)
        mistakes = {
            "the output is not unit length: finish with F.normalize(..., dim=1)":
                tirg.gate_weight * gate * x + tirg.residual_weight * edit,
            "the gate must pass through a sigmoid (a share between 0 and 1 of each photo feature)":
                F.normalize(tirg.gate_weight * tirg.gate(both) * x + tirg.residual_weight * edit),
            "the gate scales the photo x (keep the photo, edit it by the text), not the text t":
                F.normalize(tirg.gate_weight * gate * t + tirg.residual_weight * edit),
            "use the learned scalars: tirg.gate_weight times the gated photo, tirg.residual_weight times the edit":
                F.normalize(gate * x + edit),
        }
    ok, got = attempt(forward, tirg, image.clone(), text.clone())
    if not ok:
        return verdict(False, "", got)
    for hint, wrong in mistakes.items():
        if same_tensor(got, wrong):
            return verdict(False, "", hint)
    if not same_tensor(got, want):
        return verdict(False, "", "expected the (3, 4) composed vectors of the notebook's GatedFusion. Hint: x, t = "
                       "tirg.image_proj(image_emb), tirg.text_proj(text_emb); both = torch.cat([x, t], dim=1); the "
                       "gate is torch.sigmoid(tirg.gate(both)), the edit tirg.residual(both)")
    return verdict(True, "your composition matches GatedFusion: the photo kept feature by feature, plus the text's "
                   "edit", "")
