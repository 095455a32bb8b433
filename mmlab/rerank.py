"""Interaction re-ranking: a small cross-attention scorer re-orders the top-k of a first-stage retriever.

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
from torch import nn

from mmlab.pooling import masked_mean
from mmlab.train import History, fit

Array = np.ndarray | torch.Tensor


class CrossAttentionReranker(nn.Module):
    """Score (query, candidate) pairs: query tokens attend over the candidate's tokens, then an MLP scores; plus
    ``prior_scale`` times the first stage's score when one is given."""

    def __init__(self, query_dim: int, item_dim: int, dim: int = 64, heads: int = 4,
                 prior_scale: float = 10.0) -> None:
        super().__init__()
        self.query_in, self.item_in = nn.Linear(query_dim, dim), nn.Linear(item_dim, dim)
        self.attend = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm = nn.LayerNorm(dim)
        self.score = nn.Sequential(nn.Linear(4 * dim, dim), nn.GELU(), nn.Linear(dim, 1))
        nn.init.zeros_(self.score[-1].weight)  # untrained: no correction to the first stage
        nn.init.zeros_(self.score[-1].bias)
        self.prior_scale = nn.Parameter(torch.tensor(prior_scale))

    def forward(self, query_tokens: torch.Tensor, item_tokens: torch.Tensor, item_mask: torch.Tensor | None = None,
                prior: torch.Tensor | None = None, query_mask: torch.Tensor | None = None,
                return_attention: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Scores (batch, k) for query tokens (batch, q_len, query_dim), each query's candidates' tokens
        (batch, k, item_len, item_dim) and their first-stage scores ``prior`` (batch, k); with
        ``return_attention`` also the weights (batch, k, q_len, item_len)."""
        _check_shapes(query_tokens, item_tokens, item_mask, query_mask)
        if (query_tokens.shape[-1], item_tokens.shape[-1]) != (self.query_in.in_features, self.item_in.in_features):
            raise ValueError(f"token dimensions {query_tokens.shape[-1]} (query) and {item_tokens.shape[-1]} (item) "
                             f"do not match the model's {self.query_in.in_features} and "
                             f"{self.item_in.in_features}; build the model with the encoders' output sizes")
        batch, k, item_len, _ = item_tokens.shape
        q = self.query_in(query_tokens).repeat_interleave(k, dim=0)  # (batch * k, q_len, dim)
        x = self.item_in(item_tokens.flatten(0, 1))                   # (batch * k, item_len, dim)
        padding = None if item_mask is None else ~item_mask.flatten(0, 1)
        found, weights = self.attend(q, x, x, key_padding_mask=padding)
        present = torch.ones(query_tokens.shape[:2], dtype=torch.bool) if query_mask is None else query_mask
        present = present.repeat_interleave(k, dim=0)  # (batch * k, q_len)
        found, asked = masked_mean(self.norm(q + found), present), masked_mean(q, present)
        scores = self.score(torch.cat([asked, found, asked * found, (asked - found).abs()], dim=1)).view(batch, k)
        if prior is not None:
            if prior.shape != scores.shape:
                raise ValueError(f"prior must hold one first-stage score per candidate, shape {tuple(scores.shape)}, "
                                 f"got {tuple(prior.shape)}")
            scores = scores + self.prior_scale * prior
        return (scores, weights.view(batch, k, *weights.shape[1:])) if return_attention else scores


def _check_shapes(query_tokens: torch.Tensor, item_tokens: torch.Tensor, item_mask: torch.Tensor | None,
                  query_mask: torch.Tensor | None) -> None:
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
    if query_mask is not None:
        if query_mask.shape != query_tokens.shape[:2] or query_mask.dtype != torch.bool:
            raise ValueError(f"query_mask must be bool of shape {tuple(query_tokens.shape[:2])}, got "
                             f"{query_mask.dtype} {tuple(query_mask.shape)}")
        if not query_mask.any(-1).all():
            raise ValueError("a query has no tokens at all (query_mask all False); drop empty queries first")


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
    as_bool = lambda mask: None if mask is None else torch.as_tensor(np.asarray(mask), dtype=torch.bool)
    return _Lists(queries, as_bool(query_mask), items, as_bool(item_mask), rows, scores)


def train_reranker(model: CrossAttentionReranker, query_tokens: Array, item_tokens: Array, candidates: Array,
                   relevant: Array, item_mask: Array | None = None, prior: Array | None = None,
                   query_mask: Array | None = None, epochs: int = 20, lr: float = 3e-3, batch_size: int = 64,
                   seed: int = 0, evaluate: Callable[[], float] | None = None, patience: int | None = None,
                   progress: bool = False) -> History:
    """Train with :func:`listwise_loss` on the first stage's candidate lists (shuffled each epoch, seeded)."""
    lists = _lists(query_tokens, item_tokens, candidates, item_mask, prior, query_mask)
    relevant = torch.as_tensor(np.asarray(relevant), dtype=torch.bool)
    if relevant.shape != lists.rows.shape:
        raise ValueError(f"relevant {tuple(relevant.shape)} must match candidates {tuple(lists.rows.shape)}")

    def batches(epoch: int):
        order = torch.randperm(len(relevant), generator=torch.Generator().manual_seed(seed * 1000 + epoch))
        for start in range(0, len(order), batch_size):
            pick = order[start:start + batch_size]
            yield lists.batch(pick), relevant[pick]

    loss = lambda m, batch: listwise_loss(m(*batch[0]), batch[1])
    return fit(model, batches, loss, epochs=epochs, lr=lr, evaluate=evaluate, patience=patience, progress=progress)


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
