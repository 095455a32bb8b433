"""Paths, cache directory, FAST mode, seeding and pinned numerics: the settings every notebook shares."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
BUILD_DIR = ROOT / "build"


def cache_dir() -> Path:
    """Directory for generated data and trained models (``MMLAB_CACHE`` overrides ``<repo>/.cache``)."""
    path = Path(os.environ.get("MMLAB_CACHE", ROOT / ".cache"))
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"the cache directory {path} is a file; point MMLAB_CACHE at a folder (or unset it "
                                 "to use <repo>/.cache)")
    path.mkdir(parents=True, exist_ok=True)
    return path


# The same instruction set on every x86 CPU: PyTorch's kernels (ATen), its matrix library (MKL, in conditional
# numerical reproducibility mode: the same sums for any thread count) and its convolutions (oneDNN) otherwise pick
# code paths by CPU (AVX-512 here, AVX2 on most laptops) and round differently. Set before PyTorch's first
# operation (``import mmlab`` does it); a value already in the environment wins. Cost on an AVX-512 CPU: large
# matrix products about 25 % slower, the workbook's small models about the same.
PINNED_NUMERICS = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2,STRICT", "ONEDNN_MAX_CPU_ISA": "AVX2"}
# Training runs on a fixed number of threads (``zoo.trained``): parallel reductions split their sums by thread
# count, so the same weights come out on a 2-core and an 8-core machine.
TRAINING_THREADS = 1


def pin_numerics() -> None:
    """Make PyTorch compute the same floating-point results on every x86 CPU (see ``PINNED_NUMERICS``)."""
    for name, value in PINNED_NUMERICS.items():
        os.environ.setdefault(name, value)


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


@contextmanager
def fixed_threads(count: int) -> Iterator[None]:
    """Run PyTorch and BLAS on exactly ``count`` CPU threads inside the block (restored afterwards)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        with threadpool_limits(count, user_api="blas"):
            yield
    finally:
        torch.set_num_threads(threads)


@contextmanager
def one_thread() -> Iterator[None]:
    """Run PyTorch and BLAS on a single CPU thread inside the block (settings are restored afterwards).

    Small models multiply small matrices; splitting each operation over cores costs more in synchronisation
    than it saves. Measured on 2 busy cores: training the FAST text encoders took 1-4 s on one thread and 8-33 s
    on two.
    """
    with fixed_threads(1):
        yield
