"""Your first search, from the command line: a typed query against the capstone's search engine (notebook 11).

    python -m tools.search "red wooden guitar"          # FAST catalog and models: minutes the first time
    python -m tools.search "蓝色手套" --k 5               # Chinese: titles are shown in Chinese
    python -m tools.search "leather gloves" --full      # the full catalog and models (quick after `make run`)

The first call builds the catalog and trains every model the engine needs (image, text, reviews, behaviour, the
voice recogniser and the fusion tower), caching each in the model zoo; later calls load them in seconds. With
``MMLAB_CATALOG`` set it searches your own catalog instead of MiniMart.
"""

from __future__ import annotations

import argparse
import sys
import time

import pandas as pd

from mmlab.engine import BACKENDS, check_text
from tools.engine_loader import fast_catalog_note, load_engine, query_lang, step


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.search", description=__doc__.split("\n")[0])
    parser.add_argument("query", help='what you are looking for, e.g. "red cotton t-shirt" or "红色围巾"')
    parser.add_argument("--k", type=int, default=10, help="how many products to show (default 10)")
    parser.add_argument("--full", action="store_true", help="the full catalog and models instead of FAST ones")
    parser.add_argument("--seed", type=int, default=0, help="the seed of the catalog and models (default 0)")
    parser.add_argument("--backend", choices=BACKENDS, default="memory",
                        help="where the index lives: this process (memory, default) or Milvus (milvus: Milvus Lite "
                             "under .cache/milvus/, or the server MMLAB_MILVUS_URI names)")
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
    catalog, engine = load_engine(args.full, args.seed, start, args.backend)
    step(f"searching {len(engine.sku_ids):,} products", start)
    results = engine.search_text(query, lang=query_lang(query), k=args.k)
    with pd.option_context("display.width", 160, "display.max_colwidth", 48):
        print(results.round(3).to_string(index=False))
    note = fast_catalog_note(catalog)
    if note:
        print(f"({note}; --full searches all of MiniMart: make search ARGS=--full.)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
