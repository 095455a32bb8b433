"""Review cleaning: empty texts, spam and duplicates removed, each with its reason."""

from __future__ import annotations

import re

import pandas as pd

from mmlab.preprocess.checks import check_columns, split_removed
from mmlab.preprocess.text import normalize_text


# Spam signals, matched on the case-folded text. Each one alone marks a review as spam.
SPAM_SIGNALS = {
    "link": re.compile(r"https?://|www\.|\b[a-z0-9-]+\.(?:com|net|org|info|biz|io|ly|example)\b"),
    "sales pitch": re.compile(r"\b(?:buy now|order now|click here|free gift|limited offer|discount code|"
                              r"best price guaranteed)\b|\d+ ?% off\b"),
    "stretched letters": re.compile(r"([^\W\d_])\1{3,}"),  # one letter 4+ times: "sooooo"
    "repetition": re.compile(r"\b(\w+(?:\W+\w+){0,2})(?:\W+\1\b){3,}"),  # a 1-3 word phrase 4+ times in a row
}
# Deliberately not signals, because real reviews do them too (counts among the full catalog's 11,255 clean
# reviews): shouting, mostly capitals ("A PIECE OF JUNK ...", 79 reviews), any character 4+ times ("!!!!",
# "....", 443) and a word three times in a row ("beep beep beep", 28).


def spam_signals(text: str) -> list[str]:
    """The names of the ``SPAM_SIGNALS`` that ``text`` shows ([] for an ordinary review)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    folded = text.casefold()
    return [name for name, pattern in SPAM_SIGNALS.items() if pattern.search(folded)]


def clean_reviews(reviews: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split reviews into ``(kept, removed)``; ``removed`` adds ``reason`` and ``detail``.

    Rules, first match wins: "empty" (no words after normalising), "spam" (any of ``SPAM_SIGNALS``; the
    detail names them), "duplicate" (same SKU and same normalised text as an earlier review, which is kept).
    Ground-truth columns such as ``noise`` are carried along untouched, never read.
    """
    check_columns(reviews, "reviews", ("review_id", "sku_id", "text"))
    texts = reviews["text"].map(lambda text: text if isinstance(text, str) else "")
    normalised = texts.map(lambda text: normalize_text(text) if text.strip() else "")
    reason = pd.Series("", index=reviews.index)
    detail = pd.Series("", index=reviews.index)
    reason[normalised == ""] = "empty"
    signals = texts.map(spam_signals)
    spam = (reason == "") & signals.map(bool)
    reason[spam], detail[spam] = "spam", signals[spam].map(", ".join)
    candidates = reason == ""
    first_id = reviews["review_id"].where(candidates).groupby([reviews["sku_id"], normalised]).transform("first")
    duplicate = candidates & (first_id != reviews["review_id"])
    reason[duplicate], detail[duplicate] = "duplicate", "copy of " + first_id[duplicate]
    return split_removed(reviews, reason, detail)
