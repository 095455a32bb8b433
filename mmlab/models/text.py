"""The models of notebook 03 · Text encoder: from typed words to a search vector.

Written, explained and trained in notebooks/03_text_encoder.ipynb. Generated from that notebook's cells marked ``#@save``
(``python -m tools.saved_cells``): edit the notebook, not this file.
"""

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmlab.encoders.tokenizers import MAX_LEN, PAD_ID, TextTokenizer, pad_batch
from mmlab.pooling import masked_mean


class TextEncoder(nn.Module):
    """What every text encoder shares: token ids (B, L) and their mask in, unit vectors (B, dim) out; the
    tokeniser travels with the weights."""

    def __init__(self, tokenizer: TextTokenizer, dim: int) -> None:
        super().__init__()
        self.tokenizer, self.dim = tokenizer, dim

    def vectors(self, ids: Tensor, mask: Tensor) -> Tensor:
        raise NotImplementedError("a text encoder defines vectors(ids, mask) -> (B, dim)")

    def forward(self, ids: Tensor, mask: Tensor) -> Tensor:
        if ids.ndim != 2 or ids.shape != mask.shape:
            raise ValueError(f"ids and mask must both be (batch, length), got {tuple(ids.shape)} and "
                             f"{tuple(mask.shape)}; build them with pad_batch")
        return F.normalize(self.vectors(ids, mask), dim=-1)                  # (B, dim), unit rows


def token_embedding(vocab_size: int, dim: int, std: float = 0.1) -> nn.Embedding:
    """A token-embedding table drawn from N(0, std²), the padding row zero (PyTorch's default is N(0, 1): with
    Adam at lr 0.01 such vectors need ten times more steps to turn)."""
    embed = nn.Embedding(vocab_size, dim, padding_idx=PAD_ID)
    nn.init.normal_(embed.weight, std=std)
    with torch.no_grad():
        embed.weight[PAD_ID].zero_()
    return embed


class MeanEncoder(TextEncoder):
    """Bag of embeddings: one learned vector per token, averaged over the text (dropout while training)."""

    def __init__(self, tokenizer: TextTokenizer, dim: int = 128, dropout: float = 0.1) -> None:
        super().__init__(tokenizer, dim)
        self.embed = token_embedding(tokenizer.vocab_size, dim)
        self.dropout = nn.Dropout(dropout)

    def vectors(self, ids: Tensor, mask: Tensor) -> Tensor:
        return masked_mean(self.dropout(self.embed(ids)), mask)              # (B, L, dim) -> (B, dim)


def reverse_padded(x: Tensor, lengths: Tensor) -> Tensor:
    """Reverse each sequence of ``x`` (B, L, ...) within its own length; the padding stays at the end."""
    positions = torch.arange(x.shape[1]).expand(len(lengths), -1)                       # (B, L)
    order = torch.where(positions < lengths[:, None], lengths[:, None] - 1 - positions, positions)
    return x.gather(1, order.view(*order.shape, *[1] * (x.ndim - 2)).expand_as(x))


class GRUEncoder(TextEncoder):
    """Token embeddings -> a GRU reading left to right and one reading right to left -> masked mean of their
    states -> linear to ``dim``.

    The right-to-left GRU reads each text reversed *within its length*, so it starts at the last real token,
    never at the padding (``nn.GRU(bidirectional=True)`` on a padded batch would start on the padding).
    """

    def __init__(self, tokenizer: TextTokenizer, dim: int = 128, dropout: float = 0.1, embed_dim: int = 128,
                 hidden: int = 64) -> None:
        super().__init__(tokenizer, dim)
        self.embed = token_embedding(tokenizer.vocab_size, embed_dim)
        self.left_to_right = nn.GRU(embed_dim, hidden, batch_first=True)
        self.right_to_left = nn.GRU(embed_dim, hidden, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(2 * hidden, dim)

    def vectors(self, ids: Tensor, mask: Tensor) -> Tensor:
        x, lengths = self.dropout(self.embed(ids)), mask.sum(dim=1)                     # (B, L, E), (B,)
        ahead, _ = self.left_to_right(x)                                                 # (B, L, H)
        behind, _ = self.right_to_left(reverse_padded(x, lengths))                       # (B, L, H), reversed
        states = torch.cat([ahead, reverse_padded(behind, lengths)], dim=-1)             # (B, L, 2H)
        return self.out(masked_mean(self.dropout(states), mask))                         # (B, dim)


class SelfAttention(nn.Module):
    """Multi-head self-attention: each token mixes in the values of every real token of its text, weighted by
    softmax(q·k / √d_head). No causal mask (a text encoder reads the whole text); padding is never attended to."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        assert dim % heads == 0, f"dim={dim} must be divisible by heads={heads}"
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)                                   # queries, keys, values in one
        self.out = nn.Linear(dim, dim)
        self.dropout = nn.Dropout(dropout)
        self.weights: Tensor | None = None                                   # the last attention maps (B, h, L, L)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        B, L, D = x.shape
        q, k, v = self.qkv(x).split(D, dim=2)                                # 3 × (B, L, D)
        q, k, v = (t.view(B, L, self.heads, D // self.heads).transpose(1, 2) for t in (q, k, v))  # (B, h, L, d)
        scores = q @ k.transpose(-2, -1) / math.sqrt(D // self.heads)       # (B, h, L, L)
        scores = scores.masked_fill(~mask[:, None, None, :], -math.inf)     # keys on padding: weight 0
        weights = scores.softmax(dim=-1)                                     # each row sums to 1
        self.weights = weights.detach()
        mixed = self.dropout(weights) @ v                                    # (B, h, L, d)
        return self.out(mixed.transpose(1, 2).reshape(B, L, D))             # heads side by side -> (B, L, D)


class Block(nn.Module):
    """A Transformer block as in GPT-2 / nanoGPT (pre-norm): x + attention(norm(x)), then x + MLP(norm(x))."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.norm1, self.attention = nn.LayerNorm(dim), SelfAttention(dim, heads, dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim), nn.Dropout(dropout))

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        x = x + self.attention(self.norm1(x), mask)                          # tokens exchange information
        return x + self.mlp(self.norm2(x))                                   # each token is transformed alone


class TransformerEncoder(TextEncoder):
    """A tiny Transformer encoder trained from scratch: token + position embeddings, normalised -> ``layers``
    blocks -> masked mean of the last states. Word order enters only through the position embeddings."""

    def __init__(self, tokenizer: TextTokenizer, dim: int = 128, dropout: float = 0.1, layers: int = 2,
                 heads: int = 4, max_len: int = MAX_LEN) -> None:
        super().__init__(tokenizer, dim)
        self.embed = token_embedding(tokenizer.vocab_size, dim, std=0.02)
        self.position = nn.Embedding(max_len, dim)
        self.embed_norm, self.dropout = nn.LayerNorm(dim), nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(dim, heads, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)
        nn.init.normal_(self.position.weight, std=0.02)                      # small weights, as BERT and GPT-2
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=0.02)
                nn.init.zeros_(module.bias)

    def vectors(self, ids: Tensor, mask: Tensor) -> Tensor:
        positions = torch.arange(ids.shape[1], device=ids.device)            # (L,)
        x = self.dropout(self.embed_norm(self.embed(ids) + self.position(positions)))  # (B, L, dim)
        for block in self.blocks:
            x = block(x, mask)
        return masked_mean(self.norm(x), mask)                               # (B, dim)

    @torch.no_grad()
    def attention_maps(self, text: str) -> tuple[list[str], Tensor]:
        """The tokens of ``text`` and each layer's attention weights (layers, heads, L, L); row = who attends."""
        was_training = self.training
        self.eval()                                                          # no dropout on what we look at
        self(*pad_batch(self.tokenizer, [text]))
        self.train(was_training)
        pieces = self.tokenizer.tokenize(text) or ["[UNK]"]
        return pieces, torch.stack([block.attention.weights[0] for block in self.blocks])


ENCODERS: dict[str, type[TextEncoder]] = {"mean": MeanEncoder, "gru": GRUEncoder, "transformer": TransformerEncoder}
