"""Trained models, cached: load if a matching checkpoint exists, else train (deterministically) and save.

A checkpoint is keyed by the model's name, its configuration (a JSON-able dict) and the data version (e.g.
``catalog.fingerprint()``), so changing any of them trains a fresh model. Weights are saved with ``torch.save``
of a plain ``state_dict`` and loaded with ``weights_only=True`` (no arbitrary unpickling); a JSON sidecar holds
the sha256 of the weights file and the training summary. A checkpoint whose checksum does not match is retrained.
"""

from __future__ import annotations

import ast
import dis
import hashlib
import inspect
import json
import textwrap
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from mmlab.config import TRAINING_THREADS, cache_dir, fixed_threads, seed_everything

ZOO_VERSION = 1  # bump when the checkpoint format changes


def _function_key(function: types.FunctionType) -> str:
    """What a function does, without where it was written: the syntax tree of its source, docstrings dropped.

    A class defined in a notebook cell and the same text in an mmlab module give the same key (their bytecode
    differs: CPython compiles a call on an imported module differently when the import is in the same file)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):  # no source (built on the fly): fall back to the bytecode
        return repr((function.__code__.co_code, function.__code__.co_consts, function.__code__.co_names))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


def _members(obj: type | Callable) -> list[tuple[str, Any]]:
    """``(name, member)`` of a class and of its own base classes (PyTorch's left out), or of one function."""
    if not isinstance(obj, type):
        return [(obj.__qualname__, obj)]
    owners = [obj, *(c for c in obj.__mro__[1:] if c is not object and not c.__module__.startswith("torch"))]
    return [(f"{owner.__qualname__}.{name}", member) for owner in owners for name, member in vars(owner).items()]


def _functions(obj: type | Callable) -> list[types.FunctionType]:
    members = [getattr(m, "fget", None) or getattr(m, "__func__", m) for _, m in _members(obj)]
    return [m for m in members if isinstance(m, types.FunctionType)]


def code_closure(*objects: type | Callable) -> list[type | Callable]:
    """``objects`` and every class or function of their own module that their code names, transitively (a model's
    blocks and helpers: ``SpeechCTC`` -> ``ConvBlock`` -> ``valid_mask``), ordered by name: the same list for the
    classes written in a notebook and for their copy in ``mmlab.models``."""
    found: dict[str, type | Callable] = {}
    todo = list(objects)
    while todo:
        obj = todo.pop()
        if obj.__qualname__ in found:
            continue
        found[obj.__qualname__] = obj
        for function in _functions(obj):
            codes = [function.__code__]
            while codes:
                code = codes.pop()
                codes += [c for c in code.co_consts if isinstance(c, types.CodeType)]  # comprehensions, lambdas
                for instruction in dis.get_instructions(code):
                    named = function.__globals__.get(instruction.argval) \
                        if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME") else None
                    if isinstance(named, (type, types.FunctionType)) and named.__module__ == obj.__module__:
                        todo.append(named)
    return [found[name] for name in sorted(found)]


def code_fingerprint(*objects: type | Callable) -> str:
    """A short hash of the code of classes and functions and of everything of their module they use
    (``code_closure``): part of a checkpoint key, so an edited model retrains and an unchanged one loads."""
    parts = []
    for obj in code_closure(*objects):
        for name, member in sorted(_members(obj), key=lambda item: item[0]):
            function = getattr(member, "fget", None) or getattr(member, "__func__", member)
            if isinstance(function, types.FunctionType):
                parts.append((name, _function_key(function), repr(function.__defaults__)))
            elif not name.rsplit(".", 1)[-1].startswith("__") and isinstance(member, (int, float, str, tuple, bool)):
                parts.append((name, repr(member)))
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


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
    on the machine's core count. Returns ``(model, summary)``: ``train``'s summary (see :func:`mmlab.train.summary`)
    plus ``seconds``, the wall-clock time training took, and ``from_cache``, whether training was skipped.
    """
    weights, sidecar = _paths(name, model_key(name, config, data_version), folder)
    seed_everything(seed)
    model = build()
    summary = _load(model, weights, sidecar)
    if summary is not None:
        model.eval()
        return model, summary | {"from_cache": True}
    with fixed_threads(threads):
        start = time.perf_counter()
        summary = train(model) | {"seconds": round(time.perf_counter() - start, 2)}  # every model's one timing
    model.eval()
    weights.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), weights)
    sidecar.write_text(json.dumps({"name": name, "config": config, "data": data_version,
                                   "sha256": _sha256(weights), "summary": summary}, indent=1, default=str))
    return model, summary | {"from_cache": False}
