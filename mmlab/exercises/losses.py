"""Checks for the exercises of notebook 07 (alignment losses)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from mmlab.exercises.common import as_number, attempt, same_tensor, verdict
from mmlab.models.losses import info_nce as towers_info_nce
from mmlab.models.losses import similarity

if TYPE_CHECKING:
    from mmlab.towerdata import Products
    from mmlab.twotower import Batch


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


def _copy_with_optimiser(model: nn.Module) -> tuple[nn.Module, torch.optim.Optimizer]:
    """An independent copy of ``model`` in training mode and a fresh AdamW over its parameters (as the towers train)."""
    copy_ = copy.deepcopy(model).train()
    return copy_, torch.optim.AdamW([p for p in copy_.parameters() if p.requires_grad], lr=3e-3, weight_decay=0.0)


def _reference_step(model: nn.Module, optimiser: torch.optim.Optimizer, products: Products, batch: Batch,
                    zero_grad: bool = True, scaled: bool = True) -> float:
    """One InfoNCE step of the towers; ``zero_grad`` and ``scaled`` off reproduce two usual slips."""
    if zero_grad:
        optimiser.zero_grad()
    sim = similarity(model.query_vectors(batch.queries), model.product_vectors(products, batch.targets))
    loss = towers_info_nce(model.scale(sim) if scaled else sim, batch.positives)
    loss.backward()
    optimiser.step()
    return loss.item()


def _parameters(model: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def _same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.allclose(x, y, atol=1e-6) for x, y in zip(a, b, strict=True))


def _not_moved(model: nn.Module) -> str:
    """Why a step left every parameter where it was."""
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    if all(g is None for g in grads):
        return "the parameters did not move and have no gradients: call loss.backward() before optimiser.step()"
    if all(g is None or not g.any() for g in grads):
        return ("the gradients are all zero when the optimiser steps: call optimiser.zero_grad() at the start of the "
                "step, not between loss.backward() and optimiser.step()")
    return "the parameters did not move although they have gradients: call optimiser.step() after loss.backward()"


def check_train_step(train_step: Callable[[nn.Module, torch.optim.Optimizer, Products, Batch], float],
                     model: nn.Module, products: Products, batch: Batch) -> bool:
    """07, exercise 3: ``train_step(model, optimiser, products, batch)`` is one optimiser step of the towers with
    InfoNCE at the learned temperature, returning the loss as a float. Two steps from ``model``'s weights must give
    the loss and the parameters of the reference step; both run on copies, ``model`` itself is left unchanged."""
    learner, reference, accumulating, unscaled = (_copy_with_optimiser(model) for _ in range(4))
    for step in (1, 2):
        before = _parameters(learner[0])
        ok, got = attempt(train_step, *learner, products, batch)
        if not ok:
            return verdict(False, "", got)
        want = _reference_step(*reference, products, batch)
        _reference_step(*accumulating, products, batch, zero_grad=False)
        raw_cosine = _reference_step(*unscaled, products, batch, scaled=False)
        if not isinstance(got, float):
            return verdict(False, "", f"return the loss as a Python float (loss.item()), got {type(got).__name__}: a "
                           "tensor returned from every step keeps its whole graph alive")
        if _same(_parameters(learner[0]), before):
            return verdict(False, "", _not_moved(learner[0]))
        if abs(got - raw_cosine) < 1e-5 and abs(raw_cosine - want) > 1e-5:
            return verdict(False, "", "the loss is InfoNCE of the raw cosines: turn them into logits with the learned "
                           "temperature, model.scale(sim), before info_nce")
        if step == 2 and _same(_parameters(learner[0]), _parameters(accumulating[0])):
            return verdict(False, "", "the second step added the first step's gradients to its own: call "
                           "optimiser.zero_grad() at the start of every step")
        if abs(got - want) > 1e-5 or not _same(_parameters(learner[0]), _parameters(reference[0])):
            return verdict(False, "", f"step {step}: expected loss {want:.4f} and the reference step's parameters, got "
                           f"loss {got:.4f}. Hint: sim = similarity(model.query_vectors(batch.queries), "
                           "model.product_vectors(products, batch.targets)); loss = info_nce(model.scale(sim), "
                           "batch.positives)")
    return verdict(True, f"two steps match the reference step: loss {want:.4f}, every parameter (the temperature "
                   "included) where the reference put it", "")
