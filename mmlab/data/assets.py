"""The committed MiniMart assets in ``data/``: product types, emoji art of two artists, review sentences.

``scripts/extract_assets.py`` wrote them once from npm packages; ``data/SOURCES.md`` records where each came from.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import pandas as pd
from PIL import Image

from mmlab.config import DATA_DIR

ARTISTS = ("google", "twitter")  # google = catalog photos, twitter = shoppers' query photos
CHECKSUMS = DATA_DIR / "checksums.sha256"


def _require(path: Path) -> Path:
    if not path.exists():
        raise FileNotFoundError(
            f"missing asset {path}; the repo's data/ folder is incomplete: restore it with `git checkout data/`"
        )
    return path


@lru_cache(maxsize=1)
def load_types() -> pd.DataFrame:
    """The product types: one row per emoji with English/Chinese names, keywords and department."""
    types = pd.read_csv(_require(DATA_DIR / "types.csv"), dtype=str, keep_default_na=False)
    types.insert(0, "type_id", range(len(types)))
    return types


def art(code: str, artist: str = "google") -> Image.Image:
    """The 64x64 RGBA art of one product type by one artist."""
    if artist not in ARTISTS:
        raise ValueError(f"unknown artist {artist!r}; choose one of {ARTISTS}")
    with Image.open(_require(DATA_DIR / "images" / artist / f"{code}.png")) as image:
        return image.convert("RGBA")


def review_sentences_path() -> Path:
    """Path of the 1,000 labelled Amazon review sentences."""
    return _require(DATA_DIR / "reviews" / "amazon.json")


def asset_fingerprint() -> str:
    """A short hash of ``data/checksums.sha256``: changes whenever any committed asset changes."""
    return hashlib.sha256(_require(CHECKSUMS).read_bytes()).hexdigest()[:16]


def verify_assets() -> list[str]:
    """Check every committed asset against ``data/checksums.sha256``; return the problems found."""
    problems = []
    for line in _require(CHECKSUMS).read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        path = DATA_DIR / name
        if not path.exists():
            problems.append(f"{name}: missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            problems.append(f"{name}: checksum differs from data/checksums.sha256")
    return problems
