"""Pretrained text embeddings that ship inside a wheel: WordLlama, a no-training baseline that works offline.

WordLlama (``wordllama`` on PyPI) keeps only the token-embedding table of a large language model, distilled into
256-dimensional static vectors, one per token of that model's tokeniser (32,000 tokens). A text's embedding is
the average of its tokens' vectors, like our ``MeanEncoder``, but learned from web-scale English text instead of
our catalog. Its weights and tokeniser are files inside the installed package; we point ``cache_dir`` at that
folder and set ``disable_download=True``, so it never touches the network.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch

from mmlab.encoders.text import pool_passages, sku_passages
from mmlab.preprocess import normalize_text

if TYPE_CHECKING:
    from wordllama.inference import WordLlamaInference


@lru_cache(maxsize=2)
def load_wordllama(dim: int = 256) -> WordLlamaInference:
    """The WordLlama model from the installed wheel (``WordLlamaInference``), loaded once; never downloads."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    import wordllama  # its import calls logging.basicConfig(level=INFO); undo that so notebooks stay quiet

    root.setLevel(level)
    root.handlers[:] = handlers
    folder = Path(wordllama.__file__).parent
    try:
        return wordllama.WordLlama.load(cache_dir=folder, dim=dim, disable_download=True)
    except FileNotFoundError as error:
        raise FileNotFoundError(f"WordLlama's files are missing from {folder} ({error}); reinstall the pinned "
                                "wheel: pip install --force-reinstall wordllama") from error


def wordllama_embed(model: WordLlamaInference, texts: Sequence[str]) -> np.ndarray:
    """Unit-length WordLlama embeddings (len(texts), dim) of the normalised texts."""
    if isinstance(texts, str) or not isinstance(texts, Sequence) or len(texts) == 0:
        raise TypeError("texts must be a non-empty list of str; wrap a single text in a list: [text]")
    return model.embed([normalize_text(t) for t in texts], norm=True)


def wordllama_product_embeddings(model: WordLlamaInference, skus: pd.DataFrame) -> np.ndarray:
    """One WordLlama vector per SKU, pooled from its passages exactly as for our encoders."""
    texts, owners = sku_passages(skus)
    vectors = torch.from_numpy(wordllama_embed(model, texts))
    return pool_passages(vectors, torch.from_numpy(owners), len(skus)).numpy()
