"""The same seed trains the same weights whatever the machine's thread settings.

The learned speech recogniser is the model whose small numeric differences spread furthest (its voice vectors feed
the fusion, loss, space and capstone notebooks), so it is trained here from scratch twice, in fresh processes with
different thread settings, and the weights must be identical bit for bit.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mmlab.config import NUMERICS_CLASSES, cache_dir, numerics_class
from mmlab.data.catalog import load_catalog

TRAIN_AND_HASH = """
import hashlib, json, sys
import torch
from mmlab.data.catalog import load_catalog
from mmlab.encoders import speech_ctc

torch.set_num_threads(int(sys.argv[1]))
recogniser, summary = speech_ctc.trained_recogniser(load_catalog(fast=True, seed=0), seed=0, progress=False)
weights = b"".join(v.numpy().tobytes() for v in recogniser.model.state_dict().values())
print(json.dumps({"sha256": hashlib.sha256(weights).hexdigest(), "val_per": summary["val_per"],
                  "from_cache": summary["from_cache"], "threads": torch.get_num_threads()}))
"""


def _fresh_cache(root: Path) -> Path:
    """A cache folder holding only the FAST catalog (no trained models, no synthesised speech)."""
    load_catalog(fast=True, seed=0)
    shutil.copytree(cache_dir() / "catalog", root / "catalog")
    return root


def test_recogniser_weights_do_not_depend_on_thread_settings(tmp_path: Path) -> None:
    settings = {"two torch threads": ("2", {}),
                "one OpenMP/MKL thread, three torch threads": ("3", {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})}
    runs = {}
    for name, (threads, extra_env) in settings.items():
        env = os.environ | extra_env | {"MMLAB_CACHE": str(_fresh_cache(tmp_path / name.replace(" ", "_")))}
        runs[name] = subprocess.Popen([sys.executable, "-c", TRAIN_AND_HASH, threads], env=env, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    results = {}
    for name, process in runs.items():
        out, err = process.communicate(timeout=600)
        if process.returncode:
            pytest.fail(f"training with {name} failed:\n{err[-3000:]}")
        results[name] = json.loads(out.strip().splitlines()[-1])
    first, second = results.values()
    assert not first["from_cache"] and not second["from_cache"], "both runs must train from scratch"
    assert first["threads"] != second["threads"]
    assert first["val_per"] == second["val_per"]
    assert first["sha256"] == second["sha256"], f"weights differ between thread settings: {results}"


@pytest.mark.parametrize("flags, expected", [
    ("fpu sse2 avx avx2 fma avx512f avx512dq avx512cd avx512bw avx512vl", "avx512"),
    ("fpu sse2 avx avx2 fma", "avx2"),
    ("fpu sse2 avx avx2 fma avx512f", "avx2"),  # AVX-512 foundation only: PyTorch stays on AVX2 there too
])
def test_numerics_class_follows_the_cpu_flags(tmp_path: Path, flags: str, expected: str) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
    assert numerics_class(cpuinfo) == expected


def test_numerics_class_without_cpuinfo_is_avx2(tmp_path: Path) -> None:
    assert numerics_class(tmp_path / "missing") == "avx2"


def test_importing_mmlab_pins_the_numerics_and_respects_the_environment() -> None:
    probe = "import os, mmlab; print(os.environ['MKL_CBWR'], os.environ['ONEDNN_MAX_CPU_ISA'])"
    env = {k: v for k, v in os.environ.items() if k not in NUMERICS_CLASSES["avx2"]}
    pinned = subprocess.run([sys.executable, "-c", probe], env=env, text=True, capture_output=True, check=True)
    assert pinned.stdout.split() == list(NUMERICS_CLASSES[numerics_class()].values())
    chosen = subprocess.run([sys.executable, "-c", probe], env=env | {"MKL_CBWR": "AVX2"}, text=True,
                            capture_output=True, check=True)
    assert chosen.stdout.split()[0] == "AVX2"
