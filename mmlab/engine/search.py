"""The capstone's search engine: the fused index and the specialised spaces, one entry point per kind of query.

A raw query becomes :class:`~mmlab.engine.signals.Evidence` (its vector in each dense space, its BM25 and modifier
scores), every product is scored by the weighted sum of the signals (in process, or over Milvus with
``backend="milvus"``), and the contribution columns of a results table add up to its score (see :mod:`mmlab.engine`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from PIL import Image
from torch import Tensor

from mmlab.data.catalog import Catalog
from mmlab.engine.cold import adapted_weights, untrained_products
from mmlab.engine.inputs import BACKENDS, Filters, check_lang, check_text, photo_tensor
from mmlab.engine.modifiers import matching_skus, parse_modifier
from mmlab.engine.signals import (SIGNALS, Evidence, ProductSpaces, bm25_signal, product_spaces, product_vectors,
                                  ranked, signals_of, stacked, stacked_query, weighted_score)
from mmlab.engine.weights import validation_weights
from mmlab.engine.upstream import Encoders, modality_parts, ratings, upstream_encoders
from mmlab.encoders import audio, image, text, voice
from mmlab.models.fusion import TowerConfig, TwoTower
from mmlab.retrieval import check_k
from mmlab.towerdata import QUERY_KINDS, Products, Queries, product_features, query_features
from mmlab.twotower import trained_tower
from mmlab.vectordb import ProductIndex
from mmlab.viz import image_grid

CANDIDATES = 100  # with Milvus: extra candidates per signal, re-scored here

class SearchEngine:
    """The fused index and the specialised spaces beside it, weighted per query kind, and a search entry point per
    kind."""

    def __init__(self, catalog: Catalog, model: TwoTower, products: Products, encoders: Encoders,
                 backend: str = "memory", milvus_uri: str | None = None, spaces: ProductSpaces | None = None) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; choose one of {BACKENDS}")
        self.catalog, self.model, self.encoders, self.backend = catalog, model.eval(), encoders, backend
        self.sku_ids = np.asarray(products.sku_ids)
        self.parts = modality_parts(model, products)  # (n, M, dim)
        self.index = self.parts.sum(dim=1)  # (n, dim): the fused unit product vectors (zero rows: nothing present)
        skus = catalog.skus.set_index("sku_id").loc[self.sku_ids]
        self.cards = pd.DataFrame({"sku_id": self.sku_ids, "title_en": skus.title_en.to_numpy(),
                                   "title_zh": skus.title_zh.to_numpy(), "department": skus.department.to_numpy(),
                                   "colour": skus.colour.to_numpy(), "brand": skus.brand.to_numpy(),
                                   "price": skus.price.to_numpy(),
                                   "rating": ratings(catalog).loc[self.sku_ids].round(1).to_numpy()})
        self.spaces = spaces  # the specialised spaces beside the fused index (None: the fused index alone)
        self.products = product_vectors(self.index, spaces)  # each dense signal's product vectors
        self.milvus = self._milvus_index(milvus_uri) if backend == "milvus" else None
        # how much each signal counts per kind; the fused index alone until weights are chosen on validation
        self.weights = {kind: {"index": 1.0} for kind in QUERY_KINDS}
        self.untrained = untrained_products(catalog, self.sku_ids)  # types without a training query
        self.lexical_fallback = spaces is not None  # BM25 alone for queries about them (mmlab.engine.cold)

    def _milvus_index(self, uri: str | None) -> ProductIndex:
        """The fused vectors and cards in a Milvus FLAT index, named by a digest of both (reused when present)."""
        vectors = stacked(self.products)
        digest = hashlib.sha256(vectors.numpy().tobytes())
        digest.update(pd.util.hash_pandas_object(self.cards, index=False).to_numpy().tobytes())
        name = f"mmlab_products_{digest.hexdigest()[:16]}"
        try:
            return ProductIndex.open(name, uri, dim=vectors.shape[1])
        except LookupError:
            return ProductIndex.create(name, vectors, self.cards, metric="dot", index_type="FLAT", uri=uri)

    @classmethod
    def from_zoo(cls, catalog: Catalog, products: Products | None = None, queries: Queries | None = None,
                 config: TowerConfig | None = None, seed: int = 0, backend: str = "memory",
                 milvus_uri: str | None = None, fit: bool = True, decoder: str = "viterbi") -> SearchEngine:
        """The engine over notebook 06's weighted-sum tower (trained first if the zoo does not have it), each kind's
        signals weighted as chosen on the validation queries (``fit=False``: the fused index alone), spoken queries
        heard with ``decoder`` (:func:`~mmlab.engine.upstream.upstream_encoders`).

        ``products`` and ``queries`` are :func:`mmlab.towerdata.load_tower_inputs`'s (loaded here if not given).
        ``backend="milvus"`` keeps the index in Milvus (:mod:`mmlab.vectordb`: Milvus Lite unless ``milvus_uri``
        or ``MMLAB_MILVUS_URI`` names a server) instead of in this process.
        """
        products = product_features(catalog, seed) if products is None else products
        queries = query_features(catalog, seed) if queries is None else queries
        model, _ = trained_tower(catalog, products, queries, config or TowerConfig(), seed)
        encoders = upstream_encoders(catalog, seed, decoder)
        spaces = product_spaces(catalog, encoders.text, encoders.image, encoders.cnn)
        engine = cls(catalog, model, products, encoders, backend, milvus_uri, spaces)
        return engine if not fit else engine.with_weights(validation_weights(engine))

    def with_weights(self, weights: dict[str, dict[str, float]]) -> SearchEngine:
        """This engine, scoring each query kind by the given signal weights (``{kind: {signal: weight}}``)."""
        unknown = {kind: set(w) - set(SIGNALS[kind]) for kind, w in weights.items() if set(w) - set(SIGNALS[kind])}
        if set(weights) - set(SIGNALS) or unknown:
            raise ValueError(f"weights name unknown kinds or signals ({unknown or set(weights) - set(SIGNALS)}); "
                             f"the signals of each kind: {SIGNALS}")
        if self.spaces is None and any(set(w) != {"index"} for w in weights.values()):
            raise ValueError("this engine has only the fused index (spaces=None); weight the index alone, or build "
                             "it with SearchEngine.from_zoo, which adds the specialised spaces")
        self.weights = self.weights | weights
        return self

    def with_hearing(self, hear: Callable[[Sequence[np.ndarray]], list[str]]) -> SearchEngine:
        """This engine, hearing spoken queries with ``hear`` (16 kHz clips -> transcripts)."""
        self.encoders = replace(self.encoders, hear=hear)
        return self

    # -- query vectors ---------------------------------------------------------------------------------

    def _tower(self, kind: str, photo: Tensor | None = None, words: Tensor | None = None) -> Tensor:
        """The query tower's unit vector (dim,) for one query of ``kind`` given its upstream embeddings."""
        queries = self.model.queries
        photo = torch.zeros(1, queries.image.in_features) if photo is None else photo
        words = torch.zeros(1, queries.text.in_features) if words is None else words
        with torch.no_grad():
            return queries(photo, words, torch.tensor([QUERY_KINDS.index(kind)]))[0]

    def _words(self, value: str) -> Tensor:
        return torch.as_tensor(text.encode_texts(self.encoders.text, [value]))

    def _photo(self, photo: Image.Image) -> Tensor:
        return torch.as_tensor(image.embed(self.encoders.image, photo_tensor(photo)))

    def transcribe(self, wave: np.ndarray, sr: int) -> str:
        """What the engine hears in a clip: notebook 05's recogniser and the decoder of ``encoders.hear`` ("" for
        nothing)."""
        return self.encoders.hear([audio.check_wave(wave, sr)])[0]

    # -- evidence ------------------------------------------------------------------------------------

    def evidence(self, kind: str, query: Any) -> Evidence:
        """What the engine takes from a raw query of ``kind`` (:class:`~mmlab.engine.signals.Evidence`)."""
        if kind == "text":
            words = check_text(query, "query text")
            return self._text_evidence("text", words, self._words(words), {})
        if kind == "voice":
            heard = self.transcribe(*query) if isinstance(query, tuple) else self.transcribe(query, audio.SAMPLE_RATE)
            vector = torch.as_tensor(voice.transcripts_to_vectors(self.encoders.text, [heard]))
            return self._text_evidence("voice", heard, vector, {"heard": heard})
        if kind in ("image", "composed"):
            photo, modifier = (query, None) if kind == "image" else query
            return self._photo_evidence(photo, None if modifier is None else check_text(modifier, "modifier"))
        raise ValueError(f"unknown query kind {kind!r}; choose one of {QUERY_KINDS}")

    def signals(self, evidence: Evidence) -> dict[str, Tensor]:
        """Every signal of a query's evidence, one score per product each."""
        return signals_of(evidence, self.products)

    def _text_evidence(self, kind: str, words: str, vector: Tensor, read: dict[str, str]) -> Evidence:
        index = {"index": self._tower(kind, words=vector)}
        if self.spaces is None:
            return Evidence(index, {}, read)
        return Evidence(index | {"text space": F.normalize(vector[0], dim=0)},
                        {"BM25": bm25_signal(self.spaces, words)}, read)

    def _photo_evidence(self, photo: Image.Image, modifier: str | None) -> Evidence:
        if self.spaces is None:
            head = self._photo(photo)
        else:
            pixels = photo_tensor(photo)
            with torch.no_grad():
                frozen = self.encoders.image.backbone.features(pixels)          # (1, 1280)
                head = self.encoders.image.from_features(frozen)                # (1, dim)
                cnn = self.encoders.cnn(pixels)                                 # (1, dim)
        words = None if modifier is None else self._words(modifier)
        vectors = {"index": self._tower("image" if modifier is None else "composed", photo=head, words=words)}
        if self.spaces is None:
            return Evidence(vectors, {}, {})
        vectors |= {name: F.normalize(v[0], dim=0) for name, v in
                    (("photo space", head), ("frozen photo", frozen), ("small CNN", cnn))}
        if modifier is None:
            return Evidence(vectors, {}, {})
        source = int((self.spaces.photo @ vectors["photo space"]).argmax())  # the product the photo shows
        wanted = parse_modifier(modifier, self.spaces.attributes.colour)
        match = torch.tensor(matching_skus(self.spaces.attributes, source, wanted), dtype=torch.float32)
        return Evidence(vectors, {"modifier": match}, {})

    # -- search --------------------------------------------------------------------------------------

    def search(self, kind: str, query: Any, lang: str = "en", k: int = 10, filters: Filters | None = None
               ) -> pd.DataFrame:
        """The top-k SKUs for a raw query: "text" (str), "image" (photo), "voice" (wave at 16 kHz, or (wave, sr)),
        "composed" ((photo, str)). Cards in ``lang``, the score and what each signal (and, within the fused index,
        each product modality) added to it: the contribution columns add up to ``score``.

        With ``filters`` only the SKUs that pass them are ranked (fewer than ``k`` rows when fewer pass).
        """
        evidence = self.evidence(kind, query)
        return self._results(evidence, self.query_weights(kind, evidence), k, lang, filters)

    def query_weights(self, kind: str, evidence: Evidence) -> dict[str, float]:
        """The signal weights for one query: its kind's, or BM25 alone for a query about an untrained product."""
        if not self.lexical_fallback:
            return self.weights[kind]
        return adapted_weights(kind, self.weights[kind], evidence.boosts, self.untrained)

    def search_vector(self, query: Tensor, k: int = 10, lang: str = "en", filters: Filters | None = None
                      ) -> pd.DataFrame:
        """The top-k SKUs of the fused index alone for a unit query vector (as :meth:`search`, one signal)."""
        return self._results(Evidence({"index": query}, {}, {}), {"index": 1.0}, k, lang, filters)

    def _results(self, evidence: Evidence, weights: dict[str, float], k: int, lang: str,
                 filters: Filters | None) -> pd.DataFrame:
        """The results table: cards, the weighted score and its contribution columns (they add up to it)."""
        check_k(k, len(self.sku_ids))
        with torch.no_grad():
            signals = self.signals(evidence)
            scores = weighted_score(signals, weights)
            top = self._top_rows(evidence, scores, weights, k, filters)
            parts = weights.get("index", 0.0) * (self.parts[top] @ evidence.vectors["index"]).numpy()
        columns = {m: parts[:, i] for i, m in enumerate(self.model.config.modalities)}
        columns |= {name: weight * signals[name][top].numpy() for name, weight in weights.items() if name != "index"}
        cards = self.cards.iloc[top.numpy()].reset_index(drop=True)
        table = cards[["sku_id", f"title_{check_lang(lang)}", "department", "colour", "price", "rating"]]
        table = table.rename(columns={f"title_{lang}": "title"}).assign(score=scores[top].numpy())
        results = pd.concat([table, pd.DataFrame(columns)], axis=1)
        results.attrs.update(evidence.read | {"contributions": list(columns)})
        return results

    def _top_rows(self, evidence: Evidence, scores: Tensor, weights: dict[str, float], k: int,
                  filters: Filters | None) -> Tensor:
        """Rows of the best ``k`` SKUs that pass ``filters``, best first.

        In process: over every SKU. With Milvus: the candidates are Milvus's best ``k + CANDIDATES`` by the dense
        signals (one stacked vector per product, the query's weighted vectors stacked alike) and the best of each
        boost, re-scored here with the boosts; the rows agree with the in-process ones when the true best ``k`` are
        among them, which the tests and notebook 08 check on MiniMart.
        """
        allowed = torch.ones(len(scores), dtype=torch.bool) if filters is None else \
            torch.from_numpy(filters.mask(self.cards))
        n = min(k, int(allowed.sum()))
        if self.milvus is None:
            return ranked(scores.masked_fill(~allowed, -torch.inf), n)
        where = "" if filters is None else filters.expression(self.cards)
        depth = min(len(scores), k + CANDIDATES)
        found = self.milvus.search(stacked_query(evidence, weights, self.products)[None], depth, where=where)[1][0]
        candidates = [torch.from_numpy(found[found >= 0])]
        for name in evidence.boosts:
            if weights.get(name, 0.0) > 0:
                boost = evidence.boosts[name].masked_fill(~allowed, -torch.inf)
                candidates.append(ranked(boost, min(depth, int(allowed.sum()))))
        rows = torch.unique(torch.cat(candidates))
        return rows[ranked(scores[rows], min(n, len(rows)))]  # rows ascending: ties as in process

    def search_text(self, query: str, lang: str = "en", k: int = 10, filters: Filters | None = None
                    ) -> pd.DataFrame:
        """A typed query in English or Chinese; titles are shown in ``lang``."""
        return self.search("text", query, lang, k, filters)

    def search_photo(self, photo: Image.Image, lang: str = "en", k: int = 10, filters: Filters | None = None
                     ) -> pd.DataFrame:
        """A shopper's photo (PIL image of any size)."""
        return self.search("image", photo, lang, k, filters)

    def search_voice(self, wave: np.ndarray, sr: int = audio.SAMPLE_RATE, lang: str = "en", k: int = 10,
                     filters: Filters | None = None) -> pd.DataFrame:
        """A spoken query: a mono float waveform at 16 kHz (resample first otherwise); ``attrs["heard"]`` of the
        table is the transcript that was searched."""
        return self.search("voice", (wave, sr), lang, k, filters)

    def search_composed(self, photo: Image.Image, modifier: str, lang: str = "en", k: int = 10,
                        filters: Filters | None = None) -> pd.DataFrame:
        """A photo plus a modifier text ("in blue", "换成红色", "cheaper")."""
        return self.search("composed", (photo, modifier), lang, k, filters)

    def grid(self, results: pd.DataFrame, ncols: int = 5) -> Figure:
        """The results as an image grid: photo, title (in the table's language), price, rating and score."""
        if results.empty:
            raise ValueError("results is empty; pass the table a search_* method returned")
        titles = [f"{r.title[:24]}\n${r.price:.2f} · ★{'–' if np.isnan(r.rating) else r.rating} · {r.score:.2f}"
                  for r in results.itertuples()]
        return image_grid([self.catalog.product_image(s) for s in results.sku_id], titles, ncols=ncols, scale=1.9)
