"""Pooling a padded batch of sequences into one vector each, ignoring the padding (text encoders, re-ranker)."""

from __future__ import annotations

import torch


def masked_mean(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over the real tokens only: ``states`` (B, L, H), ``mask`` (B, L) True on tokens -> (B, H)."""
    weights = mask.unsqueeze(-1).to(states.dtype)
    return (states * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
