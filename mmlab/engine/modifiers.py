"""What no embedding sees, read from the words of a modifier: a colour to change to, or "cheaper".

A shopper who shows a photo and says "in blue" (换成蓝色) or "cheaper" (更便宜的) wants a product of the same type as
the one in the photo, with that attribute changed. Price is in no embedding, and a colour word barely moves a photo's
vector, so real shop search turns such words into filters and boosts over the catalog's attributes. Here a
:class:`Modifier` is parsed from the text (English or Chinese) and :func:`matching_skus` marks the SKUs that fulfil
it relative to the product the photo shows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mmlab.data.images import COLOUR_ZH

CHEAPER = ("cheaper", "less expensive", "lower price", "便宜", "低价")


@dataclass(frozen=True)
class Modifier:
    """A colour to change to (the catalog's English colour name), and/or a lower price; empty if none was read."""

    colour: str | None = None
    cheaper: bool = False

    def __bool__(self) -> bool:
        return self.colour is not None or self.cheaper


def colour_words(colours: Iterable[str]) -> dict[str, str]:
    """Every word that names one of the catalog's ``colours``: the English name and its Chinese one ("蓝色" and
    the bare "蓝"), mapped to the English name."""
    words = {}
    for colour in {c for c in colours if c}:
        words[colour.lower()] = colour
        chinese = COLOUR_ZH.get(colour.lower(), "")
        words.update({chinese: colour, chinese.removesuffix("色"): colour} if chinese else {})
    return words


def parse_modifier(text: str, colours: Iterable[str]) -> Modifier:
    """The colour (longest matching word first, so "蓝色" wins over "蓝") and "cheaper" a modifier asks for."""
    lowered = text.lower()
    words = colour_words(colours)
    colour = next((words[w] for w in sorted(words, key=len, reverse=True) if _contains(lowered, w)), None)
    return Modifier(colour, any(word in lowered for word in CHEAPER))


def _contains(text: str, word: str) -> bool:
    """``word`` in ``text``: a whole word for Latin script ("red" not in "bored"), anywhere for Chinese."""
    if not word.isascii():
        return word in text
    return word in text.replace(",", " ").replace(".", " ").split()


def matching_skus(skus: pd.DataFrame, source: int, modifier: Modifier) -> np.ndarray:
    """Which SKUs (rows of ``skus``: ``type_id``, ``colour``, ``price``) fulfil ``modifier`` relative to row
    ``source``, the product the photo shows: the same type, the asked colour, and (for "cheaper") a lower price in
    the source's colour unless another colour is asked for. All False for an empty modifier."""
    if not modifier:
        return np.zeros(len(skus), dtype=bool)
    row = skus.iloc[source]
    match = (skus.type_id == row.type_id) & (skus.colour == (modifier.colour or row.colour))
    return (match & (skus.price < row.price) if modifier.cheaper else match).to_numpy()
