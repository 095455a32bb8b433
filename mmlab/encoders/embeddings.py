"""Skip-gram with negative sampling (word2vec), for anything that comes in sequences.

One implementation, two uses: the words of product texts and reviews (notebook 04's word embeddings) and the
SKU ids of shopping sessions (item2vec, :mod:`mmlab.encoders.behaviour`). The idea in four lines:

- every token has two vectors, a *centre* vector (the one we keep) and a *context* vector;
- a (centre, context) pair is a token and one of its neighbours within ``window`` positions;
- the loss pulls a true pair together, ``-log sigmoid(u . v)``, and pushes ``negatives`` random tokens away,
  ``-log sigmoid(-u . n)``; negatives are drawn from the unigram counts raised to the power 0.75;
- very frequent tokens are optionally subsampled: kept with probability ``sqrt(t / f) + t / f`` (f = share).

Tokens that share contexts end up with similar centre vectors. Pretrained vectors to compare with come from
``wordllama`` (shipped inside its wheel, loaded offline): :func:`wordllama_vectors`.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import torch

from mmlab.data.catalog import Catalog
from mmlab.encoders.pretrained import load_wordllama
from mmlab.models.reviews import SkipGram
from mmlab.preprocess import clean_reviews, tokens
from mmlab.train import fit, summary
from mmlab.zoo import code_fingerprint, trained

NOISE_POWER = 0.75  # word2vec's exponent: rare tokens are drawn as negatives a bit more often than their counts


@dataclass(frozen=True)
class SkipGramConfig:
    """Everything that determines a trained skip-gram model (the zoo keys checkpoints by it)."""

    dim: int = 64
    window: int = 4
    negatives: int = 5
    min_count: int = 2
    subsample: float | None = 1e-4  # None keeps every token
    epochs: int = 3
    batches_per_epoch: int = 40  # the same number of steps for any corpus size: a big corpus gets big batches
    lr: float = 0.03


@dataclass
class Vocabulary:
    """Tokens kept for training (at least ``min_count`` occurrences), most frequent first, with their counts."""

    tokens: list[str]
    counts: np.ndarray
    index: dict[str, int] = field(init=False, repr=False)

    @classmethod
    def build(cls, sequences: Sequence[Sequence[str]], min_count: int = 1) -> Vocabulary:
        """Count the tokens of ``sequences`` and keep those seen at least ``min_count`` times."""
        counts = Counter(token for sequence in sequences for token in sequence)
        kept = sorted((token for token, n in counts.items() if n >= min_count), key=lambda t: (-counts[t], t))
        if not kept:
            raise ValueError(f"no token occurs at least min_count={min_count} times; pass more text or lower it")
        return cls(kept, np.array([counts[token] for token in kept]))

    def __post_init__(self) -> None:
        self.index = {token: i for i, token in enumerate(self.tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self.index

    def encode(self, sequence: Sequence[str]) -> np.ndarray:
        """Token ids of a sequence; tokens outside the vocabulary are dropped."""
        return np.array([self.index[t] for t in sequence if t in self.index], dtype=np.int64)


@dataclass
class Embeddings:
    """A vector per token, with the vocabulary that names the rows."""

    vocab: Vocabulary
    vectors: np.ndarray  # (len(vocab), dim) float32

    def __getitem__(self, token: str) -> np.ndarray:
        if token not in self.vocab:
            raise KeyError(f"{token!r} is not in the vocabulary of {len(self.vocab)} tokens "
                           f"(e.g. {self.vocab.tokens[:5]})")
        return self.vectors[self.vocab.index[token]]

    def subset(self, tokens: Sequence[str]) -> Embeddings:
        """The vectors of ``tokens`` only (all must be in the vocabulary), e.g. to compare two models on one list."""
        tokens = list(dict.fromkeys(tokens))
        missing = [t for t in tokens if t not in self.vocab]
        if missing:
            raise KeyError(f"{len(missing)} token(s) are not in the vocabulary, e.g. {missing[:5]}")
        rows = [self.vocab.index[t] for t in tokens]
        return Embeddings(Vocabulary(tokens, self.vocab.counts[rows]), self.vectors[rows])

    def mean_vectors(self, texts: Sequence[Sequence[str]]) -> np.ndarray:
        """One vector per token list: the mean of its known tokens' vectors (zeros if it has none)."""
        out = np.zeros((len(texts), self.vectors.shape[1]), dtype=np.float32)
        for row, text in enumerate(texts):
            ids = self.vocab.encode(text)
            if len(ids):
                out[row] = self.vectors[ids].mean(axis=0)
        return out

    def nearest(self, token: str, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` tokens with the most similar vectors (cosine), best first, without ``token`` itself."""
        if not 1 <= k < len(self.vocab):
            raise ValueError(f"k must be between 1 and {len(self.vocab) - 1} (the other tokens), got {k}")
        similarity = unit_rows(self.vectors) @ unit_rows(self[token][None])[0]
        similarity[self.vocab.index[token]] = -np.inf
        best = np.argsort(-similarity, kind="stable")[:k]
        return [(self.vocab.tokens[i], round(float(similarity[i]), 3)) for i in best]


def noise_distribution(counts: np.ndarray, power: float = NOISE_POWER) -> np.ndarray:
    """Probabilities of drawing each token as a negative: counts ** power, normalised."""
    weights = np.asarray(counts, dtype=np.float64) ** power
    return weights / weights.sum()


def keep_probability(counts: np.ndarray, threshold: float) -> np.ndarray:
    """word2vec's subsampling: the chance of keeping each occurrence of a token (1 for rare tokens)."""
    share = counts / counts.sum()
    return np.minimum(1.0, np.sqrt(threshold / share) + threshold / share)


def skipgram_pairs(sequences: Sequence[np.ndarray], window: int) -> tuple[np.ndarray, np.ndarray]:
    """Every (centre, context) id pair at most ``window`` positions apart within a sequence."""
    centres, contexts = [], []
    for ids in sequences:
        for offset in range(1, window + 1):
            if offset >= len(ids):
                break
            centres += [ids[:-offset], ids[offset:]]  # each neighbour pair in both directions
            contexts += [ids[offset:], ids[:-offset]]
    if not centres:
        raise ValueError("no sequence has two tokens, so there are no (centre, context) pairs to learn from")
    return np.concatenate(centres), np.concatenate(contexts)


def _epoch_batches(ids: list[np.ndarray], vocab: Vocabulary, config: SkipGramConfig, rng: np.random.Generator):
    """One epoch: subsample, pair up, shuffle, draw negatives, cut into batches of tensors."""
    if config.subsample is not None:
        keep = keep_probability(vocab.counts, config.subsample)
        ids = [seq[rng.random(len(seq)) < keep[seq]] for seq in ids]
    centres, contexts = skipgram_pairs(ids, config.window)
    noise = noise_distribution(vocab.counts)
    for batch in np.array_split(rng.permutation(len(centres)), min(config.batches_per_epoch, len(centres))):
        negatives = rng.choice(len(vocab), size=(len(batch), config.negatives), p=noise)
        yield torch.from_numpy(centres[batch]), torch.from_numpy(contexts[batch]), torch.from_numpy(negatives)


def train_skipgram(model: SkipGram, sequences: Sequence[Sequence[str]], vocab: Vocabulary, config: SkipGramConfig,
                   seed: int = 0, progress: bool = False) -> dict:
    """Train ``model`` in place with :func:`mmlab.train.fit`; returns a summary (loss per epoch, seconds)."""
    ids = [encoded for encoded in map(vocab.encode, sequences) if len(encoded) > 1]
    history = fit(model, lambda epoch: _epoch_batches(ids, vocab, config, np.random.default_rng([seed, epoch])),
                  lambda m, batch: m(*batch), epochs=config.epochs, lr=config.lr, progress=progress)
    return summary(history, vocab_size=len(vocab))


def skipgram_embeddings(name: str, sequences: Sequence[Sequence[str]], config: SkipGramConfig, data_version: str,
                        seed: int = 0, model_class: type[torch.nn.Module] = SkipGram) -> tuple[Embeddings, dict]:
    """Skip-gram vectors of ``sequences``, trained once and then loaded from the model zoo; (embeddings, summary).

    ``model_class`` is notebook 04's ``SkipGram`` (a notebook passes its own); its code is part of the cache key."""
    _check_sequences(sequences)
    vocab = Vocabulary.build(sequences, config.min_count)
    key = asdict(config) | {"code": code_fingerprint(model_class, train_skipgram)}
    model, summary = trained(name, key, data_version, build=lambda: model_class(len(vocab), config.dim),
                             train=lambda m: train_skipgram(m, sequences, vocab, config, seed), seed=seed)
    return Embeddings(vocab, model.centre.weight.detach().numpy().copy()), summary


def _check_sequences(sequences: object) -> None:
    if isinstance(sequences, str) or not isinstance(sequences, Sequence) or not sequences:
        raise TypeError("sequences must be a non-empty list of token lists, e.g. [['red', 'shoe'], ['blue', 'cup']]")
    bad = next((i for i, s in enumerate(sequences) if isinstance(s, str) or not isinstance(s, Sequence)), None)
    if bad is not None:
        raise TypeError(f"sequences[{bad}] is {type(sequences[bad]).__name__}, expected a list of tokens; "
                        "split texts into tokens first (mmlab.preprocess.tokens)")


# --- words of the catalog ------------------------------------------------------------------------------------


def word_corpus(catalog: Catalog) -> list[list[str]]:
    """Token lists of every SKU title and description (en and zh; Chinese per character) and every clean review."""
    kept, _ = clean_reviews(catalog.reviews)
    texts = pd.concat([catalog.skus[column] for column in ("title_en", "description_en", "title_zh", "description_zh")]
                      + [kept["text"]])
    return [tokens(text) for text in texts if isinstance(text, str) and text.strip()]


def word_embeddings(catalog: Catalog, seed: int = 0, config: SkipGramConfig = SkipGramConfig(),
                    model_class: type[torch.nn.Module] = SkipGram) -> tuple[Embeddings, dict]:
    """Skip-gram word vectors of the catalog's texts and reviews (cached in the model zoo); (embeddings, summary)."""
    return skipgram_embeddings("skipgram-words", word_corpus(catalog), config,
                               data_version(catalog, catalog.reviews), seed, model_class)


def data_version(catalog: Catalog, *tables: pd.DataFrame) -> str:
    """``catalog.fingerprint()`` extended with a hash of extra training tables (it covers only SKUs and queries)."""
    digest = hashlib.sha256(catalog.fingerprint().encode())
    for table in tables:
        digest.update(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]


# --- pretrained vectors and comparisons ----------------------------------------------------------------------


def wordllama_vectors(words: Sequence[str]) -> Embeddings:
    """Pretrained 256-d WordLlama vectors of ``words`` (a word split into sub-words gets their mean), offline."""
    if isinstance(words, str) or not words or not all(isinstance(w, str) and w.strip() for w in words):
        raise ValueError("words must be a non-empty list of non-blank strings, e.g. ['shoe', 'lamp']")
    words = list(dict.fromkeys(words))
    vectors = load_wordllama().embed(words).astype(np.float32)
    return Embeddings(Vocabulary(words, np.ones(len(words), dtype=int)), vectors)



def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1 (rows of zeros stay zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)


def neighbour_agreement(vectors: np.ndarray, groups: Sequence, k: int = 10) -> tuple[float, float]:
    """How often a row's ``k`` nearest rows (cosine) share its group, and that rate for random rows (chance).

    Both are averaged over rows; chance for a row is (its group's size - 1) / (rows - 1).
    """
    vectors, groups = np.asarray(vectors, dtype=np.float32), np.asarray(groups)
    if vectors.ndim != 2 or len(vectors) != len(groups):
        raise ValueError(f"need one group per row of a 2-D array, got vectors {vectors.shape} and {len(groups)} groups")
    if not np.isfinite(vectors).all():
        raise ValueError("vectors contain NaN or inf; drop rows without an embedding (see the has_behaviour mask)")
    if not 1 <= k < len(vectors):
        raise ValueError(f"k must be between 1 and {len(vectors) - 1} (the other rows), got {k}")
    unit = unit_rows(vectors)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)
    top = np.argsort(-similarity, axis=1, kind="stable")[:, :k]
    share = float((groups[top] == groups[:, None]).mean())
    group_size = pd.Series(groups).map(pd.Series(groups).value_counts()).to_numpy()
    return share, float(((group_size - 1) / (len(groups) - 1)).mean())


def group_margin(vectors: np.ndarray, groups: Sequence) -> float:
    """Mean cosine of pairs in the same group minus mean cosine of pairs in different groups (0 = no structure)."""
    unit, groups = unit_rows(np.asarray(vectors, dtype=np.float32)), np.asarray(groups)
    same = groups[:, None] == groups[None, :]
    within = same & ~np.eye(len(groups), dtype=bool)
    if len(unit) != len(groups) or not within.any() or same.all():
        raise ValueError(f"need one group per row ({len(unit)} rows, {len(groups)} groups), a group with two or "
                         "more rows and at least two groups")
    similarity = unit @ unit.T
    return float(similarity[within].mean() - similarity[~same].mean())
