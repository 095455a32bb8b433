"""Fusion: turn a SKU's per-modality embeddings (image, text, reviews, behaviour, ...) into one product vector.

Every fuser is built with an ordered ``modalities`` dict, name → input dimension, and projects each modality to a
shared dimension ``dim`` with its own Linear layer. ``forward(features, mask)`` takes

- ``features``: ``dict[str, Tensor (B, d_m)]`` with every modality present as a key;
- ``mask``: ``Tensor (B, M) bool`` in the construction order, True = the SKU has this modality. A missing modality
  still needs a placeholder row in ``features`` (zeros, or even NaN): it is replaced by zeros before use, so its
  values can never reach the output. ``mask=None`` means every modality is present.

and returns L2-normalised product embeddings (B, dim). A SKU with every modality masked is an error.

    fuser = WeightedSumFusion({"image": 128, "text": 128, "review": 64, "behaviour": 32}, dim=128)
    mask = modality_dropout(mask, p=0.3, generator=g) if training else mask
    products = fuser(features, mask)
    fuser.weights(mask)        # (B, M) modality weights, zero where masked

``GatedFusion`` is different: it composes a query image with a modifier text ("in blue") as TIRG does.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _check_mask(mask: Tensor, n_modalities: int | None = None) -> None:
    if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
        raise TypeError("mask must be a bool tensor (batch, n_modalities), True = modality present; convert it "
                        "with mask.bool()")
    if mask.ndim != 2 or (n_modalities is not None and mask.shape[1] != n_modalities):
        raise ValueError(f"mask must have shape (batch, {n_modalities or 'n_modalities'}), got {tuple(mask.shape)}; "
                         "give it one row per SKU and one column per modality, in construction order")
    empty = (~mask.any(dim=1)).nonzero().flatten()
    if len(empty):
        raise ValueError(f"rows {empty[:5].tolist()} have every modality masked; a SKU needs at least one "
                         "modality (drop it from the catalog or give it a title)")


def modality_dropout(mask: Tensor, p: float, generator: torch.Generator | None = None) -> Tensor:
    """Drop each present modality with probability ``p``, but never all of a sample's modalities.

    Where every present modality of a row was dropped, one of them (chosen at random) is kept. Returns a new mask;
    the input is not modified. Use it on the training batches only, so the fuser learns to cope with missing data.
    """
    _check_mask(mask)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be a probability in [0, 1], got {p}; e.g. p=0.3 drops about a third")
    drop = torch.rand(mask.shape, generator=generator, device=mask.device) < p
    kept = mask & ~drop
    # For rows left empty, keep the present modality with the largest random key: a uniform random choice.
    keys = torch.rand(mask.shape, generator=generator, device=mask.device).masked_fill(~mask, -1.0)
    rescue = F.one_hot(keys.argmax(dim=1), mask.shape[1]).bool()
    return torch.where(kept.any(dim=1, keepdim=True), kept, rescue)


class _ModalityFuser(nn.Module):
    """Shared plumbing: validate the inputs and project each modality to ``dim`` (masked ones to zero)."""

    def __init__(self, modalities: dict[str, int], dim: int) -> None:
        super().__init__()
        if not modalities:
            raise ValueError("modalities must name at least one modality, e.g. {'image': 128, 'text': 128}")
        if dim < 1 or any(d < 1 for d in modalities.values()):
            raise ValueError(f"dimensions must be >= 1, got dim={dim} and modalities={modalities}")
        self.modalities, self.dim = tuple(modalities), dim
        self.projections = nn.ModuleDict({name: nn.Linear(d, dim) for name, d in modalities.items()})

    def _default_mask(self, features: dict[str, Tensor], mask: Tensor | None) -> Tensor:
        if not isinstance(features, dict):
            raise TypeError(f"features must be a dict name → (batch, dim) tensor, got {type(features).__name__}")
        missing, extra = set(self.modalities) - set(features), set(features) - set(self.modalities)
        if missing or extra:
            raise ValueError(f"features must have exactly the keys {list(self.modalities)}; missing "
                             f"{sorted(missing)}, unexpected {sorted(extra)} (pass zeros and mask=False for a "
                             "modality a SKU lacks)")
        if mask is None:
            first = features[self.modalities[0]]
            return torch.ones(len(first), len(self.modalities), dtype=torch.bool, device=first.device)
        _check_mask(mask, len(self.modalities))
        return mask

    def project(self, features: dict[str, Tensor], mask: Tensor | None) -> tuple[Tensor, Tensor]:
        """Per-modality embeddings (B, M, dim), exactly zero where masked, and the validated mask (B, M)."""
        mask = self._default_mask(features, mask)
        tokens = []
        for m, name in enumerate(self.modalities):
            x, present = features[name], mask[:, m]
            if not isinstance(x, Tensor) or not x.is_floating_point():
                raise TypeError(f"features[{name!r}] must be a float tensor, got {getattr(x, 'dtype', type(x))}")
            expected = self.projections[name].in_features
            if x.ndim != 2 or x.shape != (len(mask), expected):
                raise ValueError(f"features[{name!r}] must have shape ({len(mask)}, {expected}), "
                                 f"got {tuple(x.shape)}; pass one {expected}-dimensional row per SKU (the "
                                 "dimension given in modalities)")
            if not torch.isfinite(x[present]).all():
                raise ValueError(f"features[{name!r}] has NaN or inf in rows marked present; mask them out or fix "
                                 "the encoder")
            x = torch.where(present.unsqueeze(1), x, torch.zeros_like(x))
            token = self.projections[name](x)
            tokens.append(torch.where(present.unsqueeze(1), token, torch.zeros_like(token)))
        return torch.stack(tokens, dim=1), mask


class ConcatFusion(_ModalityFuser):
    """Concatenate the projected modalities (zeros where missing) and the mask itself, then an MLP → ``dim``.

    ``h = MLP([p_1, ..., p_M, mask])``: appending the mask tells the MLP which zeros mean "missing".
    """

    def __init__(self, modalities: dict[str, int], dim: int, hidden: int | None = None) -> None:
        super().__init__(modalities, dim)
        n, hidden = len(self.modalities), hidden or 2 * dim
        self.mlp = nn.Sequential(nn.Linear(n * dim + n, hidden), nn.ReLU(), nn.Linear(hidden, dim))

    def forward(self, features: dict[str, Tensor], mask: Tensor | None = None) -> Tensor:
        tokens, mask = self.project(features, mask)
        flat = torch.cat([tokens.flatten(1), mask.to(tokens.dtype)], dim=1)
        return F.normalize(self.mlp(flat), dim=1)


class WeightedSumFusion(_ModalityFuser):
    """Weighted sum of the unit-normalised projected modalities with learned softmax weights.

    ``h = Σ_m w_m p̂_m``, ``w = softmax(a)`` over the modalities present in each row (renormalised per sample).
    Each projection is normalised first so a weight measures a modality's share, not its vector length.
    """

    def __init__(self, modalities: dict[str, int], dim: int) -> None:
        super().__init__(modalities, dim)
        self.logits = nn.Parameter(torch.zeros(len(self.modalities)))

    def weights(self, mask: Tensor | None = None) -> Tensor:
        """Modality weights (B, M), each row summing to one over its present modalities and zero elsewhere.

        ``mask=None`` gives the global weights (M,) with every modality present.
        """
        if mask is None:
            return self.logits.softmax(dim=0)
        _check_mask(mask, len(self.modalities))
        return self.logits.expand(mask.shape).masked_fill(~mask, float("-inf")).softmax(dim=1)

    def forward(self, features: dict[str, Tensor], mask: Tensor | None = None) -> Tensor:
        tokens, mask = self.project(features, mask)
        fused = (self.weights(mask).unsqueeze(2) * F.normalize(tokens, dim=2)).sum(dim=1)
        return F.normalize(fused, dim=1)


class AttentionFusion(_ModalityFuser):
    """Attention over modality tokens: one query vector scores each modality, the output is the weighted values.

    ``α = softmax(q·k_m / √dim)`` over present modalities (masked ones get score -inf), ``h = Σ_m α_m v_m``.
    ``q`` is a learned vector, or, when ``query_dim`` is set and a query embedding is passed, a projection of the
    query, so the product vector depends on what is being searched (one fusion per (query, SKU) pair: use it to
    re-rank a shortlist). Each token gets a learned modality embedding so attention can tell modalities apart.
    """

    def __init__(self, modalities: dict[str, int], dim: int, query_dim: int | None = None) -> None:
        super().__init__(modalities, dim)
        self.modality_embedding = nn.Parameter(torch.zeros(len(self.modalities), dim))
        self.learned_query = nn.Parameter(torch.randn(dim) / math.sqrt(dim))
        self.query_proj = nn.Linear(query_dim, dim) if query_dim is not None else None
        self.key, self.value = nn.Linear(dim, dim), nn.Linear(dim, dim)

    def _attend(self, features: dict[str, Tensor], mask: Tensor | None,
                query: Tensor | None) -> tuple[Tensor, Tensor]:
        tokens, mask = self.project(features, mask)
        tokens = tokens + self.modality_embedding
        if query is None:
            q = self.learned_query.expand(len(tokens), -1)
        else:
            if self.query_proj is None:
                raise ValueError("this AttentionFusion has no query projection; build it with query_dim=... to "
                                 "condition on a query")
            if query.ndim != 2 or query.shape != (len(tokens), self.query_proj.in_features):
                raise ValueError(f"query must have shape ({len(tokens)}, {self.query_proj.in_features}), one per "
                                 f"SKU row, got {tuple(query.shape)}")
            q = self.query_proj(query)
        scores = (self.key(tokens) @ q.unsqueeze(2)).squeeze(2) / math.sqrt(self.dim)
        alpha = scores.masked_fill(~mask, float("-inf")).softmax(dim=1)
        values = torch.where(mask.unsqueeze(2), self.value(tokens), torch.zeros_like(tokens))
        return (alpha.unsqueeze(2) * values).sum(dim=1), alpha

    def weights(self, features: dict[str, Tensor], mask: Tensor | None = None, query: Tensor | None = None) -> Tensor:
        """Attention weights (B, M): each row sums to one and is zero on masked modalities."""
        return self._attend(features, mask, query)[1]

    def forward(self, features: dict[str, Tensor], mask: Tensor | None = None, query: Tensor | None = None) -> Tensor:
        return F.normalize(self._attend(features, mask, query)[0], dim=1)


class GatedFusion(nn.Module):
    """TIRG composition for composed queries (photo + "in blue"): keep the image, gated, and add a text residual.

    ``h = w_g · σ(f_gate([x, t])) ⊙ x + w_r · f_res([x, t])`` with ``x``, ``t`` the projected image and text
    embeddings, two small MLPs and learned scalars ``w_g``, ``w_r`` (Vo et al., CVPR 2019).
    """

    def __init__(self, image_dim: int, text_dim: int, dim: int, hidden: int | None = None) -> None:
        super().__init__()
        hidden = hidden or 2 * dim
        self.image_proj, self.text_proj = nn.Linear(image_dim, dim), nn.Linear(text_dim, dim)
        self.gate = nn.Sequential(nn.Linear(2 * dim, hidden), nn.ReLU(), nn.Linear(hidden, dim))
        self.residual = nn.Sequential(nn.Linear(2 * dim, hidden), nn.ReLU(), nn.Linear(hidden, dim))
        self.gate_weight, self.residual_weight = nn.Parameter(torch.tensor(1.0)), nn.Parameter(torch.tensor(1.0))

    def forward(self, image_emb: Tensor, text_emb: Tensor) -> Tensor:
        for name, x, layer in (("image_emb", image_emb, self.image_proj), ("text_emb", text_emb, self.text_proj)):
            if x.ndim != 2 or x.shape[1] != layer.in_features:
                raise ValueError(f"{name} must have shape (batch, {layer.in_features}), got {tuple(x.shape)}")
            if not torch.isfinite(x).all():
                raise ValueError(f"{name} has NaN or inf; check its encoder")
        if len(image_emb) != len(text_emb):
            raise ValueError(f"image_emb has {len(image_emb)} rows but text_emb {len(text_emb)}; "
                             "pair them row by row")
        x, t = self.image_proj(image_emb), self.text_proj(text_emb)
        both = torch.cat([x, t], dim=1)
        composed = self.gate_weight * torch.sigmoid(self.gate(both)) * x + self.residual_weight * self.residual(both)
        return F.normalize(composed, dim=1)
