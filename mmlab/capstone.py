"""The capstone's scorecard: the search engine against every named baseline, on every slice of held-out queries.

A slice is one kind of query a shop receives (typed English, typed with a typo, a photo of a product type no model
was trained on, a spoken Chinese query, ...). A :class:`System` ranks SKUs for a table of queries (rows of
``catalog.queries``) of the kinds it answers. For every slice the scorecard gives each answering system's mean
NDCG@10, names the best baseline *on that slice*, and the paired bootstrap interval of engine minus that baseline
(the same queries resampled together, :func:`mmlab.metrics.bootstrap_ci`). A reference system (the same spoken
queries typed) is reported beside the others but is not a competitor: no engine hears better than a transcript.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mmlab.data.catalog import Catalog
from mmlab.encoders.text.queries import text_queries
from mmlab.metrics import bootstrap_ci, ndcg_per_query

KINDS = ("text", "image", "voice", "composed")  # catalog.queries.modality of each query kind
Ranker = Callable[[pd.DataFrame], list[list[str]]]  # queries (rows of catalog.queries) -> top-k SKU ids each

# slice -> (split, query kind, which of those queries); "synonym" is :func:`text_queries`'s flag
SLICES: dict[str, tuple[str, str | None, Callable[[pd.DataFrame], pd.Series]]] = {
    "text_en": ("test", "text", lambda q: q.lang == "en"),
    "text_zh": ("test", "text", lambda q: q.lang == "zh"),
    "text_typo": ("test", "text", lambda q: q.has_typo),
    "text_synonym": ("test", "text", lambda q: q.synonym),
    "text_zero_shot": ("zero_shot", "text", lambda q: q.lang.notna()),
    "photo": ("test", "image", lambda q: q.lang.notna()),
    "photo_zero_shot": ("zero_shot", "image", lambda q: q.lang.notna()),
    "voice_en": ("test", "voice", lambda q: q.lang == "en"),
    "voice_zh": ("test", "voice", lambda q: q.lang == "zh"),
    "composed": ("test", "composed", lambda q: q.lang.notna()),
    "mixed": ("test", None, lambda q: q.lang.notna()),  # every test query of every kind
}


@dataclass(frozen=True)
class System:
    """A named ranker and the query kinds it answers; ``reference``: reported, never the best baseline."""

    name: str
    rank: Ranker
    kinds: tuple[str, ...]
    reference: bool = False

    def answers(self, kinds: set[str]) -> bool:
        return kinds <= set(self.kinds)


def held_out_queries(catalog: Catalog) -> pd.DataFrame:
    """The test and zero-shot queries of every kind, with the ``synonym`` flag of typed queries."""
    queries = catalog.queries[catalog.queries.split.isin(["test", "zero_shot"])
                              & catalog.queries.modality.isin(KINDS)]
    flagged = pd.concat([text_queries(catalog, split) for split in ("test", "zero_shot")
                         if ((queries.split == split) & (queries.modality == "text")).any()])
    synonym = queries.query_id.map(flagged.set_index("query_id").synonym).fillna(False).astype(bool)
    return queries.assign(synonym=synonym).reset_index(drop=True)


def slice_masks(queries: pd.DataFrame) -> dict[str, np.ndarray]:
    """A boolean mask over ``queries`` per slice of :data:`SLICES` that holds at least 2 queries."""
    masks = {}
    for name, (split, kind, select) in SLICES.items():
        mask = (queries.split == split) & (queries.modality == kind if kind else True) & select(queries)
        if mask.sum() >= 2:
            masks[name] = mask.to_numpy()
    return masks


def system_scores(catalog: Catalog, system: System, queries: pd.DataFrame, k: int = 10) -> np.ndarray:
    """NDCG@k of ``system`` on each query (NaN on the kinds it does not answer)."""
    scores = np.full(len(queries), np.nan)
    rows = np.flatnonzero(queries.modality.isin(system.kinds))
    if len(rows):
        subset = queries.iloc[rows]
        relevance = catalog.relevance(subset.query_id)
        ranked = system.rank(subset)
        scores[rows] = ndcg_per_query(ranked, [relevance.get(q, {}) for q in subset.query_id], k)
    return scores


def scorecard(catalog: Catalog, engine: System, baselines: Sequence[System], k: int = 10,
              seed: int = 0) -> pd.DataFrame:
    """Per slice: each system's mean NDCG@k, the best baseline and engine − best baseline with its paired 95 %
    bootstrap interval (``difference``, ``ci_low``, ``ci_high``)."""
    queries = held_out_queries(catalog)
    scores = {s.name: system_scores(catalog, s, queries, k) for s in (engine, *baselines)}
    rows = {}
    for name, mask in slice_masks(queries).items():
        kinds = set(queries.modality[mask])
        row = {s.name: float(scores[s.name][mask].mean()) for s in (engine, *baselines) if s.answers(kinds)}
        rivals = [s.name for s in baselines if s.answers(kinds) and not s.reference]
        best = max(rivals, key=lambda rival: row[rival])
        difference, low, high = bootstrap_ci(scores[engine.name][mask], scores[best][mask], seed=seed)
        rows[name] = row | {"queries": int(mask.sum()), "best_baseline": best, "difference": difference,
                            "ci_low": low, "ci_high": high}
    return pd.DataFrame.from_dict(rows, orient="index")


def verdict(card: pd.DataFrame) -> pd.Series:
    """Per slice: "better" (the interval lies above 0), "worse" (below 0) or "tie"."""
    return pd.Series(np.where(card.ci_low > 0, "better", np.where(card.ci_high < 0, "worse", "tie")),
                     index=card.index, name="engine vs best baseline")
