"""Checking your own catalog's values: products, photos, reviews, queries and recordings."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import soundfile as sf
from PIL import Image

from mmlab.data.byo.files import COLUMNS, IMAGE_FORMATS, UNKNOWN, fail_where
from mmlab.data.speech import SAMPLE_RATE

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
    fail_where(given & ~paths.map(Path.is_file), table, file, field, "file {value!r} not found",
                f"put the file in {folder} at that path (relative to the folder, '/' between folders), "
                "or correct the path")
    why = pd.Series([problem_of(p) if g else "" for p, g in zip(paths, given)], index=table.index)
    fail_where(why != "", table, file, field, "{value!r} is not a usable " + kind + ": {why}", fix, why=why)


def check_products(products: pd.DataFrame, file: str, folder: Path) -> pd.Series:
    """Validate the products; return their prices (UNKNOWN where not given)."""
    for field in COLUMNS["products"][0]:
        fail_where(products[field] == "", products, file, field, f"empty {field}",
                    f"give every product a {field} (it is required)")
    fail_where(products.product_id.str.contains("|", regex=False), products, file, "product_id",
                "{value!r} contains '|'", "remove the '|': it separates product ids in queries.csv")
    fail_where(products.product_id.duplicated(), products, file, "product_id",
                "{value!r} is also the product_id of an earlier row", "give every product its own product_id")
    prices = products.price.map(_number)
    fail_where((products.price != "") & prices.isna(), products, file, "price", "{value!r} is not a number",
                "write a plain number such as 12.99 (no currency sign or thousands separator), or leave it empty")
    fail_where(prices < 0, products, file, "price", "{value!r} is negative",
                "write a price of 0 or more, or leave it empty if unknown")
    _check_files(products, file, "image", folder, image_problem, "PNG or JPEG image",
                 "replace it with a good PNG or JPEG copy (re-download or re-export it), or remove the row")
    return prices.fillna(UNKNOWN)


def check_reviews(reviews: pd.DataFrame, file: str, known: set[str], products_file: str) -> None:
    fail_where(~reviews.product_id.isin(known), reviews, file, "product_id",
                f"{{value!r}} is not a product_id in {products_file}", "use a product_id from " + products_file)
    ratings = reviews.rating.map(_number)
    fail_where(~ratings.isin(range(1, 6)), reviews, file, "rating", "{value!r} is not a whole number from 1 to 5",
                "write the star rating as 1, 2, 3, 4 or 5")
    fail_where(reviews.text == "", reviews, file, "text", "empty review text",
                "write the review's text, or remove the row")


def relevant_ids(text: str) -> list[str]:
    """The product ids in a ``relevant`` cell, in order, without repeats."""
    return list(dict.fromkeys(part.strip() for part in text.split("|") if part.strip()))


def check_queries(queries: pd.DataFrame, file: str, known: set[str], products_file: str, folder: Path) -> None:
    for field in COLUMNS["queries"][0]:
        fail_where(queries[field] == "", queries, file, field, f"empty {field}",
                    f"give every query a {field} (it is required)")
    fail_where(queries.query_id.duplicated(), queries, file, "query_id",
                "{value!r} is also the query_id of an earlier row", "give every query its own query_id")
    fail_where(~queries.lang.str.lower().isin(["", "en", "zh"]), queries, file, "lang",
                "{value!r} is not a language of the workbook", "write en (English) or zh (Chinese), or leave it empty")
    unknown = queries.relevant.map(lambda text: next((i for i in relevant_ids(text) if i not in known), ""))
    fail_where(unknown != "", queries, file, "relevant", "{value!r} names {unknown!r}, not a product_id in "
                + products_file, "list product_id values separated by '|', e.g. A1|A7", unknown=unknown)
    _check_files(queries, file, "audio", folder, audio_problem, "recording", "convert it to a 16 kHz mono WAV, "
                 "e.g. `ffmpeg -i in.m4a -ar 16000 -ac 1 out.wav`, or leave audio empty")
