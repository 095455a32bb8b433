"""Retrieval: score every catalog item against every query and keep the best k.

Exact search by cosine similarity, dot product or (negative) Euclidean distance, batched over queries so the
(n_queries, n_items) score matrix never has to fit in memory at once.
"""

from __future__ import annotations

import numpy as np
import torch

METRICS = ("cosine", "dot", "euclidean")


def _as_tensor(x: np.ndarray | torch.Tensor, name: str) -> torch.Tensor:
    tensor = torch.as_tensor(x, dtype=torch.float32)
    if tensor.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n, dim), got shape {tuple(tensor.shape)}")
    if not torch.isfinite(tensor).all():
        raise ValueError(f"{name} contains NaN or inf; check the encoder's output (a NaN loss during training?)")
    return tensor


def scores(queries: torch.Tensor, items: torch.Tensor, metric: str) -> torch.Tensor:
    """Similarity of every query to every item (higher = better)."""
    if metric == "cosine":
        return torch.nn.functional.normalize(queries, dim=1) @ torch.nn.functional.normalize(items, dim=1).T
    if metric == "dot":
        return queries @ items.T
    return -torch.cdist(queries, items)


@torch.no_grad()
def search(queries: np.ndarray | torch.Tensor, items: np.ndarray | torch.Tensor, k: int, metric: str = "cosine",
           batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Top-k items per query: (scores, indices), each (n_queries, k), best first."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose one of {METRICS}")
    q, x = _as_tensor(queries, "queries"), _as_tensor(items, "items")
    if q.shape[1] != x.shape[1]:
        raise ValueError(f"queries have dimension {q.shape[1]} but items {x.shape[1]}; encode both into one space")
    if not 1 <= k <= len(x):
        raise ValueError(f"k={k} must be between 1 and the number of items ({len(x)})")
    best_scores, best_indices = [], []
    for start in range(0, len(q), batch_size):
        top = scores(q[start:start + batch_size], x, metric).topk(k, dim=1)
        best_scores.append(top.values)
        best_indices.append(top.indices)
    return torch.cat(best_scores).numpy(), torch.cat(best_indices).numpy()


def rank_ids(queries, items, item_ids: list[str] | np.ndarray, k: int, metric: str = "cosine") -> list[list[str]]:
    """Top-k item ids per query, ready for ``mmlab.metrics``."""
    ids = np.asarray(item_ids)
    _, indices = search(queries, items, k, metric)
    return [list(ids[row]) for row in indices]
