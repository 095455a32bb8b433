"""Trained models, cached: load if a matching checkpoint exists, else train (deterministically) and save.

A checkpoint is keyed by the model's name, its configuration (a JSON-able dict) and the data version (e.g.
``catalog.fingerprint()``), so changing any of them trains a fresh model. Weights are saved with ``torch.save``
of a plain ``state_dict`` and loaded with ``weights_only=True`` (no arbitrary unpickling); a JSON sidecar holds
the sha256 of the weights file and the training summary. A checkpoint whose checksum does not match is retrained.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from mmlab.config import TRAINING_THREADS, cache_dir, fixed_threads, seed_everything

ZOO_VERSION = 1  # bump when the checkpoint format changes


def model_key(name: str, config: dict[str, Any], data_version: str) -> str:
    """A short, stable hash of everything that determines the trained weights."""
    payload = json.dumps({"name": name, "config": config, "data": data_version, "zoo": ZOO_VERSION},
                         sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _paths(name: str, key: str, folder: Path | None) -> tuple[Path, Path]:
    base = (folder or cache_dir() / "zoo") / f"{name}-{key}"
    return base.with_suffix(".pt"), base.with_suffix(".json")


def _load(model: torch.nn.Module, weights: Path, sidecar: Path) -> dict[str, Any] | None:
    """The saved summary if the checkpoint is intact (and the weights loaded into ``model``), else None."""
    if not (weights.exists() and sidecar.exists()):
        return None
    try:
        meta = json.loads(sidecar.read_text())
        if meta.get("sha256") != _sha256(weights):
            print(f"checkpoint {weights.name} does not match its checksum: retraining")
            return None
        summary = meta["summary"]
        model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    # ValueError: JSON or UTF-8 decoding; KeyError, AttributeError: a sidecar that is not our JSON object
    except (ValueError, KeyError, AttributeError, RuntimeError, OSError) as error:
        print(f"checkpoint {weights.name} is unreadable ({type(error).__name__}: {error}): retraining")
        return None
    return summary


def trained(name: str, config: dict[str, Any], data_version: str, build: Callable[[], torch.nn.Module],
            train: Callable[[torch.nn.Module], dict[str, Any]], seed: int = 0,
            folder: Path | None = None, threads: int = TRAINING_THREADS) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The model ``build()`` trained by ``train(model)`` (which returns a JSON-able summary), cached.

    Training runs on exactly ``threads`` CPU threads, whatever the caller's setting, so the weights do not depend
    on the machine's core count. Returns ``(model, summary)``; ``summary["from_cache"]`` tells whether training
    was skipped.
    """
    weights, sidecar = _paths(name, model_key(name, config, data_version), folder)
    seed_everything(seed)
    model = build()
    summary = _load(model, weights, sidecar)
    if summary is not None:
        model.eval()
        return model, summary | {"from_cache": True}
    with fixed_threads(threads):
        summary = train(model)
    model.eval()
    weights.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), weights)
    sidecar.write_text(json.dumps({"name": name, "config": config, "data": data_version,
                                   "sha256": _sha256(weights), "summary": summary}, indent=1, default=str))
    return model, summary | {"from_cache": False}
