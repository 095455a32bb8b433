"""What a shopper sends the engine, checked: query text, language, photo; and the attribute filters."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image
from torch import Tensor

from mmlab.data.catalog import Catalog
from mmlab.encoders import image

LANGS = ("en", "zh")
BACKENDS = ("memory", "milvus")
PHOTO_SIZE = 64  # the catalog's photos are 64x64: a shopper's photo is brought to the same size


def check_text(value: object, what: str) -> str:
    """``value`` stripped, if it is a non-empty str; else an error naming the fix."""
    if isinstance(value, bytes):
        raise TypeError(f"{what} is bytes; decode it first, e.g. value.decode('utf-8')")
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{what} is empty; type a few words, e.g. 'red mug' or '红色杯子'")
    return value.strip()


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"unknown lang={lang!r}; choose one of {LANGS}")
    return lang


def photo_tensor(photo: object) -> Tensor:
    """A shopper's photo (PIL image, any size and mode) as a (1, 3, 64, 64) tensor in [0, 1]."""
    if not isinstance(photo, Image.Image):
        raise TypeError(f"photo must be a PIL image, got {type(photo).__name__}; open a file with "
                        "PIL.Image.open(path) (or mmlab.preprocess.load_image)")
    if min(photo.size) < 8:
        raise ValueError(f"photo is {photo.size[0]}x{photo.size[1]} pixels; it needs at least 8x8")
    rgb = photo.convert("RGB").resize((PHOTO_SIZE, PHOTO_SIZE), Image.Resampling.BILINEAR)
    return image.photos_to_tensor([rgb])


@dataclass(frozen=True)
class Filters:
    """Attribute filters of a search (None: any): a price range in dollars, a department, a colour."""

    min_price: float | None = None
    max_price: float | None = None
    department: str | None = None
    colour: str | None = None

    def expression(self, cards: pd.DataFrame) -> str:
        """The same filters as a Milvus boolean expression over the fields price, department and colour ("": any)."""
        self._check(cards)
        terms = [f"price {op} {float(value)!r}" for op, value in ((">=", self.min_price), ("<=", self.max_price))
                 if value is not None]
        terms += [f"{column} == {json.dumps(getattr(self, column))}" for column in ("department", "colour")
                  if getattr(self, column) is not None]
        return " and ".join(terms)

    def mask(self, cards: pd.DataFrame) -> np.ndarray:
        """A boolean row mask over ``cards`` (columns price, department, colour): True where every filter holds."""
        self._check(cards)
        keep = np.ones(len(cards), dtype=bool)
        if self.min_price is not None:
            keep &= cards.price.to_numpy() >= self.min_price
        if self.max_price is not None:
            keep &= cards.price.to_numpy() <= self.max_price
        for column in ("department", "colour"):
            if getattr(self, column) is not None:
                keep &= cards[column].to_numpy() == getattr(self, column)
        return keep

    def _check(self, cards: pd.DataFrame) -> None:
        for name in ("min_price", "max_price"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not np.isfinite(value) or value < 0):
                raise ValueError(f"{name}={value!r} must be a price in dollars (a number >= 0), or None for any")
        if None not in (self.min_price, self.max_price) and self.min_price > self.max_price:
            raise ValueError(f"min_price={self.min_price} is above max_price={self.max_price}; swap them")
        for column in ("department", "colour"):
            value, known = getattr(self, column), sorted(set(cards[column]) - {""})
            if value is not None and value not in known:
                raise ValueError(f"unknown {column} {value!r}; choose one of {known}, or None for any")


def raw_query(catalog: Catalog, row: Any) -> Any:
    """The raw input a shopper would send for a catalog query: text, photo, waveform or (photo, modifier)."""
    if row.modality == "text":
        return row.text
    if row.modality == "image":
        return catalog.query_image(row.query_id)
    if row.modality == "voice":
        return catalog.query_audio(row.query_id)
    return catalog.query_image(row.query_id), row.text
