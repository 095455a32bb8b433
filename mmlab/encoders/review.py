"""The review encoder: word embeddings + fully connected layers per review, then attention pooling.

    review r of a SKU  ->  mean of its word vectors  ->  FC  ->  h_r
    the SKU            ->  sum_r a_r h_r,  a = masked softmax(score(h_r))  (padded reviews get weight 0)

The word vectors start from the skip-gram ones (:mod:`mmlab.encoders.embeddings`) and are fine-tuned.

Objective (honest and stated): predict each SKU's mean star rating from its review *texts* (mean squared error).
It is trained on the training SKUs only, so probes on the held-out SKUs (:func:`linear_probe`) measure what the
pooled vector carries on products it never saw: the rating and the hidden quality behind it, yes; the product
type or department, no (MiniMart's review sentences are drawn by quality alone, as in many real shops where
"works great, fast delivery" fits any product).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.metrics import accuracy_score, r2_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from mmlab.data.catalog import Catalog
from mmlab.encoders.embeddings import SkipGramConfig, Vocabulary, data_version, word_embeddings
from mmlab.models.reviews import PAD, ReviewEncoder, SkipGram
from mmlab.preprocess import clean_reviews, tokens
from mmlab.train import fit, summary
from mmlab.zoo import code_fingerprint, trained

MAX_REVIEWS = 8  # per SKU (MiniMart has 3-8 after cleaning)
MAX_TOKENS = 64  # per review (longer reviews are cut)
SPLIT_SHARES = {"train": 0.65, "val": 0.10, "test": 0.25}
RIDGE_ALPHAS = np.logspace(-2, 4, 13)  # candidate penalties of the regression probe


@dataclass(frozen=True)
class ReviewConfig:
    """Everything that determines a trained review encoder (the zoo keys checkpoints by it)."""

    hidden: int = 64
    dim: int = 64
    freeze_words: bool = False  # True keeps the skip-gram vectors as they are (it reads ratings clearly worse)
    epochs: int = 30
    patience: int = 6
    batch_size: int = 128
    lr: float = 3e-3
    words: SkipGramConfig = field(default_factory=SkipGramConfig)


@dataclass
class SkuReviews:
    """Every SKU's clean reviews as padded tensors, plus what the notebook shows and probes."""

    sku_ids: np.ndarray  # (n_skus,) in catalog order
    tokens: torch.Tensor  # (n_skus, MAX_REVIEWS, MAX_TOKENS) int64, PAD-filled
    mask: torch.Tensor  # (n_skus, MAX_REVIEWS) bool: True where a real review sits
    texts: list[list[str]]  # the review texts behind the mask, per SKU
    mean_rating: np.ndarray  # (n_skus,) mean stars of the clean reviews, NaN without any

    @property
    def has_reviews(self) -> np.ndarray:
        return self.mask.any(dim=1).numpy()


def sku_reviews(catalog: Catalog, vocab: Vocabulary) -> SkuReviews:
    """Clean the reviews (:func:`mmlab.preprocess.clean_reviews`) and pad them per SKU: at most ``MAX_REVIEWS``
    per SKU; a review whose words are all outside the vocabulary is left out (it would have no vector)."""
    kept, _ = clean_reviews(catalog.reviews)
    sku_ids = catalog.skus["sku_id"].to_numpy()
    ids = np.full((len(sku_ids), MAX_REVIEWS, MAX_TOKENS), PAD, dtype=np.int64)
    texts: list[list[str]] = [[] for _ in sku_ids]
    row_of = {sku: row for row, sku in enumerate(sku_ids)}
    for sku, text in zip(kept["sku_id"], kept["text"]):
        row = row_of.get(sku)
        if row is None or len(texts[row]) == MAX_REVIEWS:
            continue
        words = vocab.encode(tokens(text))[:MAX_TOKENS] + 1
        if len(words) == 0:
            continue
        ids[row, len(texts[row]), :len(words)] = words
        texts[row].append(text)
    mean_rating = kept.groupby("sku_id")["rating"].mean().reindex(sku_ids).to_numpy(dtype=float)
    mask = torch.from_numpy(ids[:, :, 0] != PAD)
    return SkuReviews(sku_ids, torch.from_numpy(ids), mask, texts, mean_rating)


def sku_split(n: int, seed: int = 0) -> np.ndarray:
    """A random "train" / "val" / "test" label per SKU (shares in ``SPLIT_SHARES``)."""
    cuts = np.cumsum([round(share * n) for share in SPLIT_SHARES.values()])[:-1]
    labels = np.empty(n, dtype=object)
    for name, part in zip(SPLIT_SHARES, np.split(np.random.default_rng(seed).permutation(n), cuts)):
        labels[part] = name
    return labels


def _rating_target(mean_rating: np.ndarray) -> torch.Tensor:
    return torch.as_tensor((mean_rating - 3) / 2, dtype=torch.float32)  # 1..5 stars -> -1..1


def train_review_encoder(model: ReviewEncoder, data: SkuReviews, split: np.ndarray, config: ReviewConfig,
                         seed: int = 0, progress: bool = False) -> dict:
    """Fit the rating objective on the "train" SKUs, early-stopping on the "val" SKUs; returns a summary."""
    rows = {name: np.flatnonzero((split == name) & data.has_reviews) for name in ("train", "val")}
    target = _rating_target(data.mean_rating)

    def loss_fn(m: ReviewEncoder, batch: np.ndarray) -> torch.Tensor:
        pooled, _ = m(data.tokens[batch], data.mask[batch])
        return torch.nn.functional.mse_loss(m.rating(pooled).squeeze(1), target[batch])

    def batches(epoch: int):
        order = np.random.default_rng([seed, epoch]).permutation(rows["train"])
        return np.array_split(order, max(1, len(order) // config.batch_size))

    history = fit(model, batches, loss_fn, epochs=config.epochs, lr=config.lr, patience=config.patience,
                  evaluate=lambda: -loss_fn(model, rows["val"]).item(), progress=progress)
    return summary(history, "mse", val=[-v for v in history.val])


def review_encoder(catalog: Catalog, seed: int = 0, config: ReviewConfig = ReviewConfig(),
                   model_class: type[torch.nn.Module] = ReviewEncoder, skipgram: type[torch.nn.Module] = SkipGram
                   ) -> tuple[ReviewEncoder, SkuReviews, np.ndarray, dict]:
    """The trained review encoder (cached in the model zoo), its data, the SKU split and the training summary.

    ``model_class`` and ``skipgram`` are notebook 04's classes (a notebook passes its own); their code is part of
    the cache key."""
    words, _ = word_embeddings(catalog, seed, config.words, skipgram)
    data = sku_reviews(catalog, words.vocab)
    split = sku_split(len(data.sku_ids), seed)
    key = asdict(config) | {"code": code_fingerprint(model_class, train_review_encoder)}
    model, summary = trained("review-encoder", key, data_version(catalog, catalog.reviews),
                             build=lambda: model_class(words.vectors, config.hidden, config.dim, config.freeze_words),
                             train=lambda m: train_review_encoder(m, data, split, config, seed), seed=seed)
    return model, data, split, summary


@torch.no_grad()
def encode(model: ReviewEncoder, data: SkuReviews) -> tuple[np.ndarray, np.ndarray]:
    """Pooled review vectors (n_skus, dim) and attention weights (n_skus, MAX_REVIEWS); zero rows where a SKU has
    no reviews (``data.has_reviews`` is False there: never use those rows as vectors)."""
    model.eval()
    rows = torch.from_numpy(np.flatnonzero(data.has_reviews))
    emb = torch.zeros(len(data.sku_ids), model.rating.in_features)
    weights = torch.zeros(data.mask.shape)
    emb[rows], weights[rows] = model(data.tokens[rows], data.mask[rows])
    return emb.numpy(), weights.numpy()


def review_embeddings(catalog: Catalog, seed: int = 0, config: ReviewConfig = ReviewConfig()
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Public API: ``(emb (n_skus, dim) float32, has_reviews (n_skus,) bool)`` in ``catalog.skus`` order."""
    model, data, _, _ = review_encoder(catalog, seed, config)
    emb, _ = encode(model, data)
    return emb, data.has_reviews


def linear_probe(features: np.ndarray, target: np.ndarray, train: np.ndarray, kind: str) -> tuple[float, float]:
    """What a linear model reads from ``features``: (score on the rows not in ``train``, baseline score).

    kind "regression": ridge regression (penalty chosen by cross-validation on the training rows), R^2,
    baseline = always predict the training mean.
    kind "classification": logistic regression, accuracy, baseline = always predict the most common training class.
    Rows with a missing target (NaN) are left out.
    """
    features, target, train = np.asarray(features), np.asarray(target), np.asarray(train, dtype=bool)
    if kind not in ("regression", "classification"):
        raise ValueError(f"kind must be 'regression' or 'classification', got {kind!r}")
    if features.ndim != 2 or not len(features) == len(target) == len(train):
        raise ValueError(f"need features (n, d), target (n,) and train (n,); got {features.shape}, "
                         f"{target.shape}, {train.shape}")
    if not np.isfinite(features).all():
        raise ValueError("features contain NaN or inf; drop rows without an embedding first")
    known = ~pd.isna(target)
    fit_rows, test_rows = known & train, known & ~train
    if fit_rows.sum() < 2 or test_rows.sum() < 1:
        raise ValueError(f"need at least 2 training and 1 test rows with a target, got {fit_rows.sum()} and "
                         f"{test_rows.sum()}")
    x_fit, y_fit, x_test, y_test = features[fit_rows], target[fit_rows], features[test_rows], target[test_rows]
    with threadpool_limits(1):  # tiny fits: extra BLAS threads only wait on each other (25 s instead of 0.1 s)
        if kind == "regression":
            model = make_pipeline(StandardScaler(), RidgeCV(alphas=RIDGE_ALPHAS)).fit(x_fit, y_fit)
            return (float(r2_score(y_test, model.predict(x_test))),
                    float(r2_score(y_test, np.full(len(y_test), y_fit.mean()))))
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(x_fit, y_fit)
    majority = pd.Series(y_fit).mode().iloc[0]
    return float(accuracy_score(y_test, model.predict(x_test))), float(np.mean(y_test == majority))
