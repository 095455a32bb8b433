"""Checks for the exercises of notebook 07 (alignment losses)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from mmlab.exercises.common import as_number, attempt, same_tensor, verdict
from mmlab.models.losses import info_nce as towers_info_nce


def _pairs(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Unit query and item vectors (5, 8) and a positives matrix where items 1 and 3 are both relevant to query 1."""
    generator = torch.Generator().manual_seed(seed)
    queries = F.normalize(torch.randn(5, 8, generator=generator), dim=1)
    items = F.normalize(torch.randn(5, 8, generator=generator), dim=1)
    positives = torch.eye(5, dtype=torch.bool)
    positives[1, 3] = positives[3, 1] = True
    return queries, items, positives


def check_symmetric_info_nce(info_nce: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]) -> bool:
    """07, exercise 1: ``info_nce(sim, positives, temperature)``, the towers' symmetric multi-positive InfoNCE."""
    queries, items, positives = _pairs()
    sim = queries @ items.T
    for temperature in (0.1, 0.5):
        want = towers_info_nce(sim / temperature, positives)
        ok, got = attempt(info_nce, sim.clone(), positives.clone(), temperature)
        if not ok:
            return verdict(False, "", got)
        value = as_number(got.detach() if isinstance(got, torch.Tensor) else got)
        if value is None:
            return verdict(False, "", f"return one number (a 0-d tensor), got {type(got).__name__}")
        one_way = F.cross_entropy(sim / temperature, positives.float() / positives.float().sum(1, keepdim=True))
        plain = (F.cross_entropy(sim / temperature, torch.arange(5)) + F.cross_entropy(sim.T / temperature,
                                                                                        torch.arange(5))) / 2
        if abs(value - one_way.item()) < 1e-5:
            return verdict(False, "", "that is only queries → items; add the items → queries direction (the same "
                           "with sim.T and positives.T) and average the two")
        if abs(value - plain.item()) < 1e-5:
            return verdict(False, "", "the extra positive (query 1 ↔ item 3) is treated as a negative: use soft "
                           "targets, each row of positives divided by its sum")
        if abs(value - want.item()) > 1e-5:
            return verdict(False, "", f"for temperature {temperature} expected {want.item():.4f}, got {value:.4f}. "
                           "Hint: F.cross_entropy(sim / t, targets) with targets = positives / positives.sum(1)")
    return verdict(True, "symmetric, multi-positive, and equal to the InfoNCE the towers train with", "")


def check_hardest_negative(hardest: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> bool:
    """07, exercise 2: ``hardest(sim, positives)`` → (B,) column of the most similar non-positive item per row."""
    sim = torch.tensor([[0.9, 0.8, 0.1, -0.2],
                        [0.3, 0.7, 0.6, 0.95],
                        [0.2, 0.4, 0.5, 0.1],
                        [0.0, -0.5, 0.3, 0.6]])
    positives = torch.eye(4, dtype=torch.bool)
    positives[1, 3] = True  # item 3 is also relevant to query 1: not a negative
    want = torch.tensor([1, 2, 1, 2])
    ok, got = attempt(hardest, sim.clone(), positives.clone())
    if not ok:
        return verdict(False, "", got)
    if same_tensor(got, sim.argmax(dim=1)):
        return verdict(False, "", "that picks the positive itself on some rows: mask every positive (the diagonal "
                       "and the extra ones) with -inf before the argmax")
    if same_tensor(got, sim.masked_fill(torch.eye(4, dtype=torch.bool), float("-inf")).argmax(dim=1)):
        return verdict(False, "", "row 1 picked item 3, which is relevant to query 1: mask all of positives, not "
                       "just the diagonal")
    if not same_tensor(got, want):
        return verdict(False, "", f"expected {want.tolist()}, got {got}. Hint: "
                       "sim.masked_fill(positives, float('-inf')).argmax(dim=1)")
    return verdict(True, "the hardest in-batch negatives, false negatives skipped", "")
