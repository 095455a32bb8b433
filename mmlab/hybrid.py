"""Hybrid search: merge the rankings of several retrievers (e.g. BM25 and a dense encoder) by reciprocal rank
fusion (RRF, Cormack et al. 2009).

    bm25 = BM25Index(catalog)                                   # mmlab.encoders.text: bm25s over the SKU texts
    search = hybrid_ranker([bm25.rank, dense_rank], depth=100)  # a ranker like the two it fuses
    search(["red t-shirt"], 10)                                 # -> [[sku_id, ...]]

An item's fused score is sum over rankers of ``weight / (rrf_k + rank)``, rank counted from 1 and only where
the ranker lists the item. RRF uses ranks, not scores, so BM25's unbounded scores and cosine similarities need
no calibration; ``rrf_k = 60`` (the paper's value) damps the difference between the very first ranks.
Ties are broken by the item's best single rank, then by the order of the rankers.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

Ranker = Callable[[Sequence[Any], int], list[list[Hashable]]]


def reciprocal_rank_fusion(rankings: Sequence[Sequence[Hashable]], rrf_k: float = 60,
                           weights: Sequence[float] | None = None) -> list[tuple[Hashable, float]]:
    """One query's rankings (best first, one per ranker) fused into (item, score) pairs, best first."""
    weights = [1.0] * len(rankings) if weights is None else list(weights)
    if not rankings or len(weights) != len(rankings) or min(weights) < 0:
        raise ValueError(f"need at least one ranking and one non-negative weight per ranking; got "
                         f"{len(rankings)} rankings and weights {weights}")
    if rrf_k < 0:
        raise ValueError(f"rrf_k={rrf_k} must be >= 0 (60 is the usual choice)")
    for position, ranking in enumerate(rankings):
        if len(set(ranking)) != len(ranking):
            raise ValueError(f"ranking {position} lists an item twice; each ranker must return distinct items")
    fused: dict[Hashable, float] = {}
    for rank in range(max(map(len, rankings))):  # visiting rank by rank fixes the tie order
        for ranking, weight in zip(rankings, weights):
            if rank < len(ranking):
                fused[ranking[rank]] = fused.get(ranking[rank], 0.0) + weight / (rrf_k + rank + 1)
    return sorted(fused.items(), key=lambda pair: -pair[1])  # stable: equal scores keep the visiting order


def hybrid_ranker(rankers: Sequence[Ranker], depth: int = 100, rrf_k: float = 60,
                  weights: Sequence[float] | None = None) -> Ranker:
    """A ranker ``(queries, k) -> ids per query`` that fuses each ranker's top ``max(depth, k)`` by RRF."""
    if not rankers or depth < 1:
        raise ValueError(f"need at least one ranker and depth >= 1, got {len(rankers)} rankers and depth={depth}; "
                         "pass e.g. [bm25.rank, dense_rank] and depth=100")
    reciprocal_rank_fusion([[]] * len(rankers), rrf_k, weights)  # checks rrf_k and weights now, not at query time

    def rank(queries: Sequence[Any], k: int) -> list[list[Hashable]]:
        lists = [ranker(queries, max(depth, k)) for ranker in rankers]
        return [[item for item, _ in reciprocal_rank_fusion([ranked[q] for ranked in lists], rrf_k, weights)[:k]]
                for q in range(len(queries))]

    return rank
