"""Product reviews: real review sentences, picked according to each SKU's hidden quality.

The generative model (every number is a module constant below):

- Each SKU gets 3-8 reviews (uniform); each review is 1-3 sentences (uniform) taken from a pool of real,
  labelled product-review sentences (``data/reviews/amazon.json``).
- Each sentence is positive with probability ``0.1 + 0.8 * quality``, so a perfect product still collects
  some complaints and a poor one some praise. A SKU never repeats a sentence across its reviews, so two
  clean reviews of the same SKU never share a text.
- ``sentiment`` is the review's fraction of positive sentences; the star rating is
  ``round(1 + 4 * sentiment + e)`` with ``e ~ Normal(0, 0.6)``, clipped to 1-5. Ratings therefore follow
  quality, noisily: a SKU's mean rating is a usable (imperfect) signal of its quality.

With ``noise=True`` a small, known amount of dirt is added for the data-cleaning lesson, counted as a share of
the clean reviews: 2% exact duplicates (a clean review copied under a new ``review_id``), 1% empty or
whitespace-only texts (star-only reviews) and 1% templated spam (URLs, "buy now", repeated letters or words,
all caps; five stars). Dirty rows carry ``sentiment = NaN`` except duplicates, which copy their original. The
``noise`` column records which dirt a row is; it is ground truth for *measuring* a cleaning step, never an
input to one. Rows are ordered by SKU, in random order within a SKU, and numbered ``R000001``, ...
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

REVIEWS_PER_SKU = (3, 8)
SENTENCES_PER_REVIEW = (1, 3)
POSITIVE_FLOOR = 0.10  # P(positive sentence) when quality = 0
POSITIVE_SLOPE = 0.80  # P(positive sentence) = POSITIVE_FLOOR + POSITIVE_SLOPE * quality
RATING_NOISE_SD = 0.6

DUPLICATE_RATE = 0.02
EMPTY_RATE = 0.01
SPAM_RATE = 0.01

BLANK_TEXTS = ("", " ", "  ", "\n", " \t ")
SPAM_TEMPLATES = (
    "BUY NOW at {url} !!! best price guaranteed",
    "Visit {url} for {pct}% OFF, buy now buy now buy now",
    "{word}{word}{word}{word}{word}{word}",
    "{shout} {shout} {shout} {shout} {shout}",
    "so{o} go{o}d!!!!!!!! check {url}",
    "FREE GIFT CARD CLICK HERE {url} LIMITED OFFER",
)
SPAM_URLS = ("http://cheap-deals.example.com", "www.best-price.example.net", "bit.example/xyz")
SPAM_WORDS = ("wow ", "best ", "cheap ", "deal ")
SPAM_SHOUTS = ("AMAZING", "BEST", "SUPER DEAL", "FIVE STARS")

COLUMNS = ["review_id", "sku_id", "rating", "text", "sentiment", "noise"]


def load_review_sentences(path: str | Path) -> pd.DataFrame:
    """Load labelled review sentences (a JSON list of ``{"text": str, "class": 0 or 1}``).

    Returns unique sentences with columns ``text`` and ``label`` (1 = positive). Entries with a blank text
    are skipped (the upstream file ends with one ``{"text": "", "class": null}`` placeholder).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"review sentences file {path} not found; it ships with the repo under data/reviews/")
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}; restore it (it ships with the repo: git checkout "
                         "data/reviews/)") from error
    if not isinstance(items, list):
        raise ValueError(
            f"{path} must hold a JSON list of {{'text': str, 'class': 0 or 1}}, got a {type(items).__name__}"
        )
    rows = []
    for index, item in enumerate(items):
        if isinstance(item, dict) and isinstance(item.get("text"), str) and not item["text"].strip():
            continue
        if not (isinstance(item, dict) and isinstance(item.get("text"), str) and item.get("class") in (0, 1)):
            raise ValueError(f"{path}, item {index}: expected {{'text': str, 'class': 0 or 1}}, got {item!r}")
        rows.append((item["text"].strip(), int(item["class"])))
    sentences = pd.DataFrame(rows, columns=["text", "label"]).drop_duplicates(ignore_index=True)
    if set(sentences["label"]) != {0, 1}:
        raise ValueError(f"{path} must contain both positive (1) and negative (0) sentences")
    return sentences


def generate_reviews(
    skus: pd.DataFrame, sentences: pd.DataFrame, rng: np.random.Generator, noise: bool = True
) -> pd.DataFrame:
    """Reviews for every SKU (see the module docstring for the model); columns as in ``COLUMNS``."""
    _check_inputs(skus, sentences)
    clean = _clean_reviews(skus, sentences, rng)
    parts = [clean]
    if noise:
        parts += [_duplicates(clean, rng), _empty_reviews(clean, rng), _spam_reviews(clean, rng)]
    reviews = pd.concat(parts, ignore_index=True)
    reviews = reviews.iloc[rng.permutation(len(reviews))].sort_values("sku_id", kind="stable", ignore_index=True)
    reviews.insert(0, "review_id", [f"R{i:06d}" for i in range(1, len(reviews) + 1)])
    return reviews[COLUMNS]


def _check_inputs(skus: pd.DataFrame, sentences: pd.DataFrame) -> None:
    for frame, name, columns in ((skus, "skus", ("sku_id", "quality")), (sentences, "sentences", ("text", "label"))):
        missing = [column for column in columns if column not in frame.columns]
        if missing:
            raise ValueError(f"{name} is missing required column(s) {missing}; it has {list(frame.columns)}")
    if skus.empty:
        raise ValueError("skus is empty: there is nothing to review")
    if not skus["quality"].between(0, 1).all():
        raise ValueError("skus.quality must lie in [0, 1]")
    most_per_sku = REVIEWS_PER_SKU[1] * SENTENCES_PER_REVIEW[1]  # a SKU never repeats a sentence
    for label in (0, 1):
        if (sentences["label"] == label).sum() < most_per_sku:
            raise ValueError(f"sentences needs at least {most_per_sku} rows with label {label}")


def _clean_reviews(skus: pd.DataFrame, sentences: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    pools = {label: sentences.loc[sentences["label"] == label, "text"].to_numpy() for label in (0, 1)}
    rows = []
    for sku_id, quality in zip(skus["sku_id"], skus["quality"]):
        n_reviews = rng.integers(REVIEWS_PER_SKU[0], REVIEWS_PER_SKU[1] + 1)
        lengths = rng.integers(SENTENCES_PER_REVIEW[0], SENTENCES_PER_REVIEW[1] + 1, size=n_reviews)
        positive = rng.random(lengths.sum()) < POSITIVE_FLOOR + POSITIVE_SLOPE * quality
        texts = np.empty(len(positive), dtype=object)
        for label in (0, 1):
            mask = positive == bool(label)
            texts[mask] = rng.choice(pools[label], size=mask.sum(), replace=False)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        for start, length in zip(starts, lengths):
            rows.append((sku_id, " ".join(texts[start : start + length]), positive[start : start + length].mean()))
    reviews = pd.DataFrame(rows, columns=["sku_id", "text", "sentiment"])
    reviews.insert(1, "rating", _star_ratings(reviews["sentiment"].to_numpy(), rng))
    reviews["noise"] = ""
    return reviews


def _star_ratings(sentiment: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    stars = np.rint(1 + 4 * sentiment + rng.normal(0, RATING_NOISE_SD, size=len(sentiment)))
    return np.clip(stars, 1, 5).astype(int)


def _duplicates(clean: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    picked = rng.choice(len(clean), size=round(DUPLICATE_RATE * len(clean)), replace=False)
    return clean.iloc[np.sort(picked)].assign(noise="duplicate")


def _empty_reviews(clean: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    n = round(EMPTY_RATE * len(clean))
    texts = list(rng.choice(BLANK_TEXTS, size=n))
    return _dirty_rows(clean, rng, n, texts=texts, ratings=rng.integers(1, 6, size=n), kind="empty")


def _spam_reviews(clean: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    n = round(SPAM_RATE * len(clean))
    texts = [_spam_text(rng) for _ in range(n)]
    return _dirty_rows(clean, rng, n, texts=texts, ratings=np.full(n, 5), kind="spam")


def _spam_text(rng: np.random.Generator) -> str:
    template = SPAM_TEMPLATES[rng.integers(len(SPAM_TEMPLATES))]
    return template.format(
        url=SPAM_URLS[rng.integers(len(SPAM_URLS))],
        pct=int(rng.integers(5, 10)) * 10,
        word=SPAM_WORDS[rng.integers(len(SPAM_WORDS))],
        shout=SPAM_SHOUTS[rng.integers(len(SPAM_SHOUTS))],
        o="o" * int(rng.integers(4, 12)),
    ).strip()


def _dirty_rows(
    clean: pd.DataFrame, rng: np.random.Generator, n: int, texts: list[str], ratings: np.ndarray, kind: str
) -> pd.DataFrame:
    """``n`` injected reviews of ``kind`` on random SKUs that already have reviews."""
    return pd.DataFrame(
        {
            "sku_id": rng.choice(clean["sku_id"].unique(), size=n),
            "rating": ratings,
            "text": texts,
            "sentiment": np.nan,
            "noise": kind,
        }
    )
