"""The catalog the notebooks work on: MiniMart, or your own folder when ``MMLAB_CATALOG`` names one."""

from __future__ import annotations

import os
from pathlib import Path

from mmlab.data.byo import load_byo
from mmlab.data.catalog import CATALOG_ENV, Catalog, load_catalog


def open_catalog(fast: bool = False, seed: int = 0) -> Catalog:
    """The catalog the notebooks work on: your own (the folder in ``MMLAB_CATALOG``) if set, else MiniMart."""
    folder = os.environ.get(CATALOG_ENV, "").strip()
    if not folder:
        return load_catalog(fast=fast, seed=seed)
    catalog = load_byo(Path(folder).expanduser(), seed=seed, fast=fast)
    print(f"Your own catalog ({CATALOG_ENV}={folder}): {len(catalog.skus):,} products, "
          f"{len(catalog.queries):,} queries; sections that need MiniMart-only data are skipped")
    return catalog
