"""Checks for the exercises of notebook 11 (capstone search engine)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from mmlab.engine.modifiers import Modifier, matching_skus
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


def _price_cases() -> pd.DataFrame:
    """A source product (row 0: type 1, red, 20.0) and one SKU per way of getting "cheaper" wrong."""
    return pd.DataFrame({"type_id": [1, 1, 1, 2, 1, 1, 1],
                         "colour": ["red", "red", "red", "red", "blue", "red", "red"],
                         "price": [20.0, 12.5, 19.99, 5.0, 9.0, 20.0, 31.0]})


def check_cheaper(cheaper: Callable[[pd.DataFrame, int], Any]) -> bool:
    """11, exercise 2: ``cheaper(skus, source)`` → a boolean mask over the rows of ``skus`` (``type_id``,
    ``colour``, ``price``): the same type and colour as row ``source``, at a strictly lower price."""
    skus = _price_cases()
    want = matching_skus(skus, 0, Modifier(cheaper=True))
    ok, got = attempt(cheaper, skus.copy(), 0)
    if not ok:
        return verdict(False, "", got)
    got = np.asarray(got)
    if got.shape != want.shape or got.dtype != bool:
        return verdict(False, "", f"expected a boolean mask of shape {want.shape}, got dtype {got.dtype} and shape "
                       f"{got.shape}. Hint: combine comparisons of the columns with &")
    wrong = {3: "a product of another type (the shopper wants this product, only cheaper)",
             4: "a product in another colour (cheaper keeps the photo's colour)",
             5: "a product at the same price (cheaper means strictly lower)", 0: "the source product itself",
             6: "a dearer product"}
    for row, what in wrong.items():
        if got[row]:
            return verdict(False, "", f"row {row} is {what}; it must not pass")
    if not (got == want).all():
        return verdict(False, "", "rows 1 and 2 are the same type and colour at a lower price: both pass")
    return verdict(True, "the filter keeps exactly the cheaper products of the photo's type and colour", "")
