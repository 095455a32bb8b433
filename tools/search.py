"""Your first search, from the command line: a typed query against the capstone's search engine (notebook 10).

    python -m tools.search "red wooden guitar"          # FAST catalog and models: minutes the first time
    python -m tools.search "蓝色手套" --k 5               # Chinese: titles are shown in Chinese
    python -m tools.search "leather gloves" --full      # the full catalog and models (quick after `make run`)

The first call builds the catalog and trains every model the engine needs (image, text, reviews, behaviour, the
voice recogniser and the fusion tower), caching each in the model zoo; later calls load them in seconds. With
``MMLAB_CATALOG`` set it searches your own catalog instead of MiniMart.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time

import pandas as pd

from mmlab.data.catalog import CATALOG_ENV, Catalog
from mmlab.data.open import open_catalog
from mmlab.engine import SearchEngine, check_text
from mmlab.preprocess import CJK


def query_lang(query: str) -> str:
    """"zh" if the query has a Chinese character, else "en" (the language the titles are shown in)."""
    return "zh" if re.search(f"[{CJK}]", query) else "en"


def step(message: str, start: float) -> None:
    """One line of progress: elapsed seconds and what is happening."""
    print(f"[{time.perf_counter() - start:5.0f} s] {message}", flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.search", description=__doc__.split("\n")[0])
    parser.add_argument("query", help='what you are looking for, e.g. "red cotton t-shirt" or "红色围巾"')
    parser.add_argument("--k", type=int, default=10, help="how many products to show (default 10)")
    parser.add_argument("--full", action="store_true", help="the full catalog and models instead of FAST ones")
    parser.add_argument("--seed", type=int, default=0, help="the seed of the catalog and models (default 0)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return search(args)
    except ValueError as error:  # a blank query, a bad --k or --seed, a problem in your own catalog
        print(f"error: {error}", file=sys.stderr)
        return 2


def search(args: argparse.Namespace) -> int:
    """Load (or build and train) everything, then print the results table."""
    query = check_text(args.query, "the query")  # before minutes of training, not after
    start = time.perf_counter()
    step(f"loading the {'full' if args.full else 'FAST'} catalog (built on first use)", start)
    catalog = open_catalog(fast=not args.full, seed=args.seed)
    step("loading the encoders and the fusion tower (trained and cached on first use, about 1 min in FAST)", start)
    engine = SearchEngine.from_zoo(catalog, seed=args.seed)
    step(f"searching {len(engine.sku_ids):,} products", start)
    results = engine.search_text(query, lang=query_lang(query), k=args.k)
    with pd.option_context("display.width", 160, "display.max_colwidth", 48):
        print(results.round(3).to_string(index=False))
    if not args.full and not os.environ.get(CATALOG_ENV):
        print(fast_catalog_note(catalog))
    return 0


def fast_catalog_note(catalog: Catalog) -> str:
    """FAST MiniMart sells only some product types: say which, so a query for another one is not a mystery."""
    names = sorted(catalog.types.name_en)
    return (f"(The FAST catalog sells {len(names)} product types: {', '.join(names[:12])}, ...; "
            "--full searches all of MiniMart: make search ARGS=--full.)")


if __name__ == "__main__":
    sys.exit(main())
