"""Reading your own catalog's files (CSV or JSON lines, UTF-8), with errors that name the file, row and field."""

from __future__ import annotations

import csv
import json
import warnings
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd



# Columns of each file: required ones first, then optional ones (empty when absent).
COLUMNS = {
    "products": (["product_id", "title", "category", "image"], ["description", "colour", "price", "title_zh"]),
    "reviews": (["product_id", "rating", "text"], []),
    "queries": (["query_id", "text", "relevant"], ["lang", "audio"]),
}
IMAGE_FORMATS = ("PNG", "JPEG")
UNKNOWN = -1.0  # price and hidden quality of a product whose value we do not know (the Catalog has no NaN)


class ByoError(ValueError):
    """A problem in your own catalog; the message names the file, row and field, and the fix."""


def _where(file: str, row: int) -> str:
    """A row's position as a person looking at the file would find it."""
    if file.endswith(".jsonl"):
        return f"{file} line {row}"
    return f"{file} row {row} (data rows counted from 1 below the header; spreadsheet row {row + 1})"


def fail_where(bad: pd.Series | list[bool], table: pd.DataFrame, file: str, field: str, problem: str, fix: str,
                **details: pd.Series) -> None:
    """Raise a ByoError about the first row where ``bad`` is true, saying how many rows are affected.

    ``problem`` may use ``{value}`` (the row's value of ``field``) and the names of ``details`` (Series like
    ``table`` giving more about each row).
    """
    rows = table.index[np.asarray(bad, dtype=bool)]
    if len(rows) == 0:
        return
    row = rows[0]
    text = problem.format(value=table.at[row, field], **{k: v[row] for k, v in details.items()})
    count = f" ({len(rows)} rows have this problem)" if len(rows) > 1 else ""
    raise ByoError(f"{_where(file, row)}, field {field!r}: {text}{count}. Fix: {fix}")


def _read_text(path: Path) -> str:
    """A file's text, or a ByoError naming the line of the first byte that is not UTF-8."""
    data = path.read_bytes().removeprefix(b"\xef\xbb\xbf")  # the byte-order mark Excel writes
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise ByoError(f"{path.name} line {line} (lines of the file counted from 1): byte "
                       f"{data[error.start]:#04x} is not UTF-8 text. Fix: save the file as UTF-8 "
                       "(Excel: Save As 'CSV UTF-8'; LibreOffice: character set 'Unicode (UTF-8)')") from None


def _read_csv(text: str, file: str) -> pd.DataFrame:
    """A CSV with a header row; the index is the data row number (blank rows are counted, then skipped)."""
    try:
        header, *records = list(csv.reader(StringIO(text))) or [[]]
    except csv.Error as error:
        raise ByoError(f"{file}: not a valid CSV file ({error}). Fix: re-save it as CSV from a spreadsheet") from None
    header = [name.strip() for name in header]
    twice = sorted({name for name in header if header.count(name) > 1})
    if twice:
        raise ByoError(f"{file}, header row: column(s) {twice} appear more than once. Fix: keep one of each")
    rows = {}
    for number, record in enumerate(records, 1):
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(header):
            raise ByoError(f"{_where(file, number)}: {len(record)} values, but the header has {len(header)} "
                           'columns. Fix: put double quotes around any value that contains a comma, e.g. "Mug, blue"')
        rows[number] = record
    return pd.DataFrame.from_dict(rows, orient="index", columns=header, dtype="str")


def _read_jsonl(text: str, file: str) -> pd.DataFrame:
    """One JSON object per line; the index is the line number (blank lines are counted, then skipped)."""
    records = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ByoError(f"{file} line {number}: not valid JSON ({error.msg}). "
                           'Fix: write one JSON object per line, e.g. {"product_id": "A1", "title": "..."}') from None
        if not isinstance(record, dict):
            raise ByoError(f"{file} line {number}: a JSON {type(record).__name__}, not an object. "
                           'Fix: write one object per line, e.g. {"product_id": "A1", "title": "..."}')
        records[number] = {key.strip(): "" if value is None else str(value) for key, value in record.items()}
    return pd.DataFrame.from_dict(records, orient="index", dtype="str").fillna("")


def read_rows(path: Path) -> pd.DataFrame:
    """A CSV or JSONL file as a table of stripped strings, indexed by row number (JSONL: line number)."""
    read = _read_jsonl if path.suffix == ".jsonl" else _read_csv
    table = read(_read_text(path), path.name)
    if table.empty:
        raise ByoError(f"{path.name} has no data rows. Fix: add rows, or delete the file if it is optional")
    return table.apply(lambda column: column.str.strip())


def require_columns(table: pd.DataFrame, file: str, required: list[str]) -> None:
    """A ByoError naming the first required column the table lacks."""
    for column in required:
        if column not in table.columns:
            raise ByoError(f"{file}, header row: missing required column {column!r} (found: "
                           f"{', '.join(table.columns)}). Fix: add a column named exactly {column!r}")


def _with_columns(table: pd.DataFrame, file: str, required: list[str], optional: list[str]) -> pd.DataFrame:
    """The table with exactly the format's columns: required ones checked, absent optional ones empty."""
    require_columns(table, file, required)
    ignored = [c for c in table.columns if c not in required + optional]
    if ignored:
        warnings.warn(f"{file}: ignoring columns {ignored}; the format reads only {required + optional}",
                      stacklevel=3)
    return table.reindex(columns=required + optional, fill_value="")


def _find(folder: Path, name: str, required: bool) -> Path | None:
    """``name``.csv or ``name``.jsonl in the folder (None if optional and absent)."""
    found = [folder / f"{name}{ext}" for ext in (".csv", ".jsonl") if (folder / f"{name}{ext}").is_file()]
    if len(found) == 2:
        raise ByoError(f"{folder} has both {name}.csv and {name}.jsonl. Fix: keep only one of them")
    if not found and required:
        raise ByoError(f"{folder} has no {name}.csv or {name}.jsonl. Fix: create {name}.csv with the columns "
                       f"{', '.join(COLUMNS[name][0])} (see data/README.md)")
    return found[0] if found else None


def read_table(folder: Path, name: str, required: bool = False) -> tuple[pd.DataFrame | None, str]:
    """A file of the format, with its columns checked, and its file name (None and "" if absent)."""
    path = _find(folder, name, required)
    if path is None:
        return None, ""
    return _with_columns(read_rows(path), path.name, *COLUMNS[name]), path.name
