"""Benchmark: MiniMart catalog build and cached load, FAST and full, against the budgets in docs/targets.md.

    .venv/bin/python benchmarks/catalog.py [--repeats N]

Builds each mode in a fresh temporary cache (so nothing is reused), then loads it again from that cache, and
prints wall times, the cache size on disk and the budget verdict. Results are recorded in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from mmlab.data.catalog import load_catalog

BUDGET_SECONDS = {"fast": 20, "full": 120}  # docs/targets.md: catalog build, FAST / full


def folder_megabytes(folder: Path) -> float:
    """Total size of the files under ``folder`` in MB."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def measure(fast: bool) -> dict[str, float]:
    """Build one mode from scratch, then load it from the cache; return the timings and size."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        catalog = load_catalog(fast=fast, seed=0, cache=Path(tmp), verbose=False)
        build = time.perf_counter() - start
        start = time.perf_counter()
        load_catalog(fast=fast, seed=0, cache=Path(tmp), verbose=False)
        load = time.perf_counter() - start
        return {"build_s": build, "load_s": load, "cache_mb": folder_megabytes(catalog.folder),
                "skus": len(catalog.skus), "queries": len(catalog.queries)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=1, help="builds per mode; the best time is reported")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print("mode  build_s  budget_s  load_s  cache_MB  SKUs  queries  verdict")
    for mode in ("fast", "full"):
        runs = [measure(mode == "fast") for _ in range(args.repeats)]
        best = min(runs, key=lambda r: r["build_s"])
        verdict = "within budget" if best["build_s"] <= BUDGET_SECONDS[mode] else "OVER BUDGET"
        print(f"{mode:<5} {best['build_s']:7.1f}  {BUDGET_SECONDS[mode]:8d}  {best['load_s']:6.2f}  "
              f"{best['cache_mb']:8.1f}  {best['skus']:4d}  {best['queries']:7d}  {verdict}")


if __name__ == "__main__":
    main()
