"""Checks for the exercises of notebook 11 (capstone search engine)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from mmlab.exercises.common import attempt, same_tensor, verdict


def check_contributions(contributions: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]) -> bool:
    """11, exercise 1: ``contributions(weights (M,), tokens (M, d) unit rows, query (d,) unit)`` → (M,) terms that
    add up to the cosine of the query with the weighted-sum product vector ``normalize(Σ_m w_m p̂_m)``."""
    generator = torch.Generator().manual_seed(0)
    weights = torch.tensor([0.5, 0.3, 0.15, 0.05])
    tokens = F.normalize(torch.randn(4, 16, generator=generator), dim=1)
    query = F.normalize(torch.randn(16, generator=generator), dim=0)
    fused = (weights[:, None] * tokens).sum(dim=0)
    want = weights * (tokens @ query) / fused.norm()
    ok, got = attempt(contributions, weights.clone(), tokens.clone(), query.clone())
    if not ok:
        return verdict(False, "", got)
    if same_tensor(got, weights * (tokens @ query)):
        return verdict(False, "", "close: those are the terms of the un-normalised sum. The index holds the UNIT "
                       "product vector, so divide every term by the norm of Σ_m w_m p̂_m")
    if same_tensor(got, tokens @ query / fused.norm()) or same_tensor(got, tokens @ query):
        return verdict(False, "", "each modality's term must be weighted by its fusion weight w_m")
    if not same_tensor(got, want):
        return verdict(False, "", f"expected a tensor of shape (4,) summing to the score {float(want.sum()):.4f}. "
                       "Hint: weights * (tokens @ query) / (weights[:, None] * tokens).sum(0).norm()")
    return verdict(True, f"four terms summing to the score {float(want.sum()):.4f}, as the engine's table shows", "")


def _route_cases() -> list[tuple[Any, str | None]]:
    photo = Image.new("RGB", (64, 64), "red")
    wave = np.zeros(16_000, dtype=np.float32)
    return [("red mug", "text"), ("红色杯子", "text"), (photo, "image"), (wave, "voice"), ((photo, "in blue"), "composed"),
            (42, None), ("   ", None), (np.zeros((64, 64, 3)), None), ((photo, 3), None)]


def _describe(query: Any) -> str:
    if isinstance(query, tuple):
        return f"({', '.join(_describe(q) for q in query)})"
    if isinstance(query, np.ndarray):
        return f"an array of shape {query.shape}"
    return "a PIL image" if isinstance(query, Image.Image) else repr(query)


def check_route(route: Callable[[Any], str]) -> bool:
    """11, exercise 2: ``route(query)`` names the query kind of a raw input, or raises ValueError/TypeError."""
    for query, want in _route_cases():
        try:
            got = route(query)
        except NotImplementedError as stub:
            return verdict(False, "", f"not done yet: {str(stub) or 'replace the NotImplementedError with your code'}")
        except (ValueError, TypeError):
            if want is None:
                continue
            return verdict(False, "", f"route({_describe(query)}) raised, but it is a valid {want!r} query")
        except Exception as error:  # a learner's bug is feedback, not a crash
            return verdict(False, "", f"route({_describe(query)}) raised {type(error).__name__}: {error}")
        if want is None:
            return verdict(False, "", f"route({_describe(query)}) returned {got!r}; it is not a valid query: raise a "
                           "ValueError (or TypeError) that says what is wrong")
        if got != want:
            return verdict(False, "", f"route({_describe(query)}) returned {got!r}, expected {want!r}. Hint: check "
                           "tuples first, then str (non-blank), PIL.Image.Image, and 1-D np.ndarray")
    return verdict(True, "every kind is routed, and bad input is refused with an error", "")
