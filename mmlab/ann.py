"""Approximate nearest-neighbour search with faiss-cpu, for catalogs too large to scan for every query.

    index = build_index(product_vectors, kind="hnsw", metric="cosine")
    scores, rows = index.search(query_vectors, k=10, effort=64)            # same shapes as retrieval.search
    sweep = recall_latency_sweep(index, query_vectors, exact_rows, k=10)  # recall@k vs ms/query per effort

Three kinds of index:

- ``flat``: every item scanned (exact); faiss's baseline, the one ``mmlab.retrieval.search`` is compared with;
- ``hnsw``: a layered proximity graph (HNSW); a query walks the graph greedily, keeping ``efSearch`` candidates;
- ``ivf``: k-means splits the items into ``nlist`` cells; a query scans only its ``nprobe`` nearest cells.

``effort`` is ``efSearch`` (HNSW) or ``nprobe`` (IVF): more effort, higher recall, slower queries. Scores follow
``mmlab.retrieval``: higher is better, cosine similarity, dot product or minus the Euclidean distance. When an
index finds fewer than k items (IVF with few, small cells) the missing slots hold row -1 and score -inf.
HNSW built on several threads can link the graph slightly differently from run to run; IVF's k-means is seeded.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import faiss
import numpy as np
import pandas as pd

from mmlab.retrieval import Matrix, as_float32, as_matrix, check_k, check_metric

KINDS = ("flat", "hnsw", "ivf")
EFFORT = {"hnsw": "efSearch", "ivf": "nprobe"}


def _vectors(x: Matrix, name: str, metric: str) -> np.ndarray:
    """Checked, contiguous float32 numpy rows, unit length for cosine (a copy then)."""
    array = np.ascontiguousarray(as_float32(as_matrix(x, name), name).numpy())
    if metric == "cosine":
        array = array.copy()
        faiss.normalize_L2(array)
    return array


def default_nlist(n_items: int) -> int:
    """About 4 sqrt(n) cells, but at least 39 training items per cell (what faiss's k-means asks for)."""
    return max(1, min(round(4 * math.sqrt(n_items)), n_items // 39))


@dataclass
class AnnIndex:
    """A faiss index with the metric it was built for."""

    index: faiss.Index
    kind: str
    metric: str

    def __len__(self) -> int:
        return self.index.ntotal

    def search(self, queries: Matrix, k: int, effort: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, rows) per query, best first; ``effort`` is efSearch (HNSW) or nprobe (IVF)."""
        q = _vectors(queries, "queries", self.metric)
        if q.shape[1] != self.index.d:
            raise ValueError(f"queries have dimension {q.shape[1]} but the index {self.index.d}; encode both "
                             "into one space")
        check_k(k, len(self))
        values, rows = self.index.search(q, k, params=self._params(effort))
        if self.metric == "euclidean":  # faiss returns squared L2 distances
            values = -np.sqrt(np.maximum(values, 0))
        values[rows < 0] = -np.inf
        return values, rows

    def _params(self, effort: int | None) -> faiss.SearchParameters | None:
        if effort is None:
            return None
        if self.kind == "flat":
            raise ValueError("a flat index has no effort setting (it always scans everything); pass effort=None")
        if isinstance(effort, bool) or not isinstance(effort, (int, np.integer)) or effort < 1:
            raise ValueError(f"effort ({EFFORT[self.kind]}) must be a whole number >= 1, got {effort!r}; e.g. "
                             "effort=64 (more effort: higher recall, slower queries), or None for the default")
        if self.kind == "hnsw":
            return faiss.SearchParametersHNSW(efSearch=int(effort))
        return faiss.SearchParametersIVF(nprobe=min(int(effort), self.index.nlist))


def build_index(vectors: Matrix, kind: str = "flat", metric: str = "cosine", *, m: int = 32,
                ef_construction: int = 64, nlist: int | None = None, seed: int = 0) -> AnnIndex:
    """A faiss index over ``vectors`` (n, dim): ``m`` links per HNSW node, ``nlist`` IVF cells (default
    :func:`default_nlist`)."""
    if kind not in KINDS:
        raise ValueError(f"unknown index kind {kind!r}; choose one of {KINDS}")
    check_metric(metric)
    x = _vectors(vectors, "vectors", metric)
    faiss_metric = faiss.METRIC_L2 if metric == "euclidean" else faiss.METRIC_INNER_PRODUCT
    if kind == "ivf":
        nlist = default_nlist(len(x)) if nlist is None else nlist
        if not 1 <= nlist <= len(x):
            raise ValueError(f"nlist={nlist} must be between 1 and the number of vectors ({len(x)}); lower nlist or "
                             "leave it None (default_nlist)")
    description = {"flat": "Flat", "hnsw": f"HNSW{m},Flat", "ivf": f"IVF{nlist},Flat"}[kind]
    index = faiss.index_factory(x.shape[1], description, faiss_metric)
    if kind == "hnsw":
        index.hnsw.efConstruction = ef_construction
    if kind == "ivf":
        index.cp.seed = seed
        index.train(x)
    index.add(x)
    return AnnIndex(index, kind, metric)


def recall_at_k(found: np.ndarray, exact: np.ndarray, k: int) -> float:
    """Mean share of the exact top-k that the approximate top-k contains (order ignored)."""
    if found.shape[0] != exact.shape[0] or min(found.shape[1], exact.shape[1]) < k:
        raise ValueError(f"need both results with the same queries and >= {k} columns, got {found.shape} and "
                         f"{exact.shape}")
    return float(np.mean([len(set(f[:k]) & set(e[:k])) / k for f, e in zip(found, exact)]))


def default_efforts(index: AnnIndex) -> list[int | None]:
    """efSearch 8-512 for HNSW, nprobe 1-nlist by powers of two for IVF, nothing to vary for flat."""
    if index.kind == "hnsw":
        return [8, 16, 32, 64, 128, 256, 512]
    if index.kind == "ivf":
        return [2**i for i in range(int(math.log2(index.index.nlist)) + 1)] + [index.index.nlist]
    return [None]


def recall_latency_sweep(index: AnnIndex, queries: Matrix, exact: np.ndarray, k: int = 10,
                         efforts: list[int] | None = None, repeats: int = 3) -> pd.DataFrame:
    """Recall@k against the exact rows ``exact`` (e.g. from ``retrieval.search``) and milliseconds per query
    (all queries in one batch, best of ``repeats``) for each effort."""
    rows = []
    for effort in dict.fromkeys(efforts or default_efforts(index)):
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            _, found = index.search(queries, k, effort)
            seconds.append(time.perf_counter() - start)
        rows.append({"kind": index.kind, "parameter": EFFORT.get(index.kind, "-"), "effort": effort,
                     f"recall@{k}": recall_at_k(found, exact, k), "ms_per_query": 1000 * min(seconds) / len(found)})
    return pd.DataFrame(rows)
