"""The models of notebook 07 · Alignment losses: InfoNCE, triplet, sigmoid.

Written, explained and trained in notebooks/07_alignment_losses.ipynb. Generated from that notebook's cells marked ``#@save``
(``python -m tools.saved_cells``): edit the notebook, not this file.
"""

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def similarity(queries: Tensor, items: Tensor) -> Tensor:
    """Cosine similarities (B, B) of a batch of pairs: row i scores query i against every item."""
    if queries.ndim != 2 or queries.shape != items.shape or len(queries) < 2:
        raise ValueError(f"queries {tuple(queries.shape)} and items {tuple(items.shape)} must be (B, D) batches of "
                         "the same shape, B >= 2: pair query i with item i (the other items are its negatives)")
    return F.normalize(queries, dim=1) @ F.normalize(items, dim=1).T       # (B, D) @ (D, B) -> (B, B)


class LogitScale(nn.Module):
    """s -> s/τ (+ b): CLIP's learned inverse temperature, stored as log(1/τ); SigLIP adds a learned bias b.

    The model owns it (as open_clip's models own ``logit_scale``), so the losses stay plain functions. 1/τ is
    clamped to ``max_scale`` before every use, as CLIP clamps it after every step: it cannot grow until the softmax
    saturates and its gradients vanish.
    """

    def __init__(self, temperature: float = 0.07, learnable: bool = True, max_scale: float | None = 100.0,
                 bias: float | None = None) -> None:
        super().__init__()
        self.max_scale = max_scale if learnable else None
        if not temperature > 0 or 1 / temperature > (self.max_scale or math.inf):
            raise ValueError(f"temperature={temperature} must be > 0, and 1/temperature at most max_scale="
                             f"{self.max_scale}; CLIP starts at 0.07")
        start = {"log_scale": math.log(1 / temperature)} | ({} if bias is None else {"bias": float(bias)})
        for name, value in start.items():
            if learnable:
                self.register_parameter(name, nn.Parameter(torch.tensor(value)))
            else:
                self.register_buffer(name, torch.tensor(value))

    @property
    def temperature(self) -> float:
        """τ, as a float (the similarities are multiplied by 1/τ)."""
        return 1 / min(math.exp(self.log_scale.item()), self.max_scale or math.inf)

    def forward(self, sim: Tensor) -> Tensor:
        if self.max_scale is not None:
            with torch.no_grad():
                self.log_scale.clamp_(max=math.log(self.max_scale))
        logits = self.log_scale.exp() * sim                                   # (B, B)
        return logits + self.bias if hasattr(self, "bias") else logits


def check_batch(scores: Tensor, positives: Tensor) -> None:
    """Raise unless ``scores`` is a finite float (B, B) matrix and ``positives`` a bool (B, B) mask, True on its
    diagonal (query i is paired with item i; other True entries are further relevant items, never negatives)."""
    if not (scores.is_floating_point() and scores.ndim == 2 and scores.shape[0] == scores.shape[1] >= 2):
        raise ValueError(f"scores must be a float (B, B) matrix with B >= 2, got {scores.dtype} {tuple(scores.shape)}; "
                         "compute them from float embeddings of at least 2 pairs")
    if not torch.isfinite(scores).all():
        raise ValueError("scores contain NaN or inf; check the encoders (a diverging training run?)")
    if positives.dtype != torch.bool or positives.shape != scores.shape or not positives.diagonal().all():
        raise ValueError(f"positives must be a bool {tuple(scores.shape)} mask, True on its diagonal, got "
                         f"{positives.dtype} {tuple(positives.shape)}")


def check_pairs(logits: Tensor, positives: Tensor, symmetric: bool, ignore: Tensor | None) -> None:
    """:func:`check_batch` for a symmetric loss; otherwise any (queries, items) shape, each row with a positive."""
    if symmetric:
        check_batch(logits, positives)
    elif not (logits.is_floating_point() and logits.ndim == 2 and positives.dtype == torch.bool
              and positives.shape == logits.shape and positives.any(dim=1).all()):
        raise ValueError(f"logits must be a float (queries, items) matrix and positives a bool mask of that shape "
                         f"with a True in every row, got {logits.dtype} {tuple(logits.shape)} and {positives.dtype} "
                         f"{tuple(positives.shape)}")
    if ignore is not None and (ignore.dtype != torch.bool or ignore.shape != logits.shape
                               or (ignore & positives).any()):
        raise ValueError("ignore must be a bool mask of the logits' shape that leaves every positive in; a pair is "
                         "either a positive or ignored")


def info_nce(logits: Tensor, positives: Tensor, symmetric: bool = True, ignore: Tensor | None = None) -> Tensor:
    """InfoNCE: each row (a query) picks its positive columns (items) among the batch's; a cross-entropy per row.

    Several positives in a row share its target (soft targets: the row of ``positives`` over its sum).
    ``symmetric`` (CLIP): each column (item) also picks its rows (queries); the two directions are averaged.
    ``ignore``: pairs left out of the softmax, neither pulled nor pushed, such as items as relevant as the row's
    positive when that positive alone is the target (notebook 03's text encoder)."""
    check_pairs(logits, positives, symmetric, ignore)
    if ignore is not None:
        logits = logits.masked_fill(ignore, torch.finfo(logits.dtype).min)      # exp -> 0; 0 x log p stays 0
    soft = positives.to(logits.dtype)                                            # (B, B)
    to_items = F.cross_entropy(logits, soft / soft.sum(dim=1, keepdim=True))     # rows: query -> items
    if not symmetric:
        return to_items
    to_queries = F.cross_entropy(logits.T, soft.T / soft.T.sum(dim=1, keepdim=True))  # columns: item -> queries
    return (to_items + to_queries) / 2


def sigmoid_loss(logits: Tensor, positives: Tensor) -> Tensor:
    """SigLIP: every (query, item) pair is its own match-or-not question; summed over B² pairs, divided by B."""
    check_batch(logits, positives)
    signs = positives.float() * 2 - 1                                            # (B, B): +1 match, -1 not
    return -F.logsigmoid(signs * logits).sum() / len(logits)


def semi_hard_negatives(sim: Tensor, positives: Tensor, margin: float) -> Tensor:
    """FaceNet mining: per row, the most similar negative with s_ii - margin < s_ij < s_ii (-1: the row has no
    negative at all; a row without a semi-hard one falls back to its hardest negative)."""
    sim, negatives = sim.detach(), ~positives
    positive = sim.diagonal().unsqueeze(1)                                        # (B, 1)
    semi_hard = negatives & (sim < positive) & (sim > positive - margin)          # (B, B)
    best_semi_hard = sim.masked_fill(~semi_hard, -math.inf).argmax(dim=1)         # (B,)
    hardest = sim.masked_fill(~negatives, -math.inf).argmax(dim=1)
    chosen = torch.where(semi_hard.any(dim=1), best_semi_hard, hardest)
    return torch.where(negatives.any(dim=1), chosen, -1)


def triplet_rows(sim: Tensor, positives: Tensor, margin: float, negatives: str) -> Tensor:
    """Mean over rows (anchors) of the hinges max(0, margin - s_ii + s_ij) against the row's negatives j."""
    if negatives == "semi_hard":
        index = semi_hard_negatives(sim, positives, margin)                      # (B,)
        hinge = (margin - sim.diagonal() + sim[torch.arange(len(sim)), index.clamp(min=0)]).clamp(min=0)
        return torch.where(index >= 0, hinge, 0.0).mean()
    hinges = (margin - sim.diagonal().unsqueeze(1) + sim).clamp(min=0)           # (B, B)
    hinges = hinges.masked_fill(positives, 0.0)                                   # positives are not negatives
    per_anchor = hinges.sum(dim=1) if negatives == "sum" else hinges.max(dim=1).values  # VSE / VSE++
    return per_anchor.mean()


def triplet_loss(sim: Tensor, positives: Tensor, margin: float = 0.2, negatives: str = "sum") -> Tensor:
    """The triplet (margin ranking) loss on cosine similarities, both directions averaged; ``negatives`` is
    "sum" (VSE), "hardest" (VSE++) or "semi_hard" (FaceNet)."""
    check_batch(sim, positives)
    if margin <= 0:
        raise ValueError(f"margin={margin} must be > 0; 0.2 is a common start")
    if negatives not in ("sum", "hardest", "semi_hard"):
        raise ValueError(f"unknown negatives={negatives!r}; choose one of 'sum', 'hardest', 'semi_hard'")
    return (triplet_rows(sim, positives, margin, negatives) + triplet_rows(sim.T, positives.T, margin, negatives)) / 2


LOSSES = ("infonce", "sigmoid", "triplet_sum", "triplet_hardest", "triplet_semi_hard")


def alignment_loss(name: str, queries: Tensor, items: Tensor, positives: Tensor, scale: nn.Module,
                   margin: float = 0.2) -> Tensor:
    """The loss ``name`` (one of LOSSES) of a batch of (query, item) vector pairs; ``scale`` turns their cosine
    similarities into logits."""
    sim = similarity(queries, items)                                             # (B, B)
    if name == "infonce":
        return info_nce(scale(sim), positives)
    if name == "sigmoid":
        return sigmoid_loss(scale(sim), positives)
    return triplet_loss(sim, positives, margin, negatives=name.removeprefix("triplet_"))


def logit_scale(name: str, temperature: float = 0.07, learnable: bool = True) -> nn.Module:
    """What turns similarities into logits for loss ``name``: 1/τ for InfoNCE, 1/τ and a bias of -10 for the
    sigmoid loss (no clamp: SigLIP's scale starts at 10), nothing for the triplets (their margin is in cosine)."""
    if name == "infonce":
        return LogitScale(temperature, learnable)
    if name == "sigmoid":
        return LogitScale(temperature, learnable, max_scale=None, bias=-10.0)
    return nn.Identity()
