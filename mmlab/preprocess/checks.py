"""Checks and the removal bookkeeping shared by the preprocessing steps: every removed row keeps its reason."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd


def check_number(value: object, name: str, low: float, high: float = np.inf, whole: bool = False) -> None:
    """Raise a clear error unless ``value`` is a (whole) number from ``low`` to ``high``."""
    kind = "a whole number" if whole else "a number"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral if whole else numbers.Real):
        raise TypeError(f"{name} must be {kind}, got {value!r} ({type(value).__name__})")
    if not low <= value <= high:
        allowed = f"at least {low}" if high == np.inf else f"from {low} to {high}"
        raise ValueError(f"{name} must be {allowed}, got {value!r}")


def as_path(path: object, name: str) -> Path:
    if not isinstance(path, (str, Path)):
        raise TypeError(f"{name} must be a str or pathlib.Path, got {type(path).__name__}")
    return Path(path)


def split_removed(table: pd.DataFrame, reason: pd.Series, detail: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows with no reason are kept; the rest come back with their reason and detail."""
    removed = reason != ""
    return table[~removed], table[removed].assign(reason=reason[removed], detail=detail[removed])


def check_columns(table: object, name: str, columns: Sequence[str]) -> None:
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, got {type(table).__name__}")
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise ValueError(f"{name} is missing column(s) {missing}; it has {list(table.columns)}")


def cleaning_report(removed: pd.DataFrame) -> pd.DataFrame:
    """How many rows each reason removed (and how many distinct sessions and users, where those columns exist)."""
    check_columns(removed, "removed", ("reason",))
    ids = {"sessions": "session_id", "users": "user_id"}
    aggregations = {"rows": ("reason", "size")} | {
        name: (column, "nunique") for name, column in ids.items() if column in removed.columns}
    report = removed.groupby("reason").agg(**aggregations).reset_index()
    return report.sort_values(["rows", "reason"], ascending=[False, True], ignore_index=True)
