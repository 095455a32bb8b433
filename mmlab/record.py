"""Record a notebook's key metrics so the regression runner (``python -m tools.run``) can check them.

Usage in the last cell of a notebook::

    recorder = Recorder("02_image_encoder", path=METRICS_PATH)
    recorder.record_all({"image": table, "best": slug(best), "exercises": {"passed": 2}})
    recorder.record("retrieval.recall@10", 0.62)  # one value, name and value kept exactly as given

``record_all`` flattens a nested structure into dotted metric names, one name level per nesting level:

- a mapping: one level per key;
- a pandas DataFrame: ``row.column`` (a MultiIndex row or column contributes one level per index level);
- a pandas Series: one level per index label;
- a number, string or bool (NumPy and PyTorch scalars included): the value.

Every key and label becomes one name level by :func:`slug` (``"SKU hit@10"`` -> ``"sku_hit10"``,
``"EfficientNet + head (trained)"`` -> ``"efficientnet_head_trained"``), and every float is rounded to
``DECIMALS`` decimal places. Two labels that give the same name, an empty name, a value that is not finite and a
type not listed above are errors: nothing is dropped or overwritten silently (leave out a table cell that was not
measured, e.g. with ``table.dropna()``; an empty mapping records nothing).

``METRICS_PATH`` is a notebook parameter: ``None`` when you run the notebook yourself (values are only
kept in ``recorder.metrics``), a JSON file path when the runner executes it. The file holds
``{"notebook": NAME, "metrics": {metric: value}}`` and is rewritten on every ``record`` or ``record_all`` call, so a
notebook that crashes half-way still leaves the metrics recorded so far.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterator, Mapping
from pathlib import Path

import pandas as pd

Value = float | int | str | bool

DECIMALS = 4  # record_all rounds every float to this many decimal places
_NAME = re.compile(r"^[\w.@/\-]+$")
_NOT_WORD = re.compile(r"\W+")
_AT_AFTER_WORD = re.compile(r"(?<=\w)@")


def slug(label: object) -> str:
    """One metric-name level from a display label: NFKC-normalised and lower-cased; ``@`` dropped after a letter or
    digit (``hit@10`` -> ``hit10``) and spelled ``at`` elsewhere (``same type @10`` -> ``same_type_at10``); ``%``
    spelled ``pct``; every run of other characters that are not letters, digits or ``_`` made one ``_``; and ``_``
    stripped at both ends: ``"NDCG@10 zero-shot"`` -> ``"ndcg10_zero_shot"``."""
    text = unicodedata.normalize("NFKC", str(label)).lower()
    text = _AT_AFTER_WORD.sub("", text).replace("@", "at").replace("%", "pct")
    name = _NOT_WORD.sub("_", text).strip("_")
    if not name:
        raise ValueError(f"label {label!r} gives an empty metric name: use a label with letters or digits")
    return name


class Recorder:
    """Collects one notebook's metrics and (if ``path`` is given) mirrors them into a JSON file."""

    def __init__(self, notebook: str, path: str | Path | None = None) -> None:
        self.notebook = notebook
        self.path = Path(path) if path is not None else None
        self.metrics: dict[str, Value] = {}

    def record(self, name: str, value: Value) -> None:
        """Store ``value`` under ``name`` (overwriting an earlier value of the same name)."""
        self.metrics[_check_name(name)] = _check_value(name, value)
        self._save()

    def record_all(self, metrics: Mapping) -> None:
        """Store every value of the nested ``metrics`` under its flattened name (see the module docstring) and
        print how many were recorded. Nothing is stored when any name or value is invalid."""
        if not isinstance(metrics, Mapping):
            raise TypeError(f"record_all takes a mapping of metrics, got {type(metrics).__name__}; "
                            "e.g. record_all({'image': table})")
        flat: dict[str, Value] = {}
        labels: dict[str, tuple] = {}
        for path, value in _flatten(metrics, ()):
            name = ".".join(slug(label) for label in path)
            if name in flat:
                raise ValueError(f"labels {labels[name]} and {path} both give the metric name {name!r}: rename one "
                                 "of them so that their slugs differ")
            value = _check_value(name, value)
            flat[name] = round(value, DECIMALS) if isinstance(value, float) else value
            labels[name] = path
        self.metrics.update(flat)
        self._save()
        print(f"recorded {len(flat)} metrics")

    def _save(self) -> None:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            payload = {"notebook": self.notebook, "metrics": self.metrics}
            self.path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _flatten(value: object, path: tuple) -> Iterator[tuple[tuple, object]]:
    """(labels, leaf value) for every leaf of a mapping, DataFrame or Series; a leaf is returned as it is."""
    if isinstance(value, pd.DataFrame):  # cell by cell: a row may mix ints and floats
        items = [((*_levels(row), *_levels(column)), value.iat[i, j])
                 for i, row in enumerate(value.index) for j, column in enumerate(value.columns)]
    elif isinstance(value, pd.Series):
        items = list(zip(value.index, value.to_numpy(dtype=object)))
    elif isinstance(value, Mapping):
        items = list(value.items())
    else:
        yield path, value
        return
    for key, item in items:  # a list, not a dict: repeated labels must reach the duplicate check
        yield from _flatten(item, path + _levels(key))


def _levels(label: object) -> tuple:
    """A MultiIndex label (a tuple) gives one name level per element, any other label one level."""
    return label if isinstance(label, tuple) else (label,)


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
                f"metric {name!r} is {value}: record finite numbers only; leave out what was not measured, and "
                "check for a division by zero or a diverged training run before recording"
            )
        return float(value)
    raise TypeError(f"metric {name!r} has type {type(value).__name__}; record a float, int, str or bool")
