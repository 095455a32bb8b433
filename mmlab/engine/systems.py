"""The engine and its named baselines as scorecard systems (:mod:`mmlab.capstone`).

The engine is served through its own doors, from the raw inputs a shopper sends. The baselines are the upstream
models of notebooks 02-05 and the classic ones: BM25, the BM25 + dense hybrid (reciprocal rank fusion), the text
space (notebook 03's encoder; voice through notebook 05's transcripts), the photo space (the trained EfficientNet
head of notebook 02, a composed query by its photo alone), the frozen EfficientNet and the small CNN, the upstream
spaces routed per kind, random, and, as a reference, the same spoken queries typed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from torch import Tensor

from mmlab.capstone import KINDS, System
from mmlab.data.catalog import Catalog
from mmlab.encoders import image, text, voice
from mmlab.engine.inputs import raw_query
from mmlab.engine.search import SearchEngine
from mmlab.engine.signals import ranked
from mmlab.engine.weights import KindSignals
from mmlab.hybrid import hybrid_ranker
from mmlab.retrieval import rank_ids

K = 10


def engine_system(engine: SearchEngine, name: str = "engine") -> System:
    """The engine answering each query through its door for the query's kind."""
    def rank(queries: pd.DataFrame) -> list[list[str]]:
        return [list(engine.search(row.modality, raw_query(engine.catalog, row), k=K).sku_id)
                for row in queries.itertuples()]

    return System(name, rank, KINDS)


def signal_system(name: str, signals: dict[str, KindSignals], weights: dict[str, dict[str, float]],
                  sku_ids: np.ndarray, untrained: Tensor | None = None) -> System:
    """The engine's ranking from signals collected once (:func:`~mmlab.engine.weights.query_signals`), weighted
    as given (with ``untrained``: BM25 alone where :mod:`mmlab.engine.cold` says so): an ablation row costs no
    encoding."""
    top = {kind: ranked(found.scores(weights.get(kind, {"index": 1.0}), untrained, kind), K).numpy()
           for kind, found in signals.items()}
    where = {q: (kind, row) for kind, found in signals.items() for row, q in enumerate(found.query_ids)}

    def rank(queries: pd.DataFrame) -> list[list[str]]:
        missing = sorted(set(queries.query_id) - set(where))
        if missing:
            raise KeyError(f"no signals collected for queries {missing[:5]}; collect them with query_signals")
        return [list(sku_ids[top[where[q][0]][where[q][1]]]) for q in queries.query_id]

    return System(name, rank, tuple(signals))


def typed_twins(engine: SearchEngine) -> System:
    """Reference: each spoken query's typed twin (the same words) through the engine's text door."""
    texts = engine.catalog.queries.set_index("query_id").text

    def rank(queries: pd.DataFrame) -> list[list[str]]:
        return [list(engine.search_text(texts[twin], k=K).sku_id) for twin in queries.text_query_id]

    return System("same queries typed", rank, ("voice",), reference=True)


def _by_kind(rankers: dict[str, Callable[[pd.DataFrame], list[list[str]]]]) -> Callable:
    """One ranker that hands each query to the ranker of its kind."""
    def rank(queries: pd.DataFrame) -> list[list[str]]:
        out: list[list[str]] = [[] for _ in range(len(queries))]
        for kind, ranker in rankers.items():
            rows = np.flatnonzero(queries.modality == kind)
            for row, ranked in zip(rows, ranker(queries.iloc[rows]) if len(rows) else []):
                out[row] = ranked
        return out

    return rank


def text_space(catalog: Catalog, model: text.TextEncoder, seed: int = 0) -> Callable[[pd.DataFrame], list[list[str]]]:
    """Typed queries by notebook 03's encoder, spoken ones by their transcript, against the products' texts."""
    typed, products = text.encoder_ranker(model, catalog), text.product_text_embeddings(model, catalog)

    def spoken(queries: pd.DataFrame) -> list[list[str]]:
        vectors = voice.embed_voice_queries(catalog, queries, fast=catalog.fast, seed=seed)
        return rank_ids(vectors, products, catalog.skus.sku_id.to_numpy(), K)

    return _by_kind({"text": lambda queries: typed(queries.text.tolist(), K), "voice": spoken})


def photo_space(catalog: Catalog, model: Any) -> Callable[[pd.DataFrame], list[list[str]]]:
    """Shopper photos (a composed query's photo, its modifier ignored) against the catalog photos, by ``model``."""
    products, ids = image.product_embeddings(model, catalog), catalog.skus.sku_id.to_numpy()
    return lambda queries: rank_ids(image.photo_embeddings(model, catalog, list(queries.query_id)), products, ids, K)


def frozen_space(catalog: Catalog) -> Callable[[pd.DataFrame], list[list[str]]]:
    """The frozen EfficientNet-Lite0's pooled features, no training at all."""
    backbone, ids = image.EfficientNetLite0(image.CONFIGS["efficientnet_head"].size), catalog.skus.sku_id.to_numpy()
    products = image.frozen_features(catalog, backbone).numpy()
    return lambda queries: rank_ids(image.frozen_features(catalog, backbone, list(queries.query_id)).numpy(),
                                    products, ids, K)


def random_order(catalog: Catalog, seed: int = 0) -> Callable[[pd.DataFrame], list[list[str]]]:
    ranker = text.random_ranker(catalog, seed)
    return lambda queries: ranker(queries.query_id.tolist(), K)


def baselines(catalog: Catalog, engine: SearchEngine, seed: int = 0) -> list[System]:
    """Every named baseline of the scorecard, plus the typed twins of the spoken queries (a reference)."""
    bm25 = text.BM25Index(catalog)
    text_model, _ = text.trained_text_encoder(catalog, kind=voice.TEXT_KIND, seed=seed, progress=False)
    hybrid = hybrid_ranker([bm25.rank, text.encoder_ranker(text_model, catalog)], depth=min(100, len(catalog.skus)))
    by_text = text_space(catalog, text_model, seed)
    head, _ = image.trained_image_encoder(catalog, kind="efficientnet_head", seed=seed, progress=False)
    cnn, _ = image.trained_image_encoder(catalog, kind="cnn", seed=seed, progress=False)
    by_photo = photo_space(catalog, head)
    return [System("BM25", lambda q: bm25.rank(q.text.tolist(), K), ("text",)),
            System("BM25 + text space (RRF)", lambda q: hybrid(q.text.tolist(), K), ("text",)),
            System("text space", by_text, ("text", "voice")),
            System("photo space (trained head)", by_photo, ("image", "composed")),
            System("frozen EfficientNet", frozen_space(catalog), ("image", "composed")),
            System("small CNN", photo_space(catalog, cnn), ("image", "composed")),
            System("upstream spaces, routed", _by_kind({"text": by_text, "voice": by_text, "image": by_photo,
                                                         "composed": by_photo}), KINDS),
            System("random", random_order(catalog, seed), KINDS),
            typed_twins(engine)]
