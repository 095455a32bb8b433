"""Checks for the exercises of Notebook 02 (image encoder)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from mmlab.exercises.common import attempt, verdict


def _conv_block_problem(block: Any, c_in: int, c_out: int) -> str | None:
    """What is wrong with a learner's conv block for (c_in -> c_out), or None if it is right."""
    if not isinstance(block, nn.Module):
        return f"conv_block returned a {type(block).__name__}; return an nn.Module such as nn.Sequential(...)"
    convs = [m for m in block.modules() if isinstance(m, nn.Conv2d)]
    if len(convs) != 1 or convs[0].kernel_size != (3, 3) or convs[0].in_channels != c_in \
            or convs[0].out_channels != c_out:
        return (f"for conv_block({c_in}, {c_out}) expected exactly one nn.Conv2d({c_in}, {c_out}, kernel_size=3, "
                f"padding=1), found {convs}")
    if not any(isinstance(m, nn.BatchNorm2d) and m.num_features == c_out for m in block.modules()):
        return f"no nn.BatchNorm2d({c_out}) after the convolution; add it between the conv and the ReLU"
    return None


def check_conv_block(conv_block: Callable[[int, int], nn.Module]) -> bool:
    """02, exercise 1: ``conv_block(c_in, c_out)`` is 3x3 conv (padding 1), batch norm, ReLU, 2x2 max pooling.

    For several channel counts and (even and odd) photo sizes the output must have ``c_out`` channels and half the
    height and width (rounded down), be non-negative (ReLU comes before pooling) and pass gradients to the conv.
    """
    generator = torch.Generator().manual_seed(0)
    for c_in, c_out, size in ((3, 8, 32), (8, 16, 12), (16, 4, 7)):
        ok, block = attempt(conv_block, c_in, c_out)
        if not ok:
            return verdict(False, "", block)
        problem = _conv_block_problem(block, c_in, c_out)
        if problem:
            return verdict(False, "", problem)
        x = torch.randn(2, c_in, size, size, generator=generator)
        ok, y = attempt(block.train(), x)
        if not ok:
            return verdict(False, "", y)
        want = (2, c_out, size // 2, size // 2)
        if not isinstance(y, torch.Tensor) or tuple(y.shape) != want:
            shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
            return verdict(False, "", f"a (2, {c_in}, {size}, {size}) input should give {want}, got {shape}. "
                           "Hint: padding=1 keeps the size through the 3x3 conv; nn.MaxPool2d(2) halves it")
        if (y < 0).any():
            return verdict(False, "", "the output has negative values: put nn.ReLU() after the batch norm")
        y.sum().backward()
        if next(m for m in block.modules() if isinstance(m, nn.Conv2d)).weight.grad is None:
            return verdict(False, "", "no gradient reached the convolution's weights; do not detach or freeze them")
    return verdict(True, "your block keeps c_out channels, halves height and width, and trains: conv, BN, ReLU, "
                   "pool", "")


def check_pool_and_normalise(embed_maps: Callable[[torch.Tensor], torch.Tensor]) -> bool:
    """02, exercise 2: ``embed_maps(maps)`` turns feature maps (N, C, H, W) into unit vectors (N, C).

    Global average pooling over height and width, then L2 normalisation. An all-zero map (ReLU can switch every
    unit off) must give a zero vector, not NaN: NaN embeddings break every search.
    """
    generator = torch.Generator().manual_seed(0)
    scales = torch.tensor([1.0, 10.0, 0.1, 3.0]).view(4, 1, 1, 1)  # very different lengths before normalising
    maps = torch.relu(torch.randn(4, 6, 5, 3, generator=generator)) * scales
    maps[3] = 0  # a photo that switched every unit off
    want = torch.nn.functional.normalize(maps.mean(dim=(2, 3)), dim=1)
    ok, got = attempt(embed_maps, maps.clone())
    if not ok:
        return verdict(False, "", got)
    if not isinstance(got, torch.Tensor) or tuple(got.shape) != (4, 6):
        shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
        return verdict(False, "", f"maps of shape (4, 6, 5, 3) should give (4, 6), got {shape}. Hint: average over "
                       "the two spatial dimensions, maps.mean(dim=(2, 3))")
    if not torch.isfinite(got).all():
        return verdict(False, "", "your vectors contain NaN or inf: an all-zero map divided by its zero norm. Clamp "
                       "the norm (x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)) or use F.normalize")
    maxed = torch.nn.functional.normalize(maps.amax(dim=(2, 3)), dim=1)
    if torch.allclose(got, maxed, atol=1e-5) and not torch.allclose(got, want, atol=1e-5):
        return verdict(False, "", "that is global MAX pooling; this exercise asks for the average (mean)")
    if not torch.allclose(got, want, atol=1e-5):
        norms = got.norm(dim=1)[:3].tolist()
        return verdict(False, "", f"the vectors differ from the reference; the lengths of your first three are "
                       f"{[round(n, 3) for n in norms]} (should be 1). Pool with the mean, then divide each row by "
                       "its L2 norm")
    return verdict(True, "average pooling, then unit length; the all-zero map stays a finite (zero) vector", "")
