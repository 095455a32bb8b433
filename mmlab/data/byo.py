"""Your own catalog: load a folder of products and photos into the same :class:`Catalog` as MiniMart.

The folder format is documented in ``data/README.md``. In short::

    my_shop/
        products.csv   product_id, title, category, image (+ optional description, colour, price, title_zh)
        images/...     the PNG or JPEG files named in the image column (paths relative to the folder)
        reviews.csv    optional: product_id, rating (1-5), text
        queries.csv    optional: query_id, text, relevant ("id1|id2"), lang (en/zh), audio (16 kHz mono WAV)

:func:`load_byo` checks everything and raises a :class:`ByoError` naming the file, row and field of the first
problem, how many rows share it, and how to fix it. Without ``queries.csv`` the typed queries are derived from
the categories and colours; photo queries are always derived from the photos (see :func:`derive_queries`).
Command line::

    python -m mmlab.data.byo check my_shop
    python -m mmlab.data.byo convert styles.csv --image file --title name --category type --out my_shop
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import shutil
import sys
import warnings
from collections.abc import Callable
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
from PIL import Image

from mmlab.data.catalog import CATALOG_ENV, Catalog
from mmlab.data.images import COLOUR_ZH
from mmlab.data.queries import assign_splits
from mmlab.data.speech import SAMPLE_RATE

# Columns of each file: required ones first, then optional ones (empty when absent).
COLUMNS = {
    "products": (["product_id", "title", "category", "image"], ["description", "colour", "price", "title_zh"]),
    "reviews": (["product_id", "rating", "text"], []),
    "queries": (["query_id", "text", "relevant"], ["lang", "audio"]),
}
IMAGE_FORMATS = ("PNG", "JPEG")
UNKNOWN = -1.0  # price and hidden quality of a product whose value we do not know (the Catalog has no NaN)
MAX_PHOTO_QUERIES = 2000  # derived photo queries: one per product, or this many products picked at random
EMPTY_USERS = {"user_id": "str", "top_department": "str", "colour_pref": "str", "price_sensitivity": "float64",
               "is_bot": "bool"}
EMPTY_EVENTS = {"session_id": "str", "user_id": "str", "t": "int64", "event": "str", "sku_id": "str",
                "position": "int64", "query": "str"}
QUERY_DEFAULTS = {"query_id": "", "modality": "text", "lang": "", "text": "", "split": "", "target_sku": "",
                  "type_id": -1, "attributes": "", "source_sku": "", "image_seed": -1, "hue_shift": 0.0,
                  "text_query_id": "", "has_typo": False, "voice": -1, "rate": 0, "pitch": 0, "noise": "",
                  "snr_db": 0, "audio_path": ""}


class ByoError(ValueError):
    """A problem in your own catalog; the message names the file, row and field, and the fix."""


# ---------------------------------------------------------------------------------------------------
# Reading files
# ---------------------------------------------------------------------------------------------------

def _where(file: str, row: int) -> str:
    """A row's position as a person looking at the file would find it."""
    if file.endswith(".jsonl"):
        return f"{file} line {row}"
    return f"{file} row {row} (data rows counted from 1 below the header; spreadsheet row {row + 1})"


def _fail_where(bad: pd.Series | list[bool], table: pd.DataFrame, file: str, field: str, problem: str, fix: str,
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


def _require_columns(table: pd.DataFrame, file: str, required: list[str]) -> None:
    """A ByoError naming the first required column the table lacks."""
    for column in required:
        if column not in table.columns:
            raise ByoError(f"{file}, header row: missing required column {column!r} (found: "
                           f"{', '.join(table.columns)}). Fix: add a column named exactly {column!r}")


def _with_columns(table: pd.DataFrame, file: str, required: list[str], optional: list[str]) -> pd.DataFrame:
    """The table with exactly the format's columns: required ones checked, absent optional ones empty."""
    _require_columns(table, file, required)
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


def _read(folder: Path, name: str, required: bool = False) -> tuple[pd.DataFrame | None, str]:
    """A file of the format, with its columns checked, and its file name (None and "" if absent)."""
    path = _find(folder, name, required)
    if path is None:
        return None, ""
    return _with_columns(read_rows(path), path.name, *COLUMNS[name]), path.name


# ---------------------------------------------------------------------------------------------------
# Checking values
# ---------------------------------------------------------------------------------------------------

def _number(text: str) -> float:
    """A finite number, or NaN if the text is not one."""
    try:
        value = float(text)
    except ValueError:
        return math.nan
    return value if math.isfinite(value) else math.nan


def image_problem(path: Path) -> str:
    """Why ``path`` is not a usable PNG or JPEG photo ('' if it is)."""
    try:
        with Image.open(path) as image:
            kind = image.format
            image.verify()
    except Exception as error:  # PIL raises many kinds of exception for damaged files
        return str(error) or type(error).__name__
    return "" if kind in IMAGE_FORMATS else f"it is a {kind} file"


def audio_problem(path: Path) -> str:
    """Why ``path`` is not a usable 16 kHz mono recording ('' if it is)."""
    try:
        info = sf.info(str(path))
    except (RuntimeError, OSError) as error:
        return f"cannot be read ({error})"
    if info.samplerate != SAMPLE_RATE or info.channels != 1:
        return f"it is {info.samplerate} Hz with {info.channels} channel(s), not {SAMPLE_RATE} Hz mono"
    return "" if info.frames > 0 else "it has no samples"


def _check_files(table: pd.DataFrame, file: str, field: str, folder: Path, problem_of: Callable[[Path], str],
                 kind: str, fix: str) -> None:
    """Every non-empty path in ``field`` names an existing file that ``problem_of`` finds no problem with."""
    given = table[field] != ""
    paths = pd.Series([folder / p for p in table[field]], index=table.index)
    _fail_where(given & ~paths.map(Path.is_file), table, file, field, "file {value!r} not found",
                f"put the file in {folder} at that path (relative to the folder, '/' between folders), "
                "or correct the path")
    why = pd.Series([problem_of(p) if g else "" for p, g in zip(paths, given)], index=table.index)
    _fail_where(why != "", table, file, field, "{value!r} is not a usable " + kind + ": {why}", fix, why=why)


def _check_products(products: pd.DataFrame, file: str, folder: Path) -> pd.Series:
    """Validate the products; return their prices (UNKNOWN where not given)."""
    for field in COLUMNS["products"][0]:
        _fail_where(products[field] == "", products, file, field, f"empty {field}",
                    f"give every product a {field} (it is required)")
    _fail_where(products.product_id.str.contains("|", regex=False), products, file, "product_id",
                "{value!r} contains '|'", "remove the '|': it separates product ids in queries.csv")
    _fail_where(products.product_id.duplicated(), products, file, "product_id",
                "{value!r} is also the product_id of an earlier row", "give every product its own product_id")
    prices = products.price.map(_number)
    _fail_where((products.price != "") & prices.isna(), products, file, "price", "{value!r} is not a number",
                "write a plain number such as 12.99 (no currency sign or thousands separator), or leave it empty")
    _fail_where(prices < 0, products, file, "price", "{value!r} is negative",
                "write a price of 0 or more, or leave it empty if unknown")
    _check_files(products, file, "image", folder, image_problem, "PNG or JPEG image",
                 "replace it with a good PNG or JPEG copy (re-download or re-export it), or remove the row")
    return prices.fillna(UNKNOWN)


def _check_reviews(reviews: pd.DataFrame, file: str, known: set[str], products_file: str) -> None:
    _fail_where(~reviews.product_id.isin(known), reviews, file, "product_id",
                f"{{value!r}} is not a product_id in {products_file}", "use a product_id from " + products_file)
    ratings = reviews.rating.map(_number)
    _fail_where(~ratings.isin(range(1, 6)), reviews, file, "rating", "{value!r} is not a whole number from 1 to 5",
                "write the star rating as 1, 2, 3, 4 or 5")
    _fail_where(reviews.text == "", reviews, file, "text", "empty review text",
                "write the review's text, or remove the row")


def _relevant_ids(text: str) -> list[str]:
    """The product ids in a ``relevant`` cell, in order, without repeats."""
    return list(dict.fromkeys(part.strip() for part in text.split("|") if part.strip()))


def _check_queries(queries: pd.DataFrame, file: str, known: set[str], products_file: str, folder: Path) -> None:
    for field in COLUMNS["queries"][0]:
        _fail_where(queries[field] == "", queries, file, field, f"empty {field}",
                    f"give every query a {field} (it is required)")
    _fail_where(queries.query_id.duplicated(), queries, file, "query_id",
                "{value!r} is also the query_id of an earlier row", "give every query its own query_id")
    _fail_where(~queries.lang.str.lower().isin(["", "en", "zh"]), queries, file, "lang",
                "{value!r} is not a language of the workbook", "write en (English) or zh (Chinese), or leave it empty")
    unknown = queries.relevant.map(lambda text: next((i for i in _relevant_ids(text) if i not in known), ""))
    _fail_where(unknown != "", queries, file, "relevant", "{value!r} names {unknown!r}, not a product_id in "
                + products_file, "list product_id values separated by '|', e.g. A1|A7", unknown=unknown)
    _check_files(queries, file, "audio", folder, audio_problem, "recording", "convert it to a 16 kHz mono WAV, "
                 "e.g. `ffmpeg -i in.m4a -ar 16000 -ac 1 out.wav`, or leave audio empty")


# ---------------------------------------------------------------------------------------------------
# Building the Catalog tables
# ---------------------------------------------------------------------------------------------------

def _types(categories: list[str]) -> pd.DataFrame:
    """One product type per category; the categories are the departments too; nothing is zero-shot."""
    blank = [""] * len(categories)
    return pd.DataFrame({
        "type_id": np.arange(len(categories), dtype="int64"), "code": blank, "emoji": blank, "short_name": blank,
        "name_en": categories, "keywords_en": blank, "name_zh": blank, "keywords_zh": blank, "subcategory": blank,
        "department": categories, "department_en": categories, "department_zh": blank,
        "zero_shot": np.zeros(len(categories), dtype=bool)})


def _skus(products: pd.DataFrame, prices: pd.Series, type_ids: dict[str, int], folder: Path) -> pd.DataFrame:
    """The MiniMart SKU columns (empty where a catalog has no such attribute) plus ``image_path``."""
    n = len(products)
    blank, colour = [""] * n, products.colour.str.lower().tolist()
    return pd.DataFrame({
        "sku_id": products.product_id.tolist(), "type_id": products.category.map(type_ids).to_numpy("int64"),
        "code": blank, "department": products.category.tolist(), "name_en": products.category.tolist(),
        "name_zh": blank, "colour": colour, "colour_zh": [COLOUR_ZH.get(c, "") for c in colour],
        "hue_shift": np.zeros(n), "brand": blank, "brand_zh": blank, "material": blank, "material_zh": blank,
        "size": blank, "size_zh": blank, "price": prices.to_numpy("float64"), "quality": np.full(n, UNKNOWN),
        "title_en": products.title.tolist(), "title_zh": products.title_zh.tolist(),
        "description_en": products.description.tolist(), "description_zh": blank,
        "image_path": [str((folder / p).resolve()) for p in products.image]})


def _reviews(reviews: pd.DataFrame | None) -> pd.DataFrame:
    """The reviews with MiniMart's columns; ``sentiment`` comes from the stars: (rating - 1) / 4."""
    reviews = reviews if reviews is not None else pd.DataFrame(columns=COLUMNS["reviews"][0], dtype="str")
    ratings = reviews.rating.astype("float64").astype("int64").to_numpy()
    return pd.DataFrame({
        "review_id": [f"R{i:06d}" for i in range(1, len(reviews) + 1)], "sku_id": reviews.product_id.tolist(),
        "rating": ratings, "text": reviews.text.tolist(), "sentiment": (ratings - 1) / 4,
        "noise": [""] * len(reviews)}).astype({"review_id": "str", "sku_id": "str", "text": "str", "noise": "str"})


def _empty(dtypes: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype=dtype) for column, dtype in dtypes.items()})


def _given_queries(queries: pd.DataFrame, skus: pd.DataFrame, folder: Path) -> list[tuple[dict, list[str]]]:
    """The queries of queries.csv with their grade-2 products; a query with an audio file is a voice query."""
    type_of = dict(zip(skus.sku_id, skus.type_id))
    made = []
    for q in queries.itertuples():
        best = _relevant_ids(q.relevant)
        made.append(({"query_id": q.query_id, "modality": "voice" if q.audio else "text",
                      "lang": q.lang.lower() or "en", "text": q.text, "target_sku": best[0],
                      "type_id": type_of[best[0]], "audio_path": str((folder / q.audio).resolve()) if q.audio else ""},
                     best))
    return made


def _text_query(text: str, attributes: str, matches: pd.DataFrame, rng: np.random.Generator) -> tuple[dict, list]:
    """A typed query whose grade-2 products are ``matches``; its target is one of them at random."""
    target = matches.iloc[rng.integers(len(matches))]
    return ({"modality": "text", "lang": "en", "text": text, "target_sku": target.sku_id,
             "type_id": int(target.type_id), "attributes": attributes}, matches.sku_id.tolist())


def derive_text_queries(skus: pd.DataFrame, rng: np.random.Generator) -> list[tuple[dict, list[str]]]:
    """Typed queries for a catalog without queries.csv, each with its grade-2 products.

    - per category ("mugs"): every product of the category is grade 2;
    - per category and colour ("red mugs"): grade 2 = that category and colour, 1 = the rest of the category.
    """
    made = []
    for _, group in skus.groupby("type_id", sort=True):
        category = group.name_en.iloc[0]
        made.append(_text_query(category.lower(), "", group, rng))
        for colour, same in group[group.colour != ""].groupby("colour", sort=True):
            made.append(_text_query(f"{colour} {category}".lower(), f"colour={colour}", same, rng))
    return made


def derive_photo_queries(skus: pd.DataFrame, rng: np.random.Generator) -> list[tuple[dict, list[str]]]:
    """Photo queries, derived for every catalog: a shopper's shot of one product's own photo (``shopper_photo``),
    grade 2 = that product, 1 = the rest of its category; one per product, or MAX_PHOTO_QUERIES products picked
    at random."""
    picked = np.sort(rng.choice(len(skus), min(len(skus), MAX_PHOTO_QUERIES), replace=False))
    return [({"modality": "image", "target_sku": sku.sku_id, "type_id": int(sku.type_id), "source_sku": sku.sku_id,
              "image_seed": int(rng.integers(2**31))}, [sku.sku_id]) for sku in skus.iloc[picked].itertuples()]


def numbered(made: list[tuple[dict, list[str]]], prefix: str) -> list[tuple[dict, list[str]]]:
    """Derived queries with ids ``prefix000001``, ``prefix000002``, ..."""
    return [({"query_id": f"{prefix}{i:06d}"} | row, best) for i, (row, best) in enumerate(made, 1)]


def derive_queries(skus: pd.DataFrame, rng: np.random.Generator) -> list[tuple[dict, list[str]]]:
    """Every query of a catalog without queries.csv: the typed ones, then the photo ones (ids Q000001, ...)."""
    return numbered(derive_text_queries(skus, rng) + derive_photo_queries(skus, rng), "Q")


def with_photo_queries(given: list[tuple[dict, list[str]]], skus: pd.DataFrame, rng: np.random.Generator,
                       file: str) -> list[tuple[dict, list[str]]]:
    """The queries of queries.csv plus derived photo queries (ids P000001, ...): queries.csv holds text and
    voice only, and the image encoder needs photo queries to learn from."""
    photos = numbered(derive_photo_queries(skus, rng), "P")
    clash = {row["query_id"] for row, _ in given} & {row["query_id"] for row, _ in photos}
    if clash:
        raise ByoError(f"{file}: query_id {sorted(clash)[0]!r} is also the id of a derived photo query "
                       f"({len(clash)} such ids). Fix: rename your queries so no id looks like P000001")
    return given + photos


def grade(best: pd.DataFrame, skus: pd.DataFrame) -> pd.DataFrame:
    """Graded relevance: 2 for each query's listed products (``best``: query_id, sku_id), 1 for the other
    products of their categories, 0 (not stored) for the rest."""
    ids = skus[["sku_id", "type_id"]]
    categories = best.merge(ids, on="sku_id")[["query_id", "type_id"]].drop_duplicates()
    candidates = categories.merge(ids, on="type_id")[["query_id", "sku_id"]]
    graded = candidates.merge(best.assign(grade=2), on=["query_id", "sku_id"], how="left")
    return graded.assign(grade=graded.grade.fillna(1).astype("int64"))


def _query_tables(made: list[tuple[dict, list[str]]], skus: pd.DataFrame,
                  rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The queries table (MiniMart's columns plus ``audio_path``; splits 70/15/15 at random) and the qrels."""
    queries = pd.DataFrame([QUERY_DEFAULTS | row for row, _ in made])[list(QUERY_DEFAULTS)]
    queries["split"] = assign_splits(queries, set(), rng)
    best = pd.DataFrame([(row["query_id"], s) for row, ids in made for s in ids], columns=["query_id", "sku_id"])
    return queries, grade(best, skus)


# ---------------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------------

# Parts of a catalog that some notebook sections need: what they are, and whether a catalog has them.
PARTS: dict[str, tuple[str, Callable[[Catalog], bool]]] = {
    "zero_shot": ("zero-shot product types (types held out of training)", lambda c: bool(c.types.zero_shot.any())),
    "zh": ("Chinese queries", lambda c: bool((c.queries.lang == "zh").any())),
    "voice": ("voice queries (recordings)", lambda c: bool((c.queries.modality == "voice").any())),
    "composed": ("composed queries (a photo plus a modifier)",
                 lambda c: bool((c.queries.modality == "composed").any())),
    "reviews": ("reviews", lambda c: len(c.reviews) > 0),
    "behaviour": ("shopping sessions (behaviour events)", lambda c: len(c.events) > 0),
}


def has(catalog: Catalog, part: str) -> bool:
    """Whether the catalog has a part of :data:`PARTS` (MiniMart has them all; your own catalog may not)."""
    if part not in PARTS:
        raise ValueError(f"unknown part {part!r}; choose one of {sorted(PARTS)}")
    return PARTS[part][1](catalog)


def needs(catalog: Catalog, part: str, section: str) -> bool:
    """True if the catalog has ``part``; otherwise print that ``section`` is skipped, and why, and return False."""
    if has(catalog, part):
        return True
    print(f"skipped: {section}. Your catalog has no {PARTS[part][0]}; MiniMart has them "
          "(see data/README.md for what your own catalog can hold).")
    return False


def minimart_only(notebook_needs: str) -> None:
    """In a notebook that always uses MiniMart: if ``MMLAB_CATALOG`` is set, say so and why (``notebook_needs``)."""
    folder = os.environ.get(CATALOG_ENV, "").strip()
    if folder:
        print(f"This notebook always uses MiniMart, not your catalog in {CATALOG_ENV}={folder}: it needs "
              f"{notebook_needs}. Notebooks 02, 03, 06, 07, 08, 09 and 10 run on your own catalog (data/README.md).")


def load_byo(folder: str | Path, seed: int = 0, fast: bool = False) -> Catalog:
    """Your own catalog from a folder in the format of ``data/README.md``, checked, as a :class:`Catalog`.

    ``seed`` fixes the random parts: the query splits (train/val/test 70/15/15), the derived photo queries'
    corruption and, without queries.csv, the derived typed queries' targets. ``fast`` marks the catalog for FAST
    mode (short training); the catalog is used whole either way. Raises :class:`ByoError` on the first problem
    found.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}; pass e.g. seed=0")
    if not isinstance(fast, bool):
        raise TypeError(f"fast must be True or False, got {fast!r}")
    folder = Path(folder).resolve()
    if not folder.is_dir():
        raise ByoError(f"{folder}: no such folder. Fix: pass the folder that holds products.csv")
    products, products_file = _read(folder, "products", required=True)
    prices = _check_products(products, products_file, folder)
    known = set(products.product_id)
    reviews, reviews_file = _read(folder, "reviews")
    if reviews is not None:
        _check_reviews(reviews, reviews_file, known, products_file)
    given, queries_file = _read(folder, "queries")
    if given is not None:
        _check_queries(given, queries_file, known, products_file, folder)
    categories = sorted(set(products.category))
    skus = _skus(products, prices, {c: i for i, c in enumerate(categories)}, folder)
    rng = np.random.default_rng(seed)
    made = derive_queries(skus, rng) if given is None else \
        with_photo_queries(_given_queries(given, skus, folder), skus, rng, queries_file)
    queries, qrels = _query_tables(made, skus, rng)
    return Catalog(_types(categories), skus, _reviews(reviews), _empty(EMPTY_USERS), _empty(EMPTY_EVENTS),
                   queries, qrels, fast=fast, seed=seed, folder=folder)


def _link_or_copy(source: Path, target: Path) -> None:
    """Hard-link ``source`` as ``target`` (no extra disk space), or copy it where a link is impossible."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def convert_csv(csv_path: str | Path, image_column: str, title_column: str, category_column: str,
                out_folder: str | Path, price_column: str | None = None, colour_column: str | None = None,
                id_column: str | None = None) -> Path:
    """Write a catalog folder (products.csv and images/) from any CSV of products with an image-file column.

    Image paths in the CSV are relative to the CSV's folder; each image is linked (or copied) to
    ``images/<row><ext>``. Without ``id_column`` the product ids are P000001, P000002, ... (the CSV's row
    numbers). ``out_folder`` must be new or empty. The result is checked with :func:`load_byo` before it is
    returned; if the check fails the folder is removed again and the error names the row of products.csv.
    """
    csv_path, out = Path(csv_path), Path(out_folder)
    if not csv_path.is_file():
        raise ByoError(f"{csv_path}: no such file. Fix: pass the path of your products CSV")
    if out.exists() and any(out.iterdir()):
        raise ByoError(f"{out} exists and is not empty. Fix: choose a new folder or empty this one")
    fields = {"product_id": id_column, "title": title_column, "category": category_column,
              "image": image_column, "price": price_column, "colour": colour_column}
    fields = {field: column for field, column in fields.items() if column}
    source = read_rows(csv_path)
    _require_columns(source, csv_path.name, list(fields.values()))
    images = pd.Series([csv_path.parent / p for p in source[image_column]], index=source.index)
    _fail_where(~images.map(Path.is_file), source, csv_path.name, image_column, "image file {value!r} not found",
                f"paths are relative to {csv_path.parent}: correct the path, download the file or remove the row")
    products = pd.DataFrame({field: source[column] for field, column in fields.items()})
    if id_column is None:
        products.insert(0, "product_id", [f"P{row:06d}" for row in source.index])
    products["image"] = [f"images/{row:06d}{path.suffix.lower()}" for row, path in images.items()]
    (out / "images").mkdir(parents=True, exist_ok=True)
    for path, name in zip(images, products.image):
        _link_or_copy(path, out / name)
    products.to_csv(out / "products.csv", index=False)
    try:
        load_byo(out)
    except ByoError as error:
        shutil.rmtree(out)
        raise ByoError(f"{error} [converting {csv_path.name}: products.csv has its rows in the same order, blank "
                       f"rows left out; fields came from its columns {fields}]") from None
    return out


def main(argv: list[str] | None = None) -> int:
    """``check FOLDER`` validates a catalog folder; ``convert CSV ...`` makes one. Returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m mmlab.data.byo", description="Your own product catalog.")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="validate a catalog folder and print its figures")
    check.add_argument("folder")
    check.add_argument("--seed", type=int, default=0)
    convert = commands.add_parser("convert", help="make a catalog folder from a CSV with an image-file column")
    convert.add_argument("csv")
    for option in ("image", "title", "category", "out"):
        convert.add_argument(f"--{option}", required=True)
    for option in ("price", "colour", "id"):
        convert.add_argument(f"--{option}")
    args = parser.parse_args(argv)
    try:
        if args.command == "convert":
            out = convert_csv(args.csv, args.image, args.title, args.category, args.out, args.price, args.colour,
                              args.id)
            print(f"wrote {out} (products.csv and images/); it passes the check")
            return 0
        catalog = load_byo(args.folder, args.seed)
    except ByoError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{catalog.folder}: OK")
    print(catalog.summary().to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
