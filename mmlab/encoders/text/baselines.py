"""The baselines every text encoder is measured against: BM25 and random, and per-query latency."""

from __future__ import annotations

import time
from collections.abc import Callable

import bm25s
import numpy as np
import pandas as pd

from mmlab.config import one_thread
from mmlab.data.catalog import Catalog
from mmlab.encoders.text.encoding import sku_passages
from mmlab.preprocess import tokens

class BM25Index:
    """BM25 (``bm25s``) over the SKU texts, tokenised like every other baseline (``preprocess.tokens``)."""

    def __init__(self, catalog: Catalog) -> None:
        self.ids = catalog.skus.sku_id.to_numpy()
        texts, owners = sku_passages(catalog.skus)
        documents = pd.Series(texts).groupby(owners).agg(" ".join)  # one document per SKU, both languages
        self.bm25 = bm25s.BM25()
        self.bm25.index([tokens(t) for t in documents], show_progress=False)

    def scores(self, text: str) -> np.ndarray:
        """BM25 score of every SKU for ``text`` (all zero if no query word is in the index)."""
        known = [word for word in tokens(text) if word in self.bm25.vocab_dict]
        return self.bm25.get_scores(known) if known else np.zeros(len(self.ids), dtype=np.float32)

    def rank(self, texts: list[str], k: int) -> list[list[str]]:
        """Top-k SKU ids per text; ties keep catalog order."""
        if not 1 <= k <= len(self.ids):
            raise ValueError(f"k={k} must be between 1 and the number of SKUs ({len(self.ids)})")
        return [list(self.ids[np.argsort(-self.scores(t), kind="stable")[:k]]) for t in texts]


def bm25_rank(catalog: Catalog, texts: list[str], k: int = 10) -> list[list[str]]:
    """The lexical baseline: top-k SKU ids per text by BM25 (builds the index; keep a ``BM25Index`` to reuse)."""
    return BM25Index(catalog).rank(texts, k)


def random_ranker(catalog: Catalog, seed: int = 0) -> Callable[[list[str], int], list[list[str]]]:
    """The floor: a random order of the SKUs for every query."""
    rng = np.random.default_rng(seed)
    ids = catalog.skus.sku_id.to_numpy()
    return lambda texts, k: [list(rng.permutation(ids)[:k]) for _ in texts]


def query_latency_ms(rank: Callable[[list[str], int], list[list[str]]], texts: list[str], k: int = 10) -> float:
    """Mean milliseconds to answer one query (encode it and search the catalog), one query at a time on one CPU
    thread, as a search server answering one query per core would."""
    with one_thread():
        start = time.perf_counter()
        for text in texts:
            rank([text], k)
        return 1000 * (time.perf_counter() - start) / len(texts)
