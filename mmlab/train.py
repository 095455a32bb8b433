"""One plain PyTorch training loop for every model in the workbook: progress bar, validation, early stopping.

    history = fit(model, batches, loss_fn, epochs=10, lr=1e-3, evaluate=val_ndcg, patience=3)
    history = fit(model, batches, loss_fn, epochs=10, lr=1e-3, clip_norm=1.0,   # gradients clipped, and a
                  schedule=lambda opt: OneCycleLR(opt, max_lr=1e-3, total_steps=n))  # schedule stepped per batch

``batches(epoch)`` yields training batches (anything ``loss_fn(model, batch)`` accepts); ``evaluate()`` returns a
validation score where higher is better. The best weights by that score are restored at the end.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from tqdm.auto import tqdm


@dataclass
class History:
    """What happened during training, epoch by epoch."""

    loss: list[float] = field(default_factory=list)
    val: list[float] = field(default_factory=list)
    seconds: float = 0.0
    best_epoch: int = -1


def fit(model: torch.nn.Module, batches: Callable[[int], Iterable[Any]],
        loss_fn: Callable[[torch.nn.Module, Any], torch.Tensor], epochs: int, lr: float = 1e-3,
        weight_decay: float = 0.0, evaluate: Callable[[], float] | None = None, patience: int | None = None,
        progress: bool = True, clip_norm: float | None = None,
        schedule: Callable[[torch.optim.Optimizer], Any] | None = None) -> History:
    """Train with AdamW; validate after each epoch; stop after ``patience`` epochs without improvement.

    ``clip_norm`` clips the gradients' total norm before each step; ``schedule(optimiser)`` builds a learning-rate
    scheduler that is stepped after every optimiser step.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr,
                                  weight_decay=weight_decay)
    step = Step(optimiser, clip_norm, schedule(optimiser) if schedule else None)
    history, best_state, start = History(), None, time.perf_counter()
    bar = tqdm(range(epochs), desc="epochs", disable=not progress)
    for epoch in bar:
        history.loss.append(_train_epoch(model, batches(epoch), loss_fn, step))
        if evaluate is not None:
            model.eval()
            with torch.no_grad():
                history.val.append(float(evaluate()))
            if history.val[-1] >= max(history.val):
                history.best_epoch, best_state = epoch, copy.deepcopy(model.state_dict())
        bar.set_postfix(loss=f"{history.loss[-1]:.4f}", **({"val": f"{history.val[-1]:.4f}"} if history.val else {}))
        if patience is not None and history.val and epoch - history.best_epoch >= patience:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    history.seconds = time.perf_counter() - start
    return history


@dataclass
class Step:
    """One optimiser step: gradients from the loss, optionally clipped, the update, then the schedule's step."""

    optimiser: torch.optim.Optimizer
    clip_norm: float | None = None
    schedule: Any = None

    def __call__(self, model: torch.nn.Module, loss: torch.Tensor) -> None:
        self.optimiser.zero_grad()
        loss.backward()
        if self.clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), self.clip_norm)
        self.optimiser.step()
        if self.schedule is not None:
            self.schedule.step()


def summary(history: History, metric: str | None = None, val: list[float] | None = None, **facts: Any
            ) -> dict[str, Any]:
    """What every trained model's training function returns (JSON-able; the zoo adds ``seconds``): the loss per
    epoch, the validation ``metric`` per epoch as ``val_<metric>`` (``val`` when it is not the score ``fit``
    maximised, e.g. an error rate), the epoch whose weights were kept, and any other ``facts``."""
    scores = {} if metric is None else {f"val_{metric}": history.val if val is None else val}
    return {"loss": history.loss, **scores, "best_epoch": history.best_epoch} | facts


def _train_epoch(model: torch.nn.Module, batches: Iterable[Any], loss_fn, step: Step) -> float:
    """One pass over the batches; the mean loss."""
    model.train()
    total, count = 0.0, 0
    for batch in batches:
        loss = loss_fn(model, batch)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss became {loss.item()}; lower the learning rate or check the inputs")
        step(model, loss)
        total, count = total + loss.item(), count + 1
    if count == 0:
        raise ValueError("the epoch had no batches; is the training set empty or the batch size too large?")
    return total / count


def batch_rows(order: Sequence[int] | torch.Tensor, batch_size: int) -> Iterator[Sequence[int] | torch.Tensor]:
    """Consecutive batches of ``order``, dropping a last batch too small to contrast (under half a batch).

    A training set smaller than one batch (a small catalog of your own) is one batch.
    """
    size = min(batch_size, len(order))
    for start in range(0, len(order) - size // 2, size):
        yield order[start:start + size]
