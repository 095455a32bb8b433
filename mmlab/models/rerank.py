"""The models of notebook 09 · The search system: hybrid search, re-ranking, approximate search and a vector database.

Written, explained and trained in notebooks/09_search_system.ipynb. Generated from that notebook's cells marked ``#@save``
(``python -m tools.saved_cells``): edit the notebook, not this file.
"""

import torch
from torch import Tensor, nn

from mmlab.pooling import masked_mean


class CrossAttentionReranker(nn.Module):
    """Score (query, candidate) pairs: the query's tokens attend over the candidate's tokens, and an MLP scores
    what they found; plus ``prior_scale`` times the first stage's score when one is given."""

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

    def forward(self, query_tokens: Tensor, item_tokens: Tensor, item_mask: Tensor | None = None,
                prior: Tensor | None = None, query_mask: Tensor | None = None,
                return_attention: bool = False) -> Tensor | tuple[Tensor, Tensor]:
        """Scores (batch, k) for query tokens (batch, q_len, query_dim), each query's candidates' tokens
        (batch, k, item_len, item_dim) and their first-stage scores ``prior`` (batch, k); with
        ``return_attention`` also the weights (batch, k, q_len, item_len)."""
        assert query_tokens.ndim == 3 and item_tokens.ndim == 4 and len(query_tokens) == len(item_tokens), \
            f"expected query tokens (batch, q_len, dim) and item tokens (batch, k, item_len, dim) with the same " \
            f"batch, got {tuple(query_tokens.shape)} and {tuple(item_tokens.shape)}"
        assert (query_tokens.shape[-1], item_tokens.shape[-1]) == (self.query_in.in_features,
                                                                   self.item_in.in_features), \
            f"token dimensions {query_tokens.shape[-1]} (query) and {item_tokens.shape[-1]} (item) do not match " \
            f"the model's {self.query_in.in_features} and {self.item_in.in_features}"
        batch, k, item_len, _ = item_tokens.shape
        q = self.query_in(query_tokens).repeat_interleave(k, dim=0)         # (batch * k, q_len, dim), per candidate
        x = self.item_in(item_tokens.flatten(0, 1))                          # (batch * k, item_len, dim)
        padding = None if item_mask is None else ~item_mask.flatten(0, 1)    # (batch * k, item_len): True = absent
        found, weights = self.attend(q, x, x, key_padding_mask=padding)      # what each query token finds
        present = torch.ones(query_tokens.shape[:2], dtype=torch.bool) if query_mask is None else query_mask
        present = present.repeat_interleave(k, dim=0)                        # (batch * k, q_len)
        found, asked = masked_mean(self.norm(q + found), present), masked_mean(q, present)  # (batch * k, dim) each
        scores = self.score(torch.cat([asked, found, asked * found, (asked - found).abs()], dim=1)).view(batch, k)
        if prior is not None:
            assert prior.shape == scores.shape, \
                f"prior must hold one first-stage score per candidate, shape {tuple(scores.shape)}, got " \
                f"{tuple(prior.shape)}"
            scores = scores + self.prior_scale * prior                       # a learned correction to it
        return (scores, weights.view(batch, k, *weights.shape[1:])) if return_attention else scores


def listwise_loss(scores: Tensor, relevant: Tensor) -> Tensor:
    """In-list softmax (InfoNCE over the candidates): -log of the probability mass on the relevant ones.

    Lists with no relevant candidate (the first stage missed) carry no signal and are skipped."""
    assert scores.shape == relevant.shape, f"scores {tuple(scores.shape)} and relevant {tuple(relevant.shape)}"
    keep = relevant.any(1)                                                   # (n_lists,)
    if not keep.any():
        raise ValueError("no list has a relevant candidate; retrieve more candidates (a larger k) in the first stage")
    scores, relevant = scores[keep], relevant[keep]
    return (scores.logsumexp(1) - scores.masked_fill(~relevant, float("-inf")).logsumexp(1)).mean()
