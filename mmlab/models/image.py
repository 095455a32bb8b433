"""The models of notebook 02 · Image encoder: from pixels to visual search.

Written, explained and trained in notebooks/02_image_encoder.ipynb. Generated from that notebook's cells marked ``#@save``
(``python -m tools.saved_cells``): edit the notebook, not this file.
"""

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn


def resize(x: Tensor, size: int) -> Tensor:
    """Photos (N, 3, H, W) scaled to (N, 3, size, size), antialiased, so that shrinking does not alias."""
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return x.clamp(0, 1)  # a weighted mean of pixels in [0, 1], up to rounding


class Standardise(nn.Module):
    """(x - mean) / std per RGB channel; the statistics are buffers, so they are saved with the model."""

    def __init__(self, mean: Sequence[float] = (0.5, 0.5, 0.5), std: Sequence[float] = (0.25, 0.25, 0.25)) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))  # (1, 3, 1, 1)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))    # (1, 3, 1, 1)

    def set_stats(self, mean: Sequence[float], std: Sequence[float]) -> None:
        """Use new statistics (measured on the training photos with mmlab.preprocess.channel_stats)."""
        mean, std = np.asarray(mean, dtype=np.float32), np.asarray(std, dtype=np.float32)
        if mean.shape != (3,) or std.shape != (3,) or not (std > 0).all():
            raise ValueError(f"need one mean and one positive std per RGB channel, got {mean} and {std}")
        self.mean.copy_(torch.from_numpy(mean).view(1, 3, 1, 1))
        self.std.copy_(torch.from_numpy(std).view(1, 3, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std  # (N, 3, H, W): broadcast over the batch and the pixels


class ConvBlock(nn.Sequential):
    """3x3 convolution, batch norm, ReLU, 2x2 max pooling: (N, c_in, H, W) -> (N, c_out, H/2, W/2)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=False),  # (N, c_out, H, W); BN has its own bias
            nn.BatchNorm2d(c_out),                                         # γ (z - μ) / σ + β per channel
            nn.ReLU(inplace=True),                                         # max(0, ·)
            nn.MaxPool2d(2),                                               # (N, c_out, H/2, W/2)
        )


class SmallCNN(nn.Module):
    """Conv blocks (32 px -> 2 px), global average pooling, a linear projection to ``dim``, L2 normalisation."""

    def __init__(self, dim: int = 128, widths: Sequence[int] = (16, 32, 64, 128), size: int = 32) -> None:
        super().__init__()
        self.size = size
        self.standardise = Standardise()
        channels = [3, *widths]
        self.blocks = nn.Sequential(*[ConvBlock(a, b) for a, b in zip(channels[:-1], channels[1:])])
        self.project = nn.Linear(widths[-1], dim)

    def forward(self, x: Tensor) -> Tensor:
        assert x.ndim == 4 and x.shape[1] == 3, "photos must be (N, 3, H, W) with values in [0, 1]"
        x = self.standardise(resize(x, self.size))  # (N, 3, size, size)
        x = self.blocks(x)                           # (N, C, size/16, size/16), C = widths[-1]
        x = x.mean(dim=(2, 3))                       # (N, C): global average pooling
        return F.normalize(self.project(x), dim=1)   # (N, dim), unit length


class ProjectionHead(nn.Module):
    """A two-layer MLP from frozen backbone features to the ``dim``-dimensional search space, unit length."""

    def __init__(self, in_dim: int = 1280, dim: int = 128, hidden: int = 512) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, dim))

    def forward(self, features: Tensor) -> Tensor:
        assert features.ndim == 2 and features.shape[1] == self.mlp[0].in_features, \
            f"features must be (N, {self.mlp[0].in_features})"
        return F.normalize(self.mlp(features), dim=1)  # (N, in_dim) -> (N, hidden) -> (N, dim), unit length
