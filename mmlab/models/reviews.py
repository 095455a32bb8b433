"""The models of notebook 04 · Reviews and behaviour: word embeddings, a review encoder, item2vec.

Written, explained and trained in notebooks/04_reviews_and_behaviour.ipynb. Generated from that notebook's cells marked ``#@save``
(``python -m tools.saved_cells``): edit the notebook, not this file.
"""

import torch
import torch.nn.functional as F
from torch import Tensor, nn

PAD = 0  # token id of padding; word i of a vocabulary has id i + 1 in the review encoder


def negative_sampling_loss(centre: Tensor, context: Tensor, negatives: Tensor) -> Tensor:
    """-log σ(u·v) - Σ_k log σ(-u·n_k), averaged over the batch: centre u (B, D), context v (B, D), negatives n
    (B, K, D)."""
    assert centre.ndim == 2 and context.shape == centre.shape, \
        f"centre and context must both be (B, D), got {tuple(centre.shape)}, {tuple(context.shape)}"
    assert negatives.ndim == 3 and negatives.shape[0] == centre.shape[0] and negatives.shape[2] == centre.shape[1], \
        f"negatives must be (B, K, D) = ({centre.shape[0]}, K, {centre.shape[1]}), got {tuple(negatives.shape)}"
    positive = F.logsigmoid((centre * context).sum(dim=1))                               # (B,)
    negative = F.logsigmoid(-(negatives * centre.unsqueeze(1)).sum(dim=2)).sum(dim=1)    # (B, K) dots -> (B,)
    return -(positive + negative).mean()


class SkipGram(nn.Module):
    """Two embedding tables: centre vectors (kept as the embeddings) and context vectors (used in training)."""

    def __init__(self, vocab_size: int, dim: int) -> None:
        super().__init__()
        self.centre = nn.Embedding(vocab_size, dim)
        self.context = nn.Embedding(vocab_size, dim)
        nn.init.uniform_(self.centre.weight, -0.5 / dim, 0.5 / dim)  # word2vec's initialisation
        nn.init.zeros_(self.context.weight)

    def forward(self, centre: Tensor, context: Tensor, negatives: Tensor) -> Tensor:
        """The negative-sampling loss of a batch of ids: centre (B,), context (B,), negatives (B, K)."""
        return negative_sampling_loss(self.centre(centre), self.context(context), self.context(negatives))


def masked_softmax(scores: Tensor, mask: Tensor) -> Tensor:
    """Softmax over the last axis counting only positions where ``mask`` is True; the rest get exactly 0."""
    assert scores.shape == mask.shape and mask.dtype == torch.bool, \
        f"mask must be a bool tensor shaped like scores {tuple(scores.shape)}, got {mask.dtype} {tuple(mask.shape)}"
    assert mask.any(dim=-1).all(), "a row of the mask has no True entry (a SKU without reviews): select the rows " \
        "with mask.any(dim=-1) first"
    return scores.masked_fill(~mask, float("-inf")).softmax(dim=-1)


class AttentionPooling(nn.Module):
    """One vector from several: a small network scores each, a masked softmax turns scores into weights."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.score = nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """x (B, R, D), mask (B, R) -> pooled (B, D) and weights (B, R) (rows sum to 1, padding gets 0)."""
        weights = masked_softmax(self.score(x).squeeze(-1), mask)                        # (B, R)
        return (weights.unsqueeze(-1) * x).sum(dim=1), weights                           # (B, D), (B, R)


class ReviewEncoder(nn.Module):
    """Word embeddings -> mean per review -> FC layers -> attention pooling over the SKU's reviews."""

    def __init__(self, word_vectors: Tensor, hidden: int, dim: int, freeze_words: bool) -> None:
        super().__init__()
        table = torch.cat([torch.zeros(1, word_vectors.shape[1]), torch.as_tensor(word_vectors, dtype=torch.float32)])
        self.words = nn.Embedding.from_pretrained(table, freeze=freeze_words, padding_idx=PAD)
        self.review = nn.Sequential(nn.Linear(word_vectors.shape[1], hidden), nn.ReLU(), nn.Linear(hidden, dim))
        self.pool = AttentionPooling(dim, hidden)
        self.rating = nn.Linear(dim, 1)  # training head only: predicts the standardised mean rating

    def encode_reviews(self, ids: Tensor) -> Tensor:
        """ids (B, R, T) -> one vector per review (B, R, dim)."""
        known = (ids != PAD).unsqueeze(-1).float()                                       # (B, R, T, 1)
        bag = (self.words(ids) * known).sum(dim=2) / known.sum(dim=2).clamp(min=1)       # (B, R, E) mean of words
        return self.review(bag)

    def forward(self, ids: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """ids (B, R, T), mask (B, R) -> SKU vectors (B, dim) and attention weights (B, R)."""
        assert ids.ndim == 3 and mask.shape == ids.shape[:2], \
            f"ids must be (B, R, T) and mask (B, R); got {tuple(ids.shape)} and {tuple(mask.shape)}"
        return self.pool(self.encode_reviews(ids), mask)
