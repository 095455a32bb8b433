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
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from mmlab.data.byo.checks import check_products, check_queries, check_reviews
from mmlab.data.byo.files import ByoError, fail_where, read_rows, read_table, require_columns
from mmlab.data.byo.tables import (EMPTY_EVENTS, EMPTY_USERS, derive_queries, empty_table, given_queries, query_tables,
                                  reviews_table, skus_table, types_table, with_photo_queries)
from mmlab.data.catalog import CATALOG_ENV, Catalog

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
              f"{notebook_needs}. Notebooks 02, 03, 06, 07, 08, 09, 10 and 11 run on your own catalog "
              "(data/README.md).")


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
    products, products_file = read_table(folder, "products", required=True)
    prices = check_products(products, products_file, folder)
    known = set(products.product_id)
    reviews, reviews_file = read_table(folder, "reviews")
    if reviews is not None:
        check_reviews(reviews, reviews_file, known, products_file)
    given, queries_file = read_table(folder, "queries")
    if given is not None:
        check_queries(given, queries_file, known, products_file, folder)
    categories = sorted(set(products.category))
    skus = skus_table(products, prices, {c: i for i, c in enumerate(categories)}, folder)
    rng = np.random.default_rng(seed)
    made = derive_queries(skus, rng) if given is None else \
        with_photo_queries(given_queries(given, skus, folder), skus, rng, queries_file)
    queries, qrels = query_tables(made, skus, rng)
    return Catalog(types_table(categories), skus, reviews_table(reviews), empty_table(EMPTY_USERS),
                   empty_table(EMPTY_EVENTS), queries, qrels, fast=fast, seed=seed, folder=folder)


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
    require_columns(source, csv_path.name, list(fields.values()))
    images = pd.Series([csv_path.parent / p for p in source[image_column]], index=source.index)
    fail_where(~images.map(Path.is_file), source, csv_path.name, image_column, "image file {value!r} not found",
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
