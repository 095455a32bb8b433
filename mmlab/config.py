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


# PyTorch's matrix library (MKL) and its convolutions (oneDNN) pick kernels by CPU model, and kernels round
# differently: the same seed trained other weights on two 2-core machines of the same kind. Pinned here to one code
# path per instruction-set class, so every AVX-512 CPU computes like every other AVX-512 CPU, and every AVX2 CPU
# (most laptops) like every other AVX2 CPU; MKL in strict reproducibility mode also sums the same way for any
# thread count. The two classes still differ from each other (pinning AVX-512 CPUs to AVX2 would make the
# workbook's small models 30-60 % slower there); the baseline tolerances cover that difference.
NUMERICS_CLASSES = {
    "avx512": {"MKL_CBWR": "AVX512,STRICT", "ONEDNN_MAX_CPU_ISA": "AVX512_CORE"},
    "avx2": {"MKL_CBWR": "AVX2,STRICT", "ONEDNN_MAX_CPU_ISA": "AVX2"},
}
AVX512_FLAGS = {"avx512f", "avx512dq", "avx512bw", "avx512vl"}  # what PyTorch's own AVX-512 kernels need
# Training runs on a fixed number of threads (``zoo.trained``): parallel reductions split their sums by thread
# count, so the same weights come out on a 2-core and an 8-core machine.
TRAINING_THREADS = 1


def numerics_class(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """"avx512" if the CPU has the AVX-512 instructions PyTorch uses, else "avx2" (also where it cannot tell)."""
    try:
        flags = next(line for line in cpuinfo.read_text().splitlines() if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return "avx2"
    return "avx512" if AVX512_FLAGS <= set(flags) else "avx2"


def pin_numerics() -> None:
    """Pin MKL's and oneDNN's code paths to this CPU's class (see ``NUMERICS_CLASSES``); must run before PyTorch's
    first operation (``import mmlab`` does it). A value already in the environment wins."""
    for name, value in NUMERICS_CLASSES[numerics_class()].items():
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
