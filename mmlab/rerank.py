"""Interaction re-ranking: a small cross-attention scorer re-orders the top-k of a first-stage retriever.

The scorer and its loss are written and explained in notebook 09 (:mod:`mmlab.models.rerank`); this module checks
the candidate lists, trains the scorer on them and re-orders them.

A two-tower retriever compares one query vector with one item vector, so it cannot ask "does *this* query
word match *that* product attribute?". A re-ranker can: here the query's tokens attend over each candidate's
tokens (e.g. one per modality: photo, title, reviews, behaviour), and a small MLP scores what they found. It is
too slow to run on the whole catalog, so it re-scores only the first stage's top-k candidates.

Pass the first stage's scores as ``prior`` and the re-ranker learns a correction on top of them: its MLP's last
layer starts at zero, so before training it ranks exactly like the first stage. Train it on queries the first
stage was not trained on (its scores on its own training queries are too good to learn from).

    model = CrossAttentionReranker(query_dim=64, item_dim=64)
    train_reranker(model, query_tokens, item_tokens, candidates, relevant, prior=first_scores, epochs=20)
    scores, rows = rerank(model, test_query_tokens, item_tokens, test_candidates, prior=test_first_scores)

Shapes: query tokens (n_queries, query_len, query_dim) with an optional boolean ``query_mask`` (n_queries,
query_len), True on real tokens (queries of different lengths, padded); item tokens (n_items, item_len, item_dim)
with an optional boolean ``item_mask`` (n_items, item_len), True where a token is present (no reviews: False);
candidates (n_queries, k) item rows from the first stage, ``prior`` (n_queries, k) their first-stage scores;
relevant (n_queries, k) booleans for training. Modalities of different sizes: put each in its own block of
columns of one wider token (zeros elsewhere), so the input projection keeps a separate weight block per modality.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from mmlab.models.rerank import CrossAttentionReranker, listwise_loss
from mmlab.train import History, fit

Array = np.ndarray | torch.Tensor


@dataclass
class _Lists:
    """Candidate lists as tensors: query tokens and mask, catalog item tokens and mask, candidate rows,
    first-stage scores."""

    queries: torch.Tensor
    query_mask: torch.Tensor | None
    items: torch.Tensor
    item_mask: torch.Tensor | None
    rows: torch.Tensor
    prior: torch.Tensor | None

    def batch(self, pick: torch.Tensor | slice) -> tuple[torch.Tensor | None, ...]:
        """The model's arguments for the lists ``pick``: query tokens, item tokens, item mask, prior, query mask."""
        rows = self.rows[pick]
        optional = lambda values, index: None if values is None else values[index]
        return (self.queries[pick], self.items[rows], optional(self.item_mask, rows), optional(self.prior, pick),
                optional(self.query_mask, pick))


def _lists(query_tokens: Array, item_tokens: Array, candidates: Array, item_mask: Array | None,
           prior: Array | None, query_mask: Array | None) -> _Lists:
    """Checked tensors: finite tokens and scores, candidate rows inside the catalog, one prior per candidate."""
    queries = torch.as_tensor(query_tokens, dtype=torch.float32)
    items = torch.as_tensor(item_tokens, dtype=torch.float32)
    scores = None if prior is None else torch.as_tensor(prior, dtype=torch.float32)
    for name, values in [("query_tokens", queries), ("item_tokens", items), ("prior", scores)]:
        if values is not None and not torch.isfinite(values).all():
            raise ValueError(f"{name} contain NaN or inf (-inf marks a missing ANN result: drop those slots); check "
                             "the model that produced them")
    rows = torch.as_tensor(np.asarray(candidates), dtype=torch.long)
    if rows.ndim != 2 or rows.numel() == 0 or len(rows) != len(queries):
        raise ValueError(f"candidates must be non-empty (n_queries={len(queries)}, k) item rows, got "
                         f"{tuple(rows.shape)}")
    if not 0 <= int(rows.min()) <= int(rows.max()) < len(items):
        raise ValueError(f"candidate rows must lie in [0, {len(items)}); drop the first stage's missing (-1) slots")
    if scores is not None and scores.shape != rows.shape:
        raise ValueError(f"prior {tuple(scores.shape)} must hold one score per candidate {tuple(rows.shape)}")
    return _Lists(queries, _mask(query_mask, queries.shape[:2], "query_mask", "query"), items,
                  _mask(item_mask, items.shape[:2], "item_mask", "catalog item"), rows, scores)


def _mask(mask: Array | None, shape: tuple[int, ...], name: str, what: str) -> torch.Tensor | None:
    """``mask`` as a bool tensor of ``shape`` in which every row has a True entry, or a clear error."""
    if mask is None:
        return None
    values = torch.as_tensor(np.asarray(mask))
    if values.dtype != torch.bool or values.shape != shape:
        raise ValueError(f"{name} must be bool of shape {tuple(shape)}, got {values.dtype} {tuple(values.shape)}")
    if not values.any(-1).all():
        raise ValueError(f"a {what} has no tokens at all ({name} all False); give it at least one token or drop it")
    return values


def train_reranker(model: CrossAttentionReranker, query_tokens: Array, item_tokens: Array, candidates: Array,
                   relevant: Array, item_mask: Array | None = None, prior: Array | None = None,
                   query_mask: Array | None = None, epochs: int = 20, lr: float = 3e-3, batch_size: int = 64,
                   seed: int = 0, evaluate: Callable[[], float] | None = None, patience: int | None = None,
                   progress: bool = False, loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = listwise_loss
                   ) -> History:
    """Train with ``loss`` (notebook 09's :func:`listwise_loss` by default) on the first stage's candidate lists
    (shuffled each epoch, seeded)."""
    lists = _lists(query_tokens, item_tokens, candidates, item_mask, prior, query_mask)
    relevant = torch.as_tensor(np.asarray(relevant), dtype=torch.bool)
    if relevant.shape != lists.rows.shape:
        raise ValueError(f"relevant {tuple(relevant.shape)} must match candidates {tuple(lists.rows.shape)}")

    def batches(epoch: int):
        order = torch.randperm(len(relevant), generator=torch.Generator().manual_seed(seed * 1000 + epoch))
        for start in range(0, len(order), batch_size):
            pick = order[start:start + batch_size]
            yield lists.batch(pick), relevant[pick]

    step_loss = lambda m, batch: loss(m(*batch[0]), batch[1])
    return fit(model, batches, step_loss, epochs=epochs, lr=lr, evaluate=evaluate, patience=patience,
               progress=progress)


@torch.no_grad()
def rerank(model: CrossAttentionReranker, query_tokens: Array, item_tokens: Array, candidates: Array,
           item_mask: Array | None = None, prior: Array | None = None, query_mask: Array | None = None,
           batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """The candidates re-ordered by the model: (scores, item rows), each (n_queries, k), best first; ties keep
    the first stage's order."""
    lists = _lists(query_tokens, item_tokens, candidates, item_mask, prior, query_mask)
    model.eval()
    scores = torch.cat([model(*lists.batch(slice(s, s + batch_size))) for s in range(0, len(lists.rows), batch_size)])
    order = scores.argsort(dim=1, descending=True, stable=True)
    return scores.gather(1, order).numpy(), lists.rows.gather(1, order).numpy()
