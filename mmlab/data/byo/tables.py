"""Building the Catalog tables from your own catalog's rows, and the queries derived from its products."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mmlab.data.byo.checks import relevant_ids
from mmlab.data.byo.files import COLUMNS, UNKNOWN, ByoError
from mmlab.data.images import COLOUR_ZH
from mmlab.data.queries import assign_splits

MAX_PHOTO_QUERIES = 2000  # derived photo queries: one per product, or this many products picked at random
EMPTY_USERS = {"user_id": "str", "top_department": "str", "colour_pref": "str", "price_sensitivity": "float64",
               "is_bot": "bool"}
EMPTY_EVENTS = {"session_id": "str", "user_id": "str", "t": "int64", "event": "str", "sku_id": "str",
                "position": "int64", "query": "str"}
QUERY_DEFAULTS = {"query_id": "", "modality": "text", "lang": "", "text": "", "split": "", "target_sku": "",
                  "type_id": -1, "attributes": "", "source_sku": "", "image_seed": -1, "hue_shift": 0.0,
                  "text_query_id": "", "has_typo": False, "voice": -1, "rate": 0, "pitch": 0, "noise": "",
                  "snr_db": 0, "audio_path": ""}


def types_table(categories: list[str]) -> pd.DataFrame:
    """One product type per category; the categories are the departments too; nothing is zero-shot."""
    blank = [""] * len(categories)
    return pd.DataFrame({
        "type_id": np.arange(len(categories), dtype="int64"), "code": blank, "emoji": blank, "short_name": blank,
        "name_en": categories, "keywords_en": blank, "name_zh": blank, "keywords_zh": blank, "subcategory": blank,
        "department": categories, "department_en": categories, "department_zh": blank,
        "zero_shot": np.zeros(len(categories), dtype=bool)})


def skus_table(products: pd.DataFrame, prices: pd.Series, type_ids: dict[str, int], folder: Path) -> pd.DataFrame:
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


def reviews_table(reviews: pd.DataFrame | None) -> pd.DataFrame:
    """The reviews with MiniMart's columns; ``sentiment`` comes from the stars: (rating - 1) / 4."""
    reviews = reviews if reviews is not None else pd.DataFrame(columns=COLUMNS["reviews"][0], dtype="str")
    ratings = reviews.rating.astype("float64").astype("int64").to_numpy()
    return pd.DataFrame({
        "review_id": [f"R{i:06d}" for i in range(1, len(reviews) + 1)], "sku_id": reviews.product_id.tolist(),
        "rating": ratings, "text": reviews.text.tolist(), "sentiment": (ratings - 1) / 4,
        "noise": [""] * len(reviews)}).astype({"review_id": "str", "sku_id": "str", "text": "str", "noise": "str"})


def empty_table(dtypes: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype=dtype) for column, dtype in dtypes.items()})


def given_queries(queries: pd.DataFrame, skus: pd.DataFrame, folder: Path) -> list[tuple[dict, list[str]]]:
    """The queries of queries.csv with their grade-2 products; a query with an audio file is a voice query."""
    type_of = dict(zip(skus.sku_id, skus.type_id))
    made = []
    for q in queries.itertuples():
        best = relevant_ids(q.relevant)
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


def query_tables(made: list[tuple[dict, list[str]]], skus: pd.DataFrame,
                  rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The queries table (MiniMart's columns plus ``audio_path``; splits 70/15/15 at random) and the qrels."""
    queries = pd.DataFrame([QUERY_DEFAULTS | row for row, _ in made])[list(QUERY_DEFAULTS)]
    queries["split"] = assign_splits(queries, set(), rng)
    best = pd.DataFrame([(row["query_id"], s) for row, ids in made for s in ids], columns=["query_id", "sku_id"])
    return queries, grade(best, skus)
