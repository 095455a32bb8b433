"""Paths, cache directory, FAST mode and seeding: the settings every notebook shares."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
BUILD_DIR = ROOT / "build"


def cache_dir() -> Path:
    """Directory for generated data and trained models (``MMLAB_CACHE`` overrides ``<repo>/.cache``)."""
    path = Path(os.environ.get("MMLAB_CACHE", ROOT / ".cache"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and (if imported) PyTorch so a run is repeatable."""
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}; pass e.g. SEED=0")
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch
    except ImportError:
        return
    torch.manual_seed(seed)


def device() -> "torch.device":
    """Where to train: the first CUDA GPU if PyTorch sees one (``MMLAB_DEVICE`` overrides), else the CPU."""
    import torch

    return torch.device(os.environ.get("MMLAB_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu"))
