"""Retrieval: score every catalog item against every query and keep the best k.

Exact search by cosine similarity, dot product or (negative) Euclidean distance. It is memory-aware: queries are
taken in batches and the items in chunks, so the block of scores held at once never exceeds ``max_memory_mb``;
a running top-k per query is merged chunk by chunk. Items are converted to float32 one chunk at a time, so a
float64 or numpy catalog is never copied whole.

Ties: items with equal scores are ranked by their row number (lower first), so results are deterministic and
match a stable sort of the full score matrix.

Speed: the work is one float32 matrix product per chunk, written into one reused buffer, then a two-step top-k:
the maximum of each group of 64 columns (one cheap pass), and ``torch.topk`` only over the columns of the k groups
with the highest maxima (a full ``topk`` over every score costs more than the product that made them). It uses
PyTorch's current thread count (``torch.set_num_threads``). At 10^5-10^6 items it is at least as fast as faiss
``IndexFlatIP``; ``benchmarks/search.py`` measures both, and the vector indexes a larger catalog would use
(``mmlab.ann``, ``mmlab.vectordb``).
"""

from __future__ import annotations

import numpy as np
import torch

METRICS = ("cosine", "dot", "euclidean")
GROUP = 64  # columns per group whose maximum decides whether the group can hold a top-k score
Matrix = np.ndarray | torch.Tensor


def as_matrix(x: Matrix, name: str) -> Matrix:
    """``x`` as a non-empty 2-D array or tensor (not yet converted to float32), or a clear error."""
    if not isinstance(x, (np.ndarray, torch.Tensor)):
        x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n, dim), got shape {tuple(x.shape)}; stack the vectors into one "
                         "matrix (a single vector: x[None, :])")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)}); pass at least one vector of dimension >= 1")
    return x


def as_float32(x: Matrix, name: str, offset: int = 0) -> torch.Tensor:
    """A float32 tensor of ``x`` (rows ``offset``... of a larger matrix), checked for NaN and inf."""
    tensor = torch.as_tensor(x, dtype=torch.float32).detach().cpu()
    if torch.isfinite(tensor.sum()):  # one cheap pass: a NaN or inf anywhere makes the sum NaN or inf
        return tensor
    finite = torch.isfinite(tensor).all(dim=1)
    if not finite.all():
        row = offset + int((~finite).nonzero()[0, 0])
        raise ValueError(f"{name} row {row} contains NaN or inf; check the encoder's output (a NaN loss during "
                         "training? a zero-length input?) and drop or re-encode that row")
    return tensor


def check_k(k: int, n_items: int) -> None:
    """``k`` must be a whole number from 1 to the number of items."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n_items:
        raise ValueError(f"k={k!r} must be a whole number between 1 and the number of items ({n_items}); "
                         "ask for fewer results or search a larger catalog")


def check_metric(metric: str) -> None:
    """``metric`` must be one of :data:`METRICS`."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose one of {METRICS}")


def scores(queries: torch.Tensor, items: torch.Tensor, metric: str, out: torch.Tensor | None = None
           ) -> torch.Tensor:
    """Similarity of every query to every item (higher = better); Euclidean is the negative distance.

    ``out``: a contiguous (n_queries, n_items) float32 tensor to write into (a reused buffer spares the
    allocator a fresh block, and the kernel its page faults, on every chunk).
    """
    if metric == "cosine":
        queries, items = torch.nn.functional.normalize(queries, dim=1), torch.nn.functional.normalize(items, dim=1)
    if metric != "euclidean":
        return torch.matmul(queries, items.T, out=out)
    # ||q - x||^2 = ||q||^2 - 2 q.x + ||x||^2: one matrix product, no (n_q, n_items, dim) difference, and one
    # (n_q, n_items) block updated in place
    squared = torch.addmm((items * items).sum(1), queries, items.T, alpha=-2, out=out)
    return squared.add_((queries * queries).sum(1, keepdim=True)).clamp_min_(0).sqrt_().neg_()


def _best_first(values: torch.Tensor, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row sorted by score, best first, equal scores by lower index (two stable sorts)."""
    by_index = indices.argsort(dim=1, stable=True)
    values, indices = values.gather(1, by_index), indices.gather(1, by_index)
    by_score = values.argsort(dim=1, descending=True, stable=True)
    return values.gather(1, by_score), indices.gather(1, by_score)


def _top_k(values: torch.Tensor, columns: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The best ``k`` of each row of candidate ``values`` with their ``columns``; equal values by lower column."""
    if values.shape[1] <= k:
        return values, columns
    top, at = values.topk(k + 1, dim=1)
    at, tied = at[:, :k], top[:, k - 1] == top[:, k]
    if tied.any():  # the k-th best is tied with the next one: topk may have kept either, so sort those rows
        rows = tied.nonzero().squeeze(1)
        by_column = columns[rows].argsort(dim=1)
        by_score = values[rows].gather(1, by_column).argsort(dim=1, descending=True, stable=True)[:, :k]
        at[rows] = by_column.gather(1, by_score)
    return values.gather(1, at), columns.gather(1, at)


def _candidates(block: torch.Tensor, k: int) -> torch.Tensor | None:
    """Columns of each row that must hold its top k, or None when the whole row must be searched.

    The row is cut into groups of :data:`GROUP` columns. Each of the k best scores lies in a group whose maximum is
    at least the k-th best score, so the k groups with the highest maxima hold them all, unless a group left out
    has a maximum tied with the k-th kept one (then None). Columns after the last whole group are always kept.
    """
    n_groups = block.shape[1] // GROUP
    if n_groups <= 2 * k:
        return None
    top, groups = block.unfold(1, GROUP, GROUP).amax(dim=2).topk(k + 1, dim=1)  # (n_q, k + 1) best group maxima
    if (top[:, k - 1] == top[:, k]).any():
        return None
    columns = (groups[:, :k, None] * GROUP + torch.arange(GROUP)).flatten(1)  # (n_q, k * GROUP)
    tail = torch.arange(n_groups * GROUP, block.shape[1]).expand(len(block), -1)
    return torch.cat([columns, tail], dim=1)


def _block_top(block: torch.Tensor, k: int, offset: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-k of one (n_q, chunk) score block with item indices shifted by ``offset``; ties by lower index.

    ``topk`` over every score would cost more than the matrix product that made them, so it runs on the columns of
    the k most promising groups only (:func:`_candidates`): one cheap pass for the group maxima instead.
    """
    columns = _candidates(block, k)
    if columns is None:
        columns = torch.arange(block.shape[1]).expand_as(block)
        values = block
    else:
        values = block.gather(1, columns)
    return _best_first(*_top_k(values, columns + offset, k))


@torch.no_grad()
def search(queries: Matrix, items: Matrix, k: int, metric: str = "cosine", batch_size: int = 1024,
           max_memory_mb: float = 256) -> tuple[np.ndarray, np.ndarray]:
    """Top-k items per query: (scores, indices), each (n_queries, k), best first, ties by lower index.

    ``batch_size`` queries are scored at a time against chunks of items sized so the float32 score block stays
    under ``max_memory_mb``.
    """
    check_metric(metric)
    queries, items = as_matrix(queries, "queries"), as_matrix(items, "items")
    if queries.shape[1] != items.shape[1]:
        raise ValueError(f"queries have dimension {queries.shape[1]} but items {items.shape[1]}; encode both "
                         "into one space")
    check_k(k, len(items))
    if batch_size < 1 or max_memory_mb <= 0:
        raise ValueError(f"batch_size ({batch_size}) must be >= 1 and max_memory_mb ({max_memory_mb}) > 0")
    q = as_float32(queries, "queries")
    batch_size = min(batch_size, len(q))
    chunk = max(1, int(max_memory_mb * 2**20 / (4 * batch_size)))
    best = [None] * ((len(q) + batch_size - 1) // batch_size)
    block = torch.empty(batch_size * min(chunk, len(items)))  # one score buffer, reused by every block
    for start in range(0, len(items), chunk):  # items outermost: each chunk is converted and checked once
        x = as_float32(items[start:start + chunk], "items", start)
        for b, first in enumerate(range(0, len(q), batch_size)):
            batch = q[first:first + batch_size]
            out = block[:len(batch) * len(x)].view(len(batch), len(x))
            top = _block_top(scores(batch, x, metric, out), k, start)
            if best[b] is not None:
                top = _best_first(*(torch.cat(pair, dim=1) for pair in zip(best[b], top)))
            best[b] = (top[0][:, :k], top[1][:, :k])
    return torch.cat([v for v, _ in best]).numpy(), torch.cat([i for _, i in best]).numpy()


def rank_ids(queries: Matrix, items: Matrix, item_ids: list[str] | np.ndarray, k: int,
             metric: str = "cosine") -> list[list[str]]:
    """Top-k item ids per query, ready for ``mmlab.metrics``."""
    ids = np.asarray(item_ids)
    if len(ids) != len(items):
        raise ValueError(f"{len(ids)} item_ids for {len(items)} items; pass one id per item row")
    _, indices = search(queries, items, k, metric)
    return [list(ids[row]) for row in indices]
