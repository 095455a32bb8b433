"""Checks for the exercises of Notebook 04 (reviews and behaviour)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from mmlab.exercises.common import as_number, attempt, same_tensor, verdict
from mmlab.models.reviews import masked_softmax, negative_sampling_loss




def check_negative_sampling_loss(loss: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]) -> bool:
    """04, exercise 1: ``loss(centre, context, negatives)`` is skip-gram's negative-sampling loss, batch-averaged.

    centre (B, D), context (B, D), negatives (B, K, D); compared with
    :func:`mmlab.models.reviews.negative_sampling_loss` for several B, K and D (K = 1 included).
    """

    generator = torch.Generator().manual_seed(0)
    for batch, k, dim in ((1, 1, 2), (4, 3, 5), (16, 5, 8)):
        centre, context = torch.randn(batch, dim, generator=generator), torch.randn(batch, dim, generator=generator)
        negatives = torch.randn(batch, k, dim, generator=generator)
        ok, got = attempt(loss, centre.clone(), context.clone(), negatives.clone())
        if not ok:
            return verdict(False, "", got)
        want = negative_sampling_loss(centre, context, negatives)
        if as_number(got.detach() if isinstance(got, torch.Tensor) else got) is None:
            return verdict(False, "", f"loss returned {got!r}; return one number (a 0-d tensor), the batch mean")
        if not same_tensor(got, want):
            return verdict(False, "", f"for B={batch}, K={k}, D={dim} the loss is {want.item():.4f}, you returned "
                           f"{float(got):.4f}. Hint: -log sigmoid(u.v) for the true pair, minus the SUM over the K "
                           "negatives of log sigmoid(-u.n), then the MEAN over the batch (F.logsigmoid is stable).")
    return verdict(True, "your loss matches the skip-gram model's negative_sampling_loss (batch sizes 1-16, K = 1-5)", "")


def check_masked_attention(pool: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], tuple]) -> bool:
    """04, exercise 2: ``pool(scores, values, mask)`` -> (pooled (B, D), weights (B, R)), a masked softmax.

    Weights must match :func:`mmlab.models.reviews.masked_softmax` (padded positions exactly 0, rows summing to
    one) and the pooled vectors the weighted sum; changing a padded value must not change the result.
    """

    generator = torch.Generator().manual_seed(0)
    scores, values = torch.randn(3, 4, generator=generator), torch.randn(3, 4, 2, generator=generator)
    mask = torch.tensor([[True, True, True, True], [True, False, True, False], [True, False, False, False]])
    want_weights = masked_softmax(scores, mask)
    want_pooled = (want_weights.unsqueeze(-1) * values).sum(dim=1)
    ok, got = attempt(pool, scores.clone(), values.clone(), mask.clone())
    if not ok:
        return verdict(False, "", got)
    if not (isinstance(got, tuple) and len(got) == 2):
        return verdict(False, "", f"pool returned {type(got).__name__}; return a pair (pooled, weights)")
    pooled, weights = got
    if not same_tensor(weights, want_weights):
        return verdict(False, "", f"weights should be {want_weights.numpy().round(3).tolist()}, got "
                       f"{np.asarray(weights).round(3).tolist()}. Hint: set the scores of padded reviews to "
                       "float('-inf') (scores.masked_fill(~mask, ...)) before the softmax over dim=1.")
    if not same_tensor(pooled, want_pooled):
        return verdict(False, "", "the weights are right but the pooled vectors are not: sum weight * value over "
                       "the reviews, (weights.unsqueeze(-1) * values).sum(dim=1)")
    noisy = values.clone()
    noisy[~mask] = 1e3  # garbage where only padding sits
    ok, again = attempt(pool, scores.clone(), noisy, mask.clone())
    if not ok or not isinstance(again, tuple) or not same_tensor(again[0], want_pooled):
        return verdict(False, "", "changing a padded review changed the pooled vector: padding must get weight "
                       "exactly 0 (-inf before the softmax, not a large negative number times the value)")
    return verdict(True, "weights sum to one, padded reviews get exactly zero weight and cannot move the result", "")


def check_nearest_with_mask(nearest: Callable[[np.ndarray, np.ndarray, int, int], Any]) -> bool:
    """04, exercise 3: ``nearest(emb, has_behaviour, row, k)`` -> the k rows most cosine-similar to ``row``.

    Best first, without ``row`` itself and without rows whose mask is False (cold-start SKUs, zero vectors);
    compared with :func:`mmlab.encoders.behaviour.also_bought`. The test vectors have very different lengths,
    so a dot product instead of the cosine ranks them wrongly.
    """
    from mmlab.encoders.behaviour import also_bought

    rng = np.random.default_rng(0)
    emb = (rng.normal(size=(30, 4)) * rng.uniform(0.1, 10, size=(30, 1))).astype(np.float32)
    mask = np.ones(30, dtype=bool)
    mask[[3, 7, 11, 19]] = False
    emb[~mask] = 0
    for row, k in ((0, 5), (12, 3), (29, 1)):
        ok, got = attempt(nearest, emb.copy(), mask.copy(), row, k)
        if not ok:
            return verdict(False, "", got)
        want = also_bought(emb, mask, row, k).tolist()
        got = np.asarray(got).ravel().tolist()
        if row in got:
            return verdict(False, "", f"your answer for row {row} contains row {row} itself; leave it out")
        if set(got) & set(np.flatnonzero(~mask)):
            return verdict(False, "", f"your answer for row {row} contains a cold-start row "
                           f"({sorted(set(got) & set(np.flatnonzero(~mask)))}); only rows with mask True may appear")
        if got != want:
            return verdict(False, "", f"for row {row}, k={k} the nearest rows are {want}, you returned {got}. Hint: "
                           "normalise every row to length 1 (cosine, not dot product), then sort by similarity, "
                           "best first")
    return verdict(True, "your neighbours match also_bought: cosine, best first, without the SKU and cold starts", "")
