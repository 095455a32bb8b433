"""Interaction re-ranking: a small cross-attention scorer re-orders the top-k of a first-stage retriever.

A two-tower retriever compares one query vector with one item vector, so it cannot ask "does *this* query
word match *that* product attribute?". A re-ranker can: here the query's tokens attend over each candidate's
tokens (e.g. one per modality: photo, title, reviews, behaviour), and a small MLP scores what they found. It is
too slow to run on the whole catalog, so it re-scores only the first stage's top-k candidates.

    model = CrossAttentionReranker(query_dim=64, item_dim=64)
    train_reranker(model, query_tokens, item_tokens, candidates, relevant, epochs=20)
    scores, rows = rerank(model, test_query_tokens, item_tokens, test_candidates)

Shapes: query tokens (n_queries, query_len, query_dim); item tokens (n_items, item_len, item_dim) with an
optional boolean ``item_mask`` (n_items, item_len), True where a token is present (a product without reviews);
candidates (n_queries, k) item rows from the first stage; relevant (n_queries, k) booleans for training.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from mmlab.train import History, fit

Array = np.ndarray | torch.Tensor


class CrossAttentionReranker(nn.Module):
    """Score (query, candidate) pairs: query tokens attend over the candidate's tokens, then an MLP scores."""

    def __init__(self, query_dim: int, item_dim: int, dim: int = 64, heads: int = 4) -> None:
        super().__init__()
        self.query_in, self.item_in = nn.Linear(query_dim, dim), nn.Linear(item_dim, dim)
        self.attend = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm = nn.LayerNorm(dim)
        self.score = nn.Sequential(nn.Linear(4 * dim, dim), nn.GELU(), nn.Linear(dim, 1))

    def forward(self, query_tokens: torch.Tensor, item_tokens: torch.Tensor, item_mask: torch.Tensor | None = None,
                return_attention: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Scores (batch, k) for query tokens (batch, q_len, query_dim) and each query's candidates' tokens
        (batch, k, item_len, item_dim); with ``return_attention`` also the weights (batch, k, q_len, item_len)."""
        _check_shapes(query_tokens, item_tokens, item_mask)
        if (query_tokens.shape[-1], item_tokens.shape[-1]) != (self.query_in.in_features, self.item_in.in_features):
            raise ValueError(f"token dimensions {query_tokens.shape[-1]} (query) and {item_tokens.shape[-1]} (item) "
                             f"do not match the model's {self.query_in.in_features} and "
                             f"{self.item_in.in_features}; build the model with the encoders' output sizes")
        batch, k, item_len, _ = item_tokens.shape
        q = self.query_in(query_tokens).repeat_interleave(k, dim=0)  # (batch * k, q_len, dim)
        x = self.item_in(item_tokens.flatten(0, 1))                   # (batch * k, item_len, dim)
        padding = None if item_mask is None else ~item_mask.flatten(0, 1)
        found, weights = self.attend(q, x, x, key_padding_mask=padding)
        found = self.norm(q + found).mean(1)
        asked = q.mean(1)
        scores = self.score(torch.cat([asked, found, asked * found, (asked - found).abs()], dim=1)).view(batch, k)
        return (scores, weights.view(batch, k, *weights.shape[1:])) if return_attention else scores


def _check_shapes(query_tokens: torch.Tensor, item_tokens: torch.Tensor, item_mask: torch.Tensor | None) -> None:
    if query_tokens.ndim != 3 or item_tokens.ndim != 4 or len(query_tokens) != len(item_tokens):
        raise ValueError(f"expected query tokens (batch, q_len, dim) and item tokens (batch, k, item_len, dim) "
                         f"with the same batch, got {tuple(query_tokens.shape)} and {tuple(item_tokens.shape)}")
    if item_mask is not None:
        if item_mask.shape != item_tokens.shape[:3] or item_mask.dtype != torch.bool:
            raise ValueError(f"item_mask must be bool of shape {tuple(item_tokens.shape[:3])}, got "
                             f"{item_mask.dtype} {tuple(item_mask.shape)}")
        if not item_mask.any(-1).all():
            raise ValueError("a candidate has no tokens at all (item_mask all False); give every item at least "
                             "one token or drop it from the candidates")


def listwise_loss(scores: torch.Tensor, relevant: torch.Tensor) -> torch.Tensor:
    """In-list softmax (InfoNCE over the candidates): -log of the probability mass on the relevant ones.

    Lists with no relevant candidate (the first stage missed) carry no signal and are skipped."""
    if scores.shape != relevant.shape:
        raise ValueError(f"scores {tuple(scores.shape)} and relevant {tuple(relevant.shape)} must have one shape")
    keep = relevant.any(1)
    if not keep.any():
        raise ValueError("no list has a relevant candidate; retrieve more candidates (a larger k) in the first stage")
    scores, relevant = scores[keep], relevant[keep]
    return (scores.logsumexp(1) - scores.masked_fill(~relevant, float("-inf")).logsumexp(1)).mean()


def _gather(item_tokens: torch.Tensor, item_mask: torch.Tensor | None,
            candidates: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Each query's candidates' tokens (n, k, item_len, dim) and mask."""
    return item_tokens[candidates], None if item_mask is None else item_mask[candidates]


def _as_tensors(query_tokens: Array, item_tokens: Array, candidates: Array, item_mask: Array | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Float tensors, long candidate rows, bool mask; checked for NaN and rows outside the catalog."""
    queries = torch.as_tensor(query_tokens, dtype=torch.float32)
    items = torch.as_tensor(item_tokens, dtype=torch.float32)
    for name, tokens in [("query_tokens", queries), ("item_tokens", items)]:
        if not torch.isfinite(tokens).all():
            raise ValueError(f"{name} contain NaN or inf; check the encoder that produced them")
    rows = torch.as_tensor(np.asarray(candidates), dtype=torch.long)
    if rows.ndim != 2 or rows.numel() == 0 or len(rows) != len(queries):
        raise ValueError(f"candidates must be non-empty (n_queries={len(queries)}, k) item rows, got "
                         f"{tuple(rows.shape)}")
    if not 0 <= int(rows.min()) <= int(rows.max()) < len(items):
        raise ValueError(f"candidate rows must lie in [0, {len(items)}); drop the first stage's missing (-1) slots")
    mask = None if item_mask is None else torch.as_tensor(item_mask, dtype=torch.bool)
    return queries, items, rows, mask


def train_reranker(model: CrossAttentionReranker, query_tokens: Array, item_tokens: Array, candidates: Array,
                   relevant: Array, item_mask: Array | None = None, epochs: int = 20, lr: float = 3e-3,
                   batch_size: int = 64, seed: int = 0, evaluate: Callable[[], float] | None = None,
                   patience: int | None = None, progress: bool = False) -> History:
    """Train with :func:`listwise_loss` on the first stage's candidate lists (shuffled each epoch, seeded)."""
    queries, items, rows, mask = _as_tensors(query_tokens, item_tokens, candidates, item_mask)
    relevant = torch.as_tensor(np.asarray(relevant), dtype=torch.bool)
    if relevant.shape != rows.shape:
        raise ValueError(f"relevant {tuple(relevant.shape)} must match candidates {tuple(rows.shape)}")

    def batches(epoch: int):
        order = torch.randperm(len(rows), generator=torch.Generator().manual_seed(seed * 1000 + epoch))
        for start in range(0, len(order), batch_size):
            pick = order[start:start + batch_size]
            yield (queries[pick], *_gather(items, mask, rows[pick]), relevant[pick])

    loss = lambda m, batch: listwise_loss(m(*batch[:3]), batch[3])
    return fit(model, batches, loss, epochs=epochs, lr=lr, evaluate=evaluate, patience=patience, progress=progress)


@torch.no_grad()
def rerank(model: CrossAttentionReranker, query_tokens: Array, item_tokens: Array, candidates: Array,
           item_mask: Array | None = None, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """The candidates re-ordered by the model: (scores, item rows), each (n_queries, k), best first; ties keep
    the first stage's order."""
    queries, items, rows, mask = _as_tensors(query_tokens, item_tokens, candidates, item_mask)
    model.eval()
    scores = torch.cat([model(queries[s:s + batch_size], *_gather(items, mask, rows[s:s + batch_size]))
                        for s in range(0, len(rows), batch_size)])
    order = scores.argsort(dim=1, descending=True, stable=True)
    return scores.gather(1, order).numpy(), rows.gather(1, order).numpy()
