"""Notebook 04's exercise checks pass a correct answer and fail a wrong one or an unfinished stub."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from mmlab.exercises.reviews_behaviour import check_masked_attention, check_negative_sampling_loss, check_nearest_with_mask


def stub(*args):
    raise NotImplementedError


def sgns_loss(centre, context, negatives):
    positive = F.logsigmoid((centre * context).sum(dim=1))
    negative = F.logsigmoid(-torch.einsum("bkd,bd->bk", negatives, centre)).sum(dim=1)
    return -(positive + negative).mean()


def sgns_loss_mean_over_negatives(centre, context, negatives):
    positive = F.logsigmoid((centre * context).sum(dim=1))
    return -(positive + F.logsigmoid(-torch.einsum("bkd,bd->bk", negatives, centre)).mean(dim=1)).mean()


def test_negative_sampling_loss_check():
    assert check_negative_sampling_loss(sgns_loss)
    assert not check_negative_sampling_loss(sgns_loss_mean_over_negatives)
    assert not check_negative_sampling_loss(stub)


def masked_pool(scores, values, mask):
    weights = scores.masked_fill(~mask, float("-inf")).softmax(dim=1)
    return (weights.unsqueeze(-1) * values).sum(dim=1), weights


def unmasked_pool(scores, values, mask):
    weights = scores.softmax(dim=1)
    return (weights.unsqueeze(-1) * values).sum(dim=1), weights


def test_masked_attention_check(capsys):
    assert check_masked_attention(masked_pool)
    assert not check_masked_attention(unmasked_pool)
    assert not check_masked_attention(stub)
    assert "not done yet" in capsys.readouterr().out


def nearest(emb, has_behaviour, row, k):
    unit = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    similarity = unit @ unit[row]
    similarity[~has_behaviour] = -np.inf
    similarity[row] = -np.inf
    return np.argsort(-similarity, kind="stable")[:k]


def nearest_by_dot_product(emb, has_behaviour, row, k):
    similarity = emb @ emb[row]
    similarity[~has_behaviour] = -np.inf
    similarity[row] = -np.inf
    return np.argsort(-similarity)[:k]


def test_nearest_with_mask_check():
    assert check_nearest_with_mask(nearest)
    assert not check_nearest_with_mask(nearest_by_dot_product)
    assert not check_nearest_with_mask(stub)
