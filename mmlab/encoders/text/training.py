"""Training a text encoder: tokenisers, the shared-tower InfoNCE objective, the product sampler, the zoo."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from mmlab import augment, zoo
from mmlab.data.catalog import Catalog
from mmlab.encoders.text.encoding import (KINDS, build_encoder, embed_products, encode_texts, length_buckets,
                                         n_parameters, pool_passages, sku_passages)
from mmlab.encoders.text.queries import augment_query, ndcg_by_query_set
from mmlab.encoders.tokenizers import TextTokenizer, WordPiece, WordVocab, pad_batch, pad_ids
from mmlab.models.losses import info_nce
from mmlab.models.text import ENCODERS, TextEncoder
from mmlab.retrieval import rank_ids
from mmlab.train import fit, summary

VERSION = 2  # part of every checkpoint's key: bump it when a code change alters what training produces


@dataclass(frozen=True)
class TextConfig:
    """Everything that decides the trained weights (the zoo keys checkpoints by it)."""

    kind: str = "mean"
    tokenizer: str = "wordpiece"  # or "word"
    vocab_size: int = 3000  # WordPiece only
    dim: int = 128
    dropout: float = 0.1
    epochs: int = 12
    batch_size: int = 64  # products per batch (with all their training queries)
    lr: float = 1e-2
    temperature: float = 0.05
    p_typo: float = 0.3
    p_synonym: float = 0.3
    patience: int = 3


def training_skus(catalog: Catalog) -> pd.DataFrame:
    """The SKUs of the product types that are not zero-shot: the only products training may look at."""
    zero_shot = set(catalog.types.type_id[catalog.types.zero_shot])
    return catalog.skus[~catalog.skus.type_id.isin(zero_shot)]


def training_queries(catalog: Catalog) -> pd.DataFrame:
    """The typed queries of the TRAIN split."""
    return catalog.queries[(catalog.queries.modality == "text") & (catalog.queries.split == "train")]


def tokenizer_texts(catalog: Catalog) -> list[str]:
    """What the tokenisers learn from: the training SKUs' passages and the training queries."""
    return sku_passages(training_skus(catalog))[0] + training_queries(catalog).text.tolist()


def fit_tokenizer(catalog: Catalog, kind: str = "wordpiece", vocab_size: int = 3000) -> TextTokenizer:
    """The catalog's tokeniser, learned from ``tokenizer_texts``: a word vocabulary or a WordPiece."""
    if kind == "word":
        return WordVocab.fit(tokenizer_texts(catalog))
    if kind != "wordpiece":
        raise ValueError(f"unknown tokenizer {kind!r}; use 'word' or 'wordpiece'")
    return WordPiece.fit(tokenizer_texts(catalog), vocab_size)


def vocabulary_hash(tokenizer: TextTokenizer) -> str:
    """A short hash of the token -> id table: a model trained with one vocabulary is useless with another."""
    table = tokenizer.stoi if isinstance(tokenizer, WordVocab) else tokenizer.hf.get_vocab()
    return hashlib.sha256(repr(sorted(table.items())).encode()).hexdigest()[:16]


@dataclass
class Batch:
    """One training step: some products (their passages, and which product each passage belongs to), the
    training queries about them, which product each query wants, and the pairs that are no negatives."""

    passages: list[tuple[torch.Tensor, torch.Tensor]]  # padded groups of passages of similar length
    owners: torch.Tensor  # the product of each passage, in the order of the groups
    queries: tuple[torch.Tensor, torch.Tensor]
    targets: torch.Tensor
    also_relevant: torch.Tensor

    def loss(self, model: TextEncoder, temperature: float) -> torch.Tensor:
        vectors = torch.cat([model(ids, mask) for ids, mask in self.passages])
        products = pool_passages(vectors, self.owners, self.also_relevant.shape[1])
        logits = model(*self.queries) @ products.T / temperature                    # (queries, products)
        positives = F.one_hot(self.targets, len(products)).bool()                   # one target per query
        return info_nce(logits, positives, symmetric=False, ignore=self.also_relevant)


class ProductSampler:
    """Batches of ``batch_size`` products with all their training queries, reshuffled and re-augmented every
    epoch. Each product is encoded once per epoch, however many queries point at it."""

    def __init__(self, catalog: Catalog, config: TextConfig, tokenizer: TextTokenizer, seed: int) -> None:
        self.config, self.tokenizer, self.seed = config, tokenizer, seed
        queries = training_queries(catalog)
        self.queries = {sku: rows for sku, rows in queries.groupby("target_sku", sort=True)}
        self.relevance = catalog.relevance(queries.query_id)
        skus = catalog.skus[catalog.skus.sku_id.isin(self.queries)]
        texts, owners = sku_passages(skus)
        self.passages = {sku: [tokenizer.encode(texts[i]) for i in np.flatnonzero(owners == row)]
                         for row, sku in enumerate(skus.sku_id)}
        table = augment.synonym_table(catalog.types[~catalog.types.zero_shot])
        names = catalog.types.set_index("type_id")[["name_en", "name_zh"]].apply(lambda n: n.str.lower())
        self.synonyms = {t: {n: table[n] for n in names.loc[t] if n in table} for t in names.index}

    def __call__(self, epoch: int) -> Iterator[Batch]:
        rng = np.random.default_rng([self.seed, epoch])
        products = rng.permutation(list(self.queries))
        for start in range(0, len(products), self.config.batch_size):
            yield self.batch(list(products[start:start + self.config.batch_size]), rng)

    def batch(self, products: list[str], rng: np.random.Generator) -> Batch:
        rows = pd.concat([self.queries[p] for p in products])
        texts = [augment_query(t, lang, self.synonyms[type_id], rng, self.config.p_typo, self.config.p_synonym)
                 for t, lang, type_id in zip(rows.text, rows.lang, rows.type_id)]
        passages = [ids for p in products for ids in self.passages[p]]
        owners = np.array([row for row, p in enumerate(products) for _ in self.passages[p]])
        groups = length_buckets(passages, self.config.batch_size)
        also = [[grades.get(p, 0) == 2 and p != target for p in products]
                for grades, target in zip((self.relevance[q] for q in rows.query_id), rows.target_sku)]
        return Batch([pad_ids([passages[i] for i in group]) for group in groups],
                     torch.from_numpy(owners[np.concatenate(groups)]), pad_batch(self.tokenizer, texts),
                     torch.tensor([products.index(t) for t in rows.target_sku]), torch.tensor(also))


def val_ndcg(model: TextEncoder, catalog: Catalog) -> Callable[[], float]:
    """The score the training loop tracks: NDCG@10 over all VAL queries (both languages), whole catalog."""
    texts, owners = sku_passages(catalog.skus)
    passage_ids = [model.tokenizer.encode(t) for t in texts]

    def rank(queries: list[str], k: int) -> list[list[str]]:
        products = embed_products(model, passage_ids, owners, len(catalog.skus))
        return rank_ids(encode_texts(model, queries), products, catalog.skus.sku_id, k)

    return lambda: ndcg_by_query_set(catalog, rank, "val")["all"]


def train_text_encoder(model: TextEncoder, catalog: Catalog, config: TextConfig, seed: int = 0,
                       progress: bool = True) -> dict:
    """Train ``model`` with in-batch InfoNCE on the training queries; keep the epoch best on VAL. A summary."""
    sampler = ProductSampler(catalog, config, model.tokenizer, seed)
    # one thread, like every model the zoo trains (``zoo.trained``)
    history = fit(model, sampler, lambda m, batch: batch.loss(m, config.temperature), epochs=config.epochs,
                  lr=config.lr, evaluate=val_ndcg(model, catalog), patience=config.patience, progress=progress)
    return summary(history, "ndcg10", parameters=n_parameters(model))


# Per encoder: learning rate and epochs, picked on the VAL queries within the notebook's 3-minute CPU budget
# (an epoch of the tiny Transformer costs about 8x one of the bag of embeddings, the GRU about 4x). The
# Transformer starts its embeddings at std 0.02 (as BERT and GPT-2 do), hence its lower learning rate.
KIND_SETTINGS = {"mean": {"lr": 1e-2, "epochs": 12}, "gru": {"lr": 1e-2, "epochs": 8},
                 "transformer": {"lr": 2e-3, "epochs": 6}}


def default_config(kind: str, fast: bool) -> TextConfig:
    """The configuration a notebook trains for an encoder kind (FAST mode: half the epochs)."""
    if kind not in KINDS:
        raise ValueError(f"unknown encoder kind {kind!r}; choose one of {KINDS}")
    config = TextConfig(kind=kind, **KIND_SETTINGS[kind])
    return replace(config, epochs=config.epochs // 2) if fast else config


def trained_text_encoder(catalog: Catalog, kind: str = "mean", seed: int = 0, progress: bool = True,
                         encoders: dict[str, type[TextEncoder]] = ENCODERS, **overrides) -> tuple[TextEncoder, dict]:
    """A text encoder trained on ``catalog``, from the zoo cache if it was trained before with the same code:
    ``(model, summary)``. ``encoders`` are the classes to build from (a notebook passes the ones it writes).

    ``overrides`` change fields of the default :class:`TextConfig` (e.g. ``epochs=2``, ``tokenizer="word"``).
    """
    unknown = set(overrides) - set(TextConfig.__dataclass_fields__)
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}; TextConfig has {list(TextConfig.__dataclass_fields__)}")
    config = replace(default_config(kind, catalog.fast), **overrides)
    tokenizer = fit_tokenizer(catalog, config.tokenizer, config.vocab_size)
    code = zoo.code_fingerprint(encoders[kind], train_text_encoder, Batch)
    key = asdict(config) | {"vocabulary": vocabulary_hash(tokenizer), "seed": seed, "version": VERSION, "code": code}
    return zoo.trained(f"text-{kind}", key, catalog.fingerprint(),
                       build=lambda: build_encoder(kind, tokenizer, config.dim, config.dropout, encoders),
                       train=lambda m: train_text_encoder(m, catalog, config, seed, progress), seed=seed)
