"""Record a notebook's key metrics so the regression runner (``python -m tools.run``) can check them.

Usage in the last cell of a notebook::

    recorder = Recorder("00_welcome", path=METRICS_PATH)
    recorder.record("env.python_ok", 1)
    recorder.record("retrieval.recall@10", 0.62)

``METRICS_PATH`` is a notebook parameter: ``None`` when you run the notebook yourself (values are only
kept in ``recorder.metrics``), a JSON file path when the runner executes it. The file holds
``{"notebook": NAME, "metrics": {metric: value}}`` and is rewritten on every ``record`` call, so a
notebook that crashes half-way still leaves the metrics recorded so far.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

Value = float | int | str | bool

_NAME = re.compile(r"^[\w.@/\-]+$")


class Recorder:
    """Collects one notebook's metrics and (if ``path`` is given) mirrors them into a JSON file."""

    def __init__(self, notebook: str, path: str | Path | None = None) -> None:
        self.notebook = notebook
        self.path = Path(path) if path is not None else None
        self.metrics: dict[str, Value] = {}

    def record(self, name: str, value: Value) -> None:
        """Store ``value`` under ``name`` (overwriting an earlier value of the same name)."""
        self.metrics[_check_name(name)] = _check_value(name, value)
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            payload = {"notebook": self.notebook, "metrics": self.metrics}
            self.path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"metric name {name!r} is invalid: use a non-empty string of letters, digits and . _ - @ / "
            "without spaces, e.g. 'retrieval.recall@10'"
        )
    return name


def _check_value(name: str, value: object) -> Value:
    if hasattr(value, "item") and not isinstance(value, (str, bool, int, float)):
        value = value.item()  # NumPy / PyTorch scalar -> Python number
    if isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(
                f"metric {name!r} is {value}: record finite numbers only; check for a division by zero "
                "or a diverged training run before recording"
            )
        return float(value)
    raise TypeError(f"metric {name!r} has type {type(value).__name__}; record a float, int, str or bool")
