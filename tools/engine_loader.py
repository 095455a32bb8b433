"""What the command-line tools share: the capstone engine loaded (or trained) with progress lines, and the language
a query is written in.

The FAST or full MiniMart catalog (or your own, with ``MMLAB_CATALOG``) is built on first use; every model the engine
needs that the zoo does not hold yet is trained and cached, so only the first call pays for it.
"""

from __future__ import annotations

import os
import re
import time

from mmlab.data.catalog import CATALOG_ENV, Catalog
from mmlab.data.open import open_catalog
from mmlab.engine import SearchEngine
from mmlab.preprocess import CJK


def query_lang(query: str) -> str:
    """"zh" if the query has a Chinese character, else "en" (the language the titles are shown in)."""
    return "zh" if re.search(f"[{CJK}]", query) else "en"


def step(message: str, start: float) -> None:
    """One line of progress: elapsed seconds and what is happening."""
    print(f"[{time.perf_counter() - start:5.0f} s] {message}", flush=True)


def load_engine(full: bool, seed: int, start: float, backend: str = "memory") -> tuple[Catalog, SearchEngine]:
    """The catalog and its search engine, trained first where the zoo lacks a model; progress lines from ``start``;
    ``backend``: where the engine keeps its index (see ``SearchEngine``)."""
    step(f"loading the {'full' if full else 'FAST'} catalog (built on first use)", start)
    catalog = open_catalog(fast=not full, seed=seed)
    step("loading the encoders and the fusion tower, and each signal's weight (trained, chosen on the validation "
         "queries and cached on first use: minutes in FAST)", start)
    return catalog, SearchEngine.from_zoo(catalog, seed=seed, backend=backend)


def fast_catalog_note(catalog: Catalog) -> str | None:
    """FAST MiniMart sells only some product types: say which, so a query for another one is not a mystery (None
    for the full catalog or your own)."""
    if not catalog.fast or os.environ.get(CATALOG_ENV):
        return None
    names = sorted(catalog.types.name_en)
    return f"The FAST catalog sells {len(names)} product types: {', '.join(names[:12])}, ..."
