"""Checks for the exercises of Notebook 03 (text encoder)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from mmlab.exercises.common import attempt, verdict


def _tensor_problem(got: Any, shape: tuple[int, ...], hint: str) -> str | None:
    """Why ``got`` is not a finite tensor of ``shape`` (None if it is one)."""
    if not isinstance(got, torch.Tensor) or tuple(got.shape) != shape:
        found = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
        return f"expected a tensor of shape {shape}, got {found}. Hint: {hint}"
    if not torch.isfinite(got).all():
        return "your result contains NaN or inf; clamp the denominator or avoid dividing by zero"
    return None


def check_masked_mean(masked_mean: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> bool:
    """03, exercise 1: ``masked_mean(states, mask)`` averages token states (B, L, H) over the real tokens only.

    ``mask`` (B, L) is True on real tokens. The padding holds junk here (a plain mean would pick it up), one text
    fills the whole length and one is a single token long.
    """
    generator = torch.Generator().manual_seed(0)
    states = torch.randn(3, 5, 4, generator=generator)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], dtype=torch.bool)
    states[~mask] = 100.0  # junk on the padding: it must not count
    want = torch.stack([states[i, mask[i]].mean(dim=0) for i in range(3)])
    ok, got = attempt(masked_mean, states.clone(), mask.clone())
    if not ok:
        return verdict(False, "", got)
    problem = _tensor_problem(got, (3, 4), "average over dim=1, the token dimension")
    if problem:
        return verdict(False, "", problem)
    if torch.allclose(got, states.mean(dim=1)):
        return verdict(False, "", "that is the plain mean: the padding (value 100) was averaged in. Multiply the "
                       "states by mask.unsqueeze(-1) before summing")
    if torch.allclose(got, (states * mask.unsqueeze(-1)).sum(dim=1) / mask.shape[1]):
        return verdict(False, "", "the padding is zeroed, but you divided by the padded length; divide by the "
                       "number of real tokens, mask.sum(dim=1, keepdim=True)")
    if not torch.allclose(got, want, atol=1e-5):
        return verdict(False, "", "the result differs from the mean of the real tokens; compare one row by hand: "
                       "states[0, :3].mean(dim=0)")
    return verdict(True, "padding ignored, each text averaged over its own length", "")


def check_in_batch_info_nce(info_nce: Callable[[torch.Tensor, float], torch.Tensor]) -> bool:
    """03, exercise 2: ``info_nce(similarities, temperature)`` is the in-batch InfoNCE loss.

    ``similarities[i, j]`` is the cosine of query i and product j, and product i is query i's target: the loss is
    the mean over queries of the cross-entropy of row i (divided by the temperature) against column i.
    """
    generator = torch.Generator().manual_seed(0)
    similarities = torch.rand(5, 5, generator=generator) * 2 - 1
    for temperature in (0.1, 0.5):
        want = F.cross_entropy(similarities / temperature, torch.arange(5))
        ok, got = attempt(info_nce, similarities.clone(), temperature)
        if not ok:
            return verdict(False, "", got)
        problem = _tensor_problem(got, (), "average the per-query losses into one number")
        if problem:
            return verdict(False, "", problem)
        if torch.isclose(got, F.cross_entropy(similarities, torch.arange(5))):
            return verdict(False, "", "the temperature is missing: divide the similarities by it before the softmax")
        if torch.isclose(got, F.cross_entropy(similarities.T / temperature, torch.arange(5))):
            return verdict(False, "", "you took the softmax over each column (products); each query's row must sum "
                           "to 1: the query chooses among the products")
        if torch.isclose(got, 5 * want):
            return verdict(False, "", "that is the sum over queries; take the mean so the loss does not grow with "
                           "the batch size")
        if not torch.isclose(got, want, atol=1e-5):
            return verdict(False, "", f"for temperature {temperature} expected {want.item():.4f}, got "
                           f"{got.item():.4f}. Hint: F.cross_entropy(similarities / temperature, "
                           "torch.arange(len(similarities)))")
    return verdict(True, "each query picks its own product among the batch's products, sharpened by the "
                   "temperature", "")
