"""Alignment losses for two towers: pull each query towards its item, push it away from the other items in the batch.

Every loss takes a batch of paired embeddings, ``queries`` (B, D) and ``items`` (B, D), where row i of one is paired
with row i of the other, and L2-normalises both inside, so ``s = q̂ @ îᵀ`` is a (B, B) matrix of cosine
similarities whose diagonal holds the positive pairs and whose off-diagonal entries are the in-batch negatives.

An optional ``positives`` (B, B) boolean matrix marks every (query, item) pair that is relevant, for when several
SKUs in a batch match one query or one SKU appears twice. Its diagonal must be True (row i is paired with row i);
off-diagonal True entries are then never treated as negatives.

    loss_fn = InfoNCELoss()                         # CLIP: learnable temperature, starts at 0.07
    loss = loss_fn(query_tower(q), item_tower(x))   # add loss_fn.parameters() to the optimiser
    loss_fn.temperature                             # read the learned temperature (a float)

The style follows open_clip's ``loss.py`` (ClipLoss, SigLipLoss) and pytorch-metric-learning (one idea per class).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

TRIPLET_NEGATIVES = ("sum", "hardest", "semi_hard")


def _check_pair(queries: Tensor, items: Tensor, positives: Tensor | None) -> None:
    """Raise a clear error unless queries and items are (B, D) float batches that pair up row by row."""
    for name, x in (("queries", queries), ("items", items)):
        if not isinstance(x, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
        if x.ndim != 2:
            raise ValueError(f"{name} must be 2-D (batch, dim), got shape {tuple(x.shape)}")
        if not x.is_floating_point():
            raise TypeError(f"{name} must be a float tensor, got {x.dtype}; convert it with {name}.float()")
    if queries.shape[0] != items.shape[0]:
        raise ValueError(f"queries and items must pair up row by row: got {queries.shape[0]} queries and "
                         f"{items.shape[0]} items; pass one item per query")
    if queries.shape[1] != items.shape[1]:
        raise ValueError(f"queries have dimension {queries.shape[1]} but items {items.shape[1]}; project both "
                         "towers into one shared space")
    if queries.shape[0] < 2:
        raise ValueError("a batch needs at least 2 pairs: the other items in the batch are the negatives")
    for name, x in (("queries", queries), ("items", items)):
        if not torch.isfinite(x).all():
            raise ValueError(f"{name} contain NaN or inf; check the encoder (a diverging training run?)")
    if positives is not None:
        batch = queries.shape[0]
        if not isinstance(positives, Tensor) or positives.dtype != torch.bool:
            raise TypeError("positives must be a bool tensor (True = relevant pair)")
        if positives.shape != (batch, batch):
            raise ValueError(f"positives must have shape (batch, batch) = ({batch}, {batch}), "
                             f"got {tuple(positives.shape)}")
        if not positives.diagonal().all():
            raise ValueError("positives must be True on its diagonal: query i is paired with item i")


def _similarity(queries: Tensor, items: Tensor) -> Tensor:
    """Cosine similarity matrix (B, B) of the L2-normalised batches."""
    return F.normalize(queries, dim=1) @ F.normalize(items, dim=1).T


def _eye(batch: int, device: torch.device) -> Tensor:
    return torch.eye(batch, dtype=torch.bool, device=device)


class InfoNCELoss(nn.Module):
    """Symmetric InfoNCE (CLIP): cross-entropy over in-batch similarities, queries→items and items→queries.

    ``L = ½ [CE(s/τ, targets) + CE(sᵀ/τ, targetsᵀ)]``, with ``s`` the cosine similarity matrix and τ the temperature.
    The temperature is learned as ``log_scale = log(1/τ)``, initialised to ``log(1/0.07)`` and clamped so that
    ``1/τ ≤ max_scale`` (100), as CLIP does. The clamp is applied to the parameter itself at every forward (CLIP
    clamps after every optimiser step), so it never drifts past the limit where its gradient would vanish.

    Multi-positive: with a ``positives`` matrix the targets become soft, each row of ``positives`` normalised to sum
    to one, so a query's loss is the mean of ``-log p(item | query)`` over its positives (SupCon's L_out form; the
    other positives stay in the softmax denominator). With ``positives = eye(B)`` this is exactly the plain loss.
    """

    def __init__(self, temperature: float = 0.07, learnable: bool = True, max_scale: float = 100.0,
                 symmetric: bool = True) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}; pass a small positive temperature such "
                             "as 0.07 (CLIP's)")
        if learnable and 1 / temperature > max_scale:
            raise ValueError(f"temperature {temperature} is below the clamp 1/max_scale = {1 / max_scale:.4g}; "
                             "raise it or raise max_scale")
        self.learnable, self.max_scale, self.symmetric = learnable, max_scale, symmetric
        log_scale = torch.tensor(math.log(1 / temperature))
        if learnable:
            self.log_scale = nn.Parameter(log_scale)
        else:
            self.register_buffer("log_scale", log_scale)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature:.4g}, learnable={self.learnable}, symmetric={self.symmetric}"

    @property
    def scale(self) -> float:
        """The logit scale 1/τ that multiplies the cosine similarities."""
        value = math.exp(self.log_scale.item())
        return min(value, self.max_scale) if self.learnable else value

    @property
    def temperature(self) -> float:
        """The temperature τ (0.07 at the start; smaller = sharper softmax)."""
        return 1 / self.scale

    def logits(self, queries: Tensor, items: Tensor) -> Tensor:
        """Scaled similarity matrix ``s/τ`` (B, B): row i scores query i against every item."""
        if self.learnable:
            with torch.no_grad():
                self.log_scale.clamp_(max=math.log(self.max_scale))
        return self.log_scale.exp() * _similarity(queries, items)

    def forward(self, queries: Tensor, items: Tensor, positives: Tensor | None = None) -> Tensor:
        _check_pair(queries, items, positives)
        logits = self.logits(queries, items)
        if positives is None:
            targets = torch.arange(len(logits), device=logits.device)
            targets_t = targets
        else:
            soft = positives.to(logits.dtype)
            targets, targets_t = soft / soft.sum(dim=1, keepdim=True), soft.T / soft.T.sum(dim=1, keepdim=True)
        loss = F.cross_entropy(logits, targets)
        if not self.symmetric:
            return loss
        return (loss + F.cross_entropy(logits.T, targets_t)) / 2


def semi_hard_negatives(sim: Tensor, positives: Tensor, margin: float) -> Tensor:
    """FaceNet semi-hard mining: for each row i, the index of one negative item, -1 if the row has none.

    Semi-hard negatives are farther than the positive but within the margin: ``s_ii - margin < s_ij < s_ii``.
    Among them the hardest (largest ``s_ij``) is taken; when a row has none, its hardest negative overall.
    ``sim`` is (B, B) with the positive pair on the diagonal; ``positives`` (B, B) bool marks pairs that are not
    negatives (its diagonal must be True).

        j = semi_hard_negatives(sim, torch.eye(len(sim), dtype=torch.bool), margin=0.2)
        hinge = (margin - sim.diagonal() + sim[torch.arange(len(sim)), j]).clamp(min=0)
    """
    if sim.ndim != 2 or sim.shape[0] != sim.shape[1]:
        raise ValueError(f"sim must be a square (B, B) similarity matrix, got shape {tuple(sim.shape)}")
    if positives.dtype != torch.bool or positives.shape != sim.shape:
        raise ValueError(f"positives must be a bool tensor of shape {tuple(sim.shape)}, got {positives.dtype} "
                         f"{tuple(positives.shape)}")
    if not positives.diagonal().all():
        raise ValueError("positives must be True on its diagonal: the positive pair of row i is (i, i)")
    if margin <= 0:
        raise ValueError(f"margin must be > 0, got {margin}; pass a positive margin such as 0.2")
    sim = sim.detach()
    positive = sim.diagonal().unsqueeze(1)
    negatives = ~positives
    semi_hard = negatives & (sim < positive) & (sim > positive - margin)
    neg_inf = torch.tensor(float("-inf"), dtype=sim.dtype, device=sim.device)
    best_semi_hard = torch.where(semi_hard, sim, neg_inf).argmax(dim=1)
    hardest = torch.where(negatives, sim, neg_inf).argmax(dim=1)
    chosen = torch.where(semi_hard.any(dim=1), best_semi_hard, hardest)
    return torch.where(negatives.any(dim=1), chosen, torch.full_like(chosen, -1))


class TripletLoss(nn.Module):
    """Margin ranking loss on cosine similarity: the positive must beat each negative by ``margin``.

    ``hinge_ij = max(0, margin - s_ii + s_ij)`` for every negative j of anchor i. ``negatives`` picks which j count:
    ``"sum"`` sums the hinges over all in-batch negatives (VSE), ``"hardest"`` keeps only the largest (VSE++),
    ``"semi_hard"`` keeps the one chosen by :func:`semi_hard_negatives` (FaceNet). The loss is averaged over
    anchors; with ``symmetric=True`` the items→queries direction (columns) is added and the two are averaged.
    Entries marked True in ``positives`` are not negatives (false negatives are masked out).
    """

    def __init__(self, margin: float = 0.2, negatives: str = "sum", symmetric: bool = True) -> None:
        super().__init__()
        if margin <= 0:
            raise ValueError(f"margin must be > 0, got {margin}; pass a positive margin such as 0.2")
        if negatives not in TRIPLET_NEGATIVES:
            raise ValueError(f"unknown negatives={negatives!r}; choose one of {TRIPLET_NEGATIVES}")
        self.margin, self.negatives, self.symmetric = margin, negatives, symmetric

    def extra_repr(self) -> str:
        return f"margin={self.margin}, negatives={self.negatives!r}, symmetric={self.symmetric}"

    def _one_direction(self, sim: Tensor, positives: Tensor) -> Tensor:
        """Mean over anchors (rows) of the hinge loss against the chosen negatives (columns)."""
        if self.negatives == "semi_hard":
            index = semi_hard_negatives(sim, positives, self.margin)
            rows = torch.arange(len(sim), device=sim.device)
            hinge = (self.margin - sim.diagonal() + sim[rows, index.clamp(min=0)]).clamp(min=0)
            return torch.where(index >= 0, hinge, torch.zeros_like(hinge)).mean()
        hinges = (self.margin - sim.diagonal().unsqueeze(1) + sim).clamp(min=0)
        hinges = hinges.masked_fill(positives, 0.0)
        per_anchor = hinges.sum(dim=1) if self.negatives == "sum" else hinges.max(dim=1).values
        return per_anchor.mean()

    def forward(self, queries: Tensor, items: Tensor, positives: Tensor | None = None) -> Tensor:
        _check_pair(queries, items, positives)
        sim = _similarity(queries, items)
        if positives is None:
            positives = _eye(len(sim), sim.device)
        loss = self._one_direction(sim, positives)
        if not self.symmetric:
            return loss
        return (loss + self._one_direction(sim.T, positives.T)) / 2


class SigmoidLoss(nn.Module):
    """SigLIP pairwise sigmoid loss: every (query, item) pair is its own binary "match or not" problem.

    ``L = -(1/B) Σ_ij log σ(z_ij (t·s_ij + b))`` with ``z_ij = +1`` for positive pairs and ``-1`` otherwise, ``s`` the
    cosine similarities, a learnable scale ``t = exp(log_scale)`` (initialised to 10) and bias ``b`` (initialised to
    -10, so that at the start almost every pair is predicted "no match", as most pairs are). No softmax, so no
    batch-wide normalisation: the loss is summed over all B² pairs and divided by B, as in the SigLIP paper.
    """

    def __init__(self, scale: float = 10.0, bias: float = -10.0, learnable: bool = True) -> None:
        super().__init__()
        if scale <= 0:
            raise ValueError(f"scale must be > 0, got {scale}; pass a positive scale such as 10 (SigLIP's)")
        self.learnable = learnable
        log_scale, bias_tensor = torch.tensor(math.log(scale)), torch.tensor(float(bias))
        if learnable:
            self.log_scale, self.bias = nn.Parameter(log_scale), nn.Parameter(bias_tensor)
        else:
            self.register_buffer("log_scale", log_scale)
            self.register_buffer("bias", bias_tensor)

    def extra_repr(self) -> str:
        return f"scale={self.scale:.4g}, bias={self.bias.item():.4g}, learnable={self.learnable}"

    @property
    def scale(self) -> float:
        """The learned scale t that multiplies the cosine similarities."""
        return math.exp(self.log_scale.item())

    @property
    def temperature(self) -> float:
        """1/t, comparable with :attr:`InfoNCELoss.temperature`."""
        return 1 / self.scale

    def logits(self, queries: Tensor, items: Tensor) -> Tensor:
        """``t·s + b`` (B, B): the log-odds that query i matches item j."""
        return self.log_scale.exp() * _similarity(queries, items) + self.bias

    def forward(self, queries: Tensor, items: Tensor, positives: Tensor | None = None) -> Tensor:
        _check_pair(queries, items, positives)
        logits = self.logits(queries, items)
        if positives is None:
            positives = _eye(len(logits), logits.device)
        signs = positives.float() * 2 - 1
        return -F.logsigmoid(signs * logits).sum() / len(logits)
