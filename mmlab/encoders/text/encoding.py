"""Running a text encoder: texts and SKU passages in, unit vectors out (one per text, one per SKU)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from mmlab.config import one_thread
from mmlab.data.catalog import Catalog
from mmlab.encoders.tokenizers import TextTokenizer, pad_ids
from mmlab.models.text import ENCODERS, TextEncoder
from mmlab.retrieval import rank_ids

KINDS = tuple(ENCODERS)

def build_encoder(kind: str, tokenizer: TextTokenizer, dim: int = 128, dropout: float = 0.1,
                  encoders: dict[str, type[TextEncoder]] = ENCODERS) -> TextEncoder:
    """A fresh, untrained encoder of one of the ``KINDS`` (built from ``encoders``: a notebook passes its own)."""
    if kind not in encoders:
        raise ValueError(f"unknown encoder kind {kind!r}; choose one of {tuple(encoders)}")
    return encoders[kind](tokenizer, dim, dropout)


def n_parameters(model: nn.Module) -> int:
    """How many numbers the model learns."""
    return sum(p.numel() for p in model.parameters())



def length_buckets(id_lists: Sequence[Sequence[int]], size: int) -> list[np.ndarray]:
    """Positions of ``id_lists`` sorted by length and cut into groups of ``size``: texts of similar length go
    together, so little of each padded batch is padding (English passages are about half as long as Chinese)."""
    order = np.argsort([len(ids) for ids in id_lists], kind="stable")
    return [order[start:start + size] for start in range(0, len(order), size)]


@torch.no_grad()
def embed_ids(model: TextEncoder, id_lists: Sequence[Sequence[int]], batch_size: int = 256) -> np.ndarray:
    """Embed already tokenised texts: a float32 array (n, dim) of unit rows (eval mode, no gradients)."""
    was_training = model.training
    model.eval()
    vectors = np.empty((len(id_lists), model.dim), dtype=np.float32)
    with one_thread():
        for rows in length_buckets(id_lists, batch_size):
            vectors[rows] = model(*pad_ids([id_lists[i] for i in rows])).numpy()
    model.train(was_training)
    return vectors


def encode_texts(model: TextEncoder, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
    """Embed ``texts`` (any language of the catalog): a float32 array (len(texts), dim) of unit rows."""
    if not (isinstance(model, nn.Module) and hasattr(model, "tokenizer")):  # a notebook's own classes count too
        raise TypeError(f"model must be a text encoder (from trained_text_encoder), got {type(model).__name__}")
    if isinstance(texts, str) or not isinstance(texts, Sequence) or len(texts) == 0:
        raise TypeError("texts must be a non-empty list of str; wrap a single text in a list: [text]")
    return embed_ids(model, [model.tokenizer.encode(text) for text in texts], batch_size)


def sku_passages(skus: pd.DataFrame) -> tuple[list[str], np.ndarray]:
    """The texts the product tower reads, and the row of the SKU each belongs to: per SKU an English passage
    (title + description) and a Chinese one (skipped when blank, as in your own catalog without Chinese)."""
    texts, owners = [], []
    english = skus.title_en + " " + skus.description_en
    chinese = skus.title_zh + " " + skus.description_zh
    for row, passages in enumerate(zip(english, chinese)):
        for passage in passages:
            if passage.strip():
                texts.append(passage)
                owners.append(row)
    return texts, np.array(owners)


def pool_passages(vectors: torch.Tensor, owners: torch.Tensor, n_products: int) -> torch.Tensor:
    """One unit vector per product: the normalised sum of its passages' vectors (so both languages count)."""
    summed = torch.zeros(n_products, vectors.shape[1], dtype=vectors.dtype).index_add(0, owners, vectors)
    return F.normalize(summed, dim=-1)


def embed_products(model: TextEncoder, passage_ids: Sequence[Sequence[int]], owners: np.ndarray,
                   n_products: int) -> np.ndarray:
    """Product vectors (n_products, dim) from tokenised passages."""
    vectors = torch.from_numpy(embed_ids(model, passage_ids))
    return pool_passages(vectors, torch.from_numpy(owners), n_products).numpy()


def product_text_embeddings(model: TextEncoder, catalog: Catalog) -> np.ndarray:
    """Every SKU's text embedding, (n_skus, dim) unit rows in ``catalog.skus`` order."""
    texts, owners = sku_passages(catalog.skus)
    return embed_products(model, [model.tokenizer.encode(t) for t in texts], owners, len(catalog.skus))


def encoder_ranker(model: TextEncoder, catalog: Catalog) -> Callable[[list[str], int], list[list[str]]]:
    """A ranker (texts, k -> SKU ids, best first) that searches the catalog with ``model`` by cosine."""
    products = product_text_embeddings(model, catalog)
    return lambda texts, k: rank_ids(encode_texts(model, texts), products, catalog.skus.sku_id, k)
