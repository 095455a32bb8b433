"""Typed queries for the text encoders: splits, query sets (en, zh, typo, synonym), evaluation, augmentation."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from mmlab import augment
from mmlab.data.catalog import Catalog
from mmlab.data.queries import typo
from mmlab.metrics import ndcg_per_query
from mmlab.preprocess import normalize_text

def text_queries(catalog: Catalog, split: str) -> pd.DataFrame:
    """Typed queries of a split, with a ``synonym`` flag: an English query without a typo that does not name
    its product type (it uses one of the type's keywords instead, e.g. "torch" for a flashlight)."""
    queries = catalog.queries[(catalog.queries.modality == "text") & (catalog.queries.split == split)]
    if queries.empty:
        raise ValueError(f"no typed queries in split {split!r}; splits are {sorted(catalog.queries.split.unique())}")
    names = catalog.types.set_index("type_id").name_en.map(normalize_text)
    named = [names[t] in normalize_text(text) for t, text in zip(queries.type_id, queries.text)]
    return queries.assign(synonym=(queries.lang == "en") & ~queries.has_typo & ~np.array(named))


QUERY_SETS: dict[str, Callable[[pd.DataFrame], pd.Series]] = {
    "all": lambda q: q.lang.notna(),
    "en": lambda q: q.lang == "en",
    "zh": lambda q: q.lang == "zh",
    "typo": lambda q: q.has_typo,
    "synonym": lambda q: q.synonym,
}


def ranked_queries(catalog: Catalog, rank: Callable[[list[str], int], list[list[str]]], split: str = "test",
                   k: int = 10) -> pd.DataFrame:
    """The typed queries of a split, each with its top-k SKU ids from ``rank`` (``ranked``) and its ``ndcg``@k."""
    queries = text_queries(catalog, split)
    relevance = catalog.relevance(queries.query_id)
    ranked = rank(queries.text.tolist(), k)
    ndcg = ndcg_per_query(ranked, [relevance[q] for q in queries.query_id], k)
    return queries.assign(ranked=ranked, ndcg=ndcg)


def ndcg_by_query_set(catalog: Catalog, rank: Callable[[list[str], int], list[list[str]]],
                      split: str = "test", k: int = 10) -> dict[str, float]:
    """Mean NDCG@k of a ranker (texts, k -> ranked SKU ids per text) on each of the ``QUERY_SETS`` of a split."""
    scored = ranked_queries(catalog, rank, split, k)
    return {name: float(scored.ndcg[select(scored)].mean()) for name, select in QUERY_SETS.items()
            if select(scored).any()}


def augment_query(text: str, lang: str, synonyms: dict[str, list[str]], rng: np.random.Generator,
                  p_typo: float, p_synonym: float) -> str:
    """A training variant of a query: maybe a keyword instead of the product name (``synonyms``: {name:
    keywords}), maybe a typo (English)."""
    if synonyms:
        text = augment.synonym_swap(text, synonyms, rng, p=p_synonym)
    return typo(text, rng) if lang == "en" and rng.random() < p_typo else text
