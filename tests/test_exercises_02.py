"""The check_* helpers of notebook 02 pass a correct answer and fail a wrong one and an unfinished stub.

A failing check must return False and print ❌ (never raise), so a learner's notebook keeps running.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers import assert_fails, assert_passes, stub
from mmlab.exercises import image as exercises
from mmlab.models.image import ConvBlock


# --- 02, exercise 1: a conv block


def conv_block(c_in: int, c_out: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
                         nn.MaxPool2d(2))


def test_conv_block_passes_a_correct_answer(capsys):
    assert_passes(capsys, exercises.check_conv_block(conv_block))


def test_the_block_of_the_small_cnn_is_a_correct_answer(capsys):
    assert_passes(capsys, exercises.check_conv_block(ConvBlock))


def test_conv_block_accepts_a_conv_with_bias(capsys):
    def block(c_in: int, c_out: int) -> nn.Module:
        return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2))

    assert_passes(capsys, exercises.check_conv_block(block))


@pytest.mark.parametrize("wrong, hint", [
    (lambda i, o: nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU()), "MaxPool2d"),
    (lambda i, o: nn.Sequential(nn.Conv2d(i, o, 3), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2)), "padding=1"),
    (lambda i, o: nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.MaxPool2d(2)), "ReLU"),
    (lambda i, o: nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)), "BatchNorm2d"),
    (lambda i, o: nn.Sequential(nn.Conv2d(i, 2 * o, 3, padding=1), nn.BatchNorm2d(2 * o), nn.ReLU(),
                                nn.MaxPool2d(2)), "exactly one nn.Conv2d"),
    (lambda i, o: nn.Sequential(nn.Conv2d(i, o, 5, padding=2), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2)),
     "kernel_size=3"),
    (lambda i, o: lambda x: x, "nn.Module"),
    (stub, "not done yet"),
])
def test_conv_block_fails_wrong_answers(capsys, wrong, hint):
    assert_fails(capsys, exercises.check_conv_block(wrong), hint)


def test_conv_block_fails_a_frozen_convolution(capsys):
    def frozen(c_in: int, c_out: int) -> nn.Module:
        block = conv_block(c_in, c_out)
        block[0].weight.requires_grad_(False)
        return block

    assert_fails(capsys, exercises.check_conv_block(frozen), "gradient")


# --- 02, exercise 2: global average pooling and L2 normalisation


def pool_by_hand(maps: torch.Tensor) -> torch.Tensor:
    pooled = maps.mean(dim=(2, 3))
    return pooled / pooled.norm(dim=1, keepdim=True).clamp_min(1e-12)


def test_pool_and_normalise_passes_correct_answers(capsys):
    assert_passes(capsys, exercises.check_pool_and_normalise(lambda maps: F.normalize(maps.mean(dim=(2, 3)), dim=1)))
    assert_passes(capsys, exercises.check_pool_and_normalise(pool_by_hand))
    assert_passes(capsys, exercises.check_pool_and_normalise(lambda maps: F.normalize(maps.sum(dim=(2, 3)), dim=1)))


@pytest.mark.parametrize("wrong, hint", [
    (lambda maps: maps.mean(dim=(2, 3)), "should be 1"),  # pooled, not normalised
    (lambda maps: F.normalize(maps.amax(dim=(2, 3)), dim=1), "MAX"),
    (lambda maps: (lambda v: v / v.norm(dim=1, keepdim=True))(maps.mean(dim=(2, 3))), "NaN"),  # 0 / 0
    (lambda maps: F.normalize(maps.mean(dim=1), dim=1), "mean(dim=(2, 3))"),  # pooled over channels
    (lambda maps: None, "(4, 6)"),
    (stub, "not done yet"),
])
def test_pool_and_normalise_fails_wrong_answers(capsys, wrong, hint):
    assert_fails(capsys, exercises.check_pool_and_normalise(wrong), hint)


def test_checks_do_not_change_the_global_random_state():
    torch.manual_seed(0)
    expected = torch.rand(1)
    torch.manual_seed(0)
    exercises.check_pool_and_normalise(lambda maps: F.normalize(maps.mean(dim=(2, 3)), dim=1))
    assert torch.equal(torch.rand(1), expected)
