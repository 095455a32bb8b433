"""Text encoders for query -> product retrieval: text in, one L2-normalised ``dim``-vector out.

Three encoders, from simplest to richest, all ``forward(ids, mask) -> (B, dim)`` unit vectors:

``MeanEncoder``         bag of embeddings: the masked mean of the token embeddings. Word order is lost.
``GRUEncoder``          a bidirectional GRU reads the tokens in both directions; its states are mean-pooled.
``TransformerEncoder``  a tiny Transformer trained from scratch: every token attends to every other one; the last
                        layer's states are mean-pooled.

The encoders are written in notebook 03 and saved to :mod:`mmlab.models.text`; this module trains and caches them.

A product is read as passages, its English title + description and its Chinese ones; its vector is the
normalised sum of its passages' vectors, so one index serves queries in both languages.

Training (``train_text_encoder``): a two-tower model with ONE shared tower. Queries and product texts are in the
same languages and use the same words ("red cotton t-shirt" in both), and there are only ~3,000 training queries:
one tower sees twice the data, and the words it learns from product descriptions (the keyword tags) serve
queries too. The loss is InfoNCE with in-batch negatives: each query must pick its target SKU among the batch's
products. A batch SKU that also fully matches a query (grade 2, e.g. another "fondue" when the query names no
attribute) is taken out of that query's negatives: ranking it high is not wrong.

Honesty: the tokenisers and models learn only from the TRAIN queries and the SKUs of the product types that are
not zero-shot; learning rates and epochs were picked on the VAL queries; test and zero-shot queries are for the
final table only.

Public API used by later notebooks::

    model, summary = trained_text_encoder(catalog, kind="mean")  # "mean" | "gru" | "transformer"; in the zoo
    queries = encode_texts(model, ["red t-shirt", "红色T恤"])      # (2, dim) float32, unit rows
    products = product_text_embeddings(model, catalog)           # (n_skus, dim), rows in catalog.skus order
    ranked = bm25_rank(catalog, ["red t-shirt"], k=10)           # the lexical baseline: SKU ids per text
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace

import bm25s
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from mmlab import augment, zoo
from mmlab.config import one_thread
from mmlab.data.catalog import Catalog
from mmlab.data.queries import typo
from mmlab.encoders.tokenizers import TextTokenizer, WordPiece, WordVocab, pad_batch, pad_ids
from mmlab.metrics import ndcg_per_query
from mmlab.models.text import ENCODERS, TextEncoder
from mmlab.preprocess import normalize_text, tokens
from mmlab.retrieval import rank_ids
from mmlab.train import fit, summary

KINDS = tuple(ENCODERS)
VERSION = 2  # part of every checkpoint's key: bump it when a code change alters what training produces

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


# ---------------------------------------------------------------------------------------------------
# Products: passages in, one vector per SKU out
# ---------------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------------
# Queries: splits, query sets, evaluation, augmentation
# ---------------------------------------------------------------------------------------------------


def text_queries(catalog: Catalog, split: str) -> pd.DataFrame:
    """Typed queries of a split, with a ``synonym`` flag: an English query without a typo that does not name
    its product type (it uses one of the type's keywords instead, e.g. "torch" for a flashlight)."""
    queries = catalog.queries[(catalog.queries.modality == "text") & (catalog.queries.split == split)]
    if queries.empty:
        raise ValueError(f"no typed queries in split {split!r}; splits are {sorted(catalog.queries.split.unique())}")
    names = catalog.types.set_index("type_id").name_en.map(normalize_text)
    named = [names[t] in normalize_text(text) for t, text in zip(queries.type_id, queries.text)]
    return queries.assign(synonym=(queries.lang == "en") & ~queries.has_typo & ~np.array(named))


QUERY_SETS: dict[str, Callable[[pd.DataFrame], pd.Series]] = {
    "all": lambda q: q.lang.notna(),
    "en": lambda q: q.lang == "en",
    "zh": lambda q: q.lang == "zh",
    "typo": lambda q: q.has_typo,
    "synonym": lambda q: q.synonym,
}


def ranked_queries(catalog: Catalog, rank: Callable[[list[str], int], list[list[str]]], split: str = "test",
                   k: int = 10) -> pd.DataFrame:
    """The typed queries of a split, each with its top-k SKU ids from ``rank`` (``ranked``) and its ``ndcg``@k."""
    queries = text_queries(catalog, split)
    relevance = catalog.relevance(queries.query_id)
    ranked = rank(queries.text.tolist(), k)
    ndcg = ndcg_per_query(ranked, [relevance[q] for q in queries.query_id], k)
    return queries.assign(ranked=ranked, ndcg=ndcg)


def ndcg_by_query_set(catalog: Catalog, rank: Callable[[list[str], int], list[list[str]]],
                      split: str = "test", k: int = 10) -> dict[str, float]:
    """Mean NDCG@k of a ranker (texts, k -> ranked SKU ids per text) on each of the ``QUERY_SETS`` of a split."""
    scored = ranked_queries(catalog, rank, split, k)
    return {name: float(scored.ndcg[select(scored)].mean()) for name, select in QUERY_SETS.items()
            if select(scored).any()}


def augment_query(text: str, lang: str, synonyms: dict[str, list[str]], rng: np.random.Generator,
                  p_typo: float, p_synonym: float) -> str:
    """A training variant of a query: maybe a keyword instead of the product name (``synonyms``: {name:
    keywords}), maybe a typo (English)."""
    if synonyms:
        text = augment.synonym_swap(text, synonyms, rng, p=p_synonym)
    return typo(text, rng) if lang == "en" and rng.random() < p_typo else text


# ---------------------------------------------------------------------------------------------------
# Tokenisers and training
# ---------------------------------------------------------------------------------------------------


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


def info_nce(query_vectors: torch.Tensor, product_vectors: torch.Tensor, targets: torch.Tensor,
             temperature: float, also_relevant: torch.Tensor | None = None) -> torch.Tensor:
    """In-batch InfoNCE: cross-entropy of each query's similarities to the batch's products (divided by the
    temperature) against its target; ``also_relevant`` (Q, P) takes fully relevant non-targets out of the
    negatives."""
    logits = query_vectors @ product_vectors.T / temperature
    if also_relevant is not None:
        logits = logits.masked_fill(also_relevant, float("-inf"))
    return F.cross_entropy(logits, targets)


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
        return info_nce(model(*self.queries), products, self.targets, temperature, self.also_relevant)


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


# ---------------------------------------------------------------------------------------------------
# Baselines: BM25 and random
# ---------------------------------------------------------------------------------------------------


class BM25Index:
    """BM25 (``bm25s``) over the SKU texts, tokenised like every other baseline (``preprocess.tokens``)."""

    def __init__(self, catalog: Catalog) -> None:
        self.ids = catalog.skus.sku_id.to_numpy()
        texts, owners = sku_passages(catalog.skus)
        documents = pd.Series(texts).groupby(owners).agg(" ".join)  # one document per SKU, both languages
        self.bm25 = bm25s.BM25()
        self.bm25.index([tokens(t) for t in documents], show_progress=False)

    def scores(self, text: str) -> np.ndarray:
        """BM25 score of every SKU for ``text`` (all zero if no query word is in the index)."""
        known = [word for word in tokens(text) if word in self.bm25.vocab_dict]
        return self.bm25.get_scores(known) if known else np.zeros(len(self.ids), dtype=np.float32)

    def rank(self, texts: list[str], k: int) -> list[list[str]]:
        """Top-k SKU ids per text; ties keep catalog order."""
        if not 1 <= k <= len(self.ids):
            raise ValueError(f"k={k} must be between 1 and the number of SKUs ({len(self.ids)})")
        return [list(self.ids[np.argsort(-self.scores(t), kind="stable")[:k]]) for t in texts]


def bm25_rank(catalog: Catalog, texts: list[str], k: int = 10) -> list[list[str]]:
    """The lexical baseline: top-k SKU ids per text by BM25 (builds the index; keep a ``BM25Index`` to reuse)."""
    return BM25Index(catalog).rank(texts, k)


def random_ranker(catalog: Catalog, seed: int = 0) -> Callable[[list[str], int], list[list[str]]]:
    """The floor: a random order of the SKUs for every query."""
    rng = np.random.default_rng(seed)
    ids = catalog.skus.sku_id.to_numpy()
    return lambda texts, k: [list(rng.permutation(ids)[:k]) for _ in texts]


def query_latency_ms(rank: Callable[[list[str], int], list[list[str]]], texts: list[str], k: int = 10) -> float:
    """Mean milliseconds to answer one query (encode it and search the catalog), one query at a time on one CPU
    thread, as a search server answering one query per core would."""
    with one_thread():
        start = time.perf_counter()
        for text in texts:
            rank([text], k)
        return 1000 * (time.perf_counter() - start) / len(texts)
