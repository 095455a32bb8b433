"""Benchmark: exact top-k search in mmlab against faiss-cpu ``IndexFlatIP``, and vector indexes, same data, same run.

    .venv/bin/python benchmarks/search.py [--sizes 10000 100000 1000000] [--queries 1000] [--repeats 1]

Float32 vectors of dimension 128 and intrinsic dimension ``--ann-rank`` (a random linear map of Gaussian codes plus a
little noise: learned embeddings are structured like this, while i.i.d. Gaussian vectors, the worst case for ANN,
would give every index a poor trade-off; the cost of an exact search does not depend on the values), 1,000 queries,
top-10 by dot product, every core for both libraries. For each catalog size it prints the search time (best of
``--repeats``), the peak extra resident memory during the call, faiss's time and memory to build its index (a copy
of the vectors), the share of identical neighbours, mmlab's time as a multiple of faiss's and the achieved GFLOP/s
of both (2 x queries x items x dim floating-point operations per search). The budget (docs/targets.md) is at most
1.1x at 1M x 128. Peak memory is Linux's VmHWM (reset through /proc/self/clear_refs) minus the resident size before.

``--indexes all`` (the default) adds, at each size, the vector indexes a larger catalog would use, on the same
vectors and queries: faiss HNSW and Milvus Lite (``mmlab.vectordb``, a Milvus database file in a temporary folder)
with a FLAT index (exact) and an HNSW index, each with its build time and memory, search time, GFLOP/s (FLAT) and
recall@k against mmlab's exact search. Milvus FLAT's build includes inserting the vectors (through Milvus's client,
in batches); its HNSW is built afterwards on the stored rows. ``--indexes flat`` adds only Milvus Lite FLAT (for a
second run under other BLAS settings: HNSW does not use BLAS), ``--indexes none`` nothing.

Then the recall@10-vs-latency sweep of ``mmlab.ann``'s HNSW and IVF indexes (cosine) on ``--ann-size`` vectors
(0: skip it). Results are recorded in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pandas as pd
import torch

from mmlab.ann import build_index, recall_at_k, recall_latency_sweep
from mmlab.retrieval import search
from mmlab.vectordb import ProductIndex

BUDGET_RATIO = 1.1  # docs/targets.md: mmlab exact search no slower than 1.1 x faiss IndexFlatIP at 1M x 128
STATUS, CLEAR_REFS = Path("/proc/self/status"), Path("/proc/self/clear_refs")


def _status_kb(field: str) -> int:
    return int(re.search(rf"{field}:\s+(\d+) kB", STATUS.read_text()).group(1))


def measure(call: Callable[[], Any]) -> tuple[Any, float, float]:
    """``call()``'s result, wall seconds and peak extra resident memory in MB."""
    if not CLEAR_REFS.exists():
        raise RuntimeError("peak memory is read from /proc/self (Linux); run this benchmark on Linux")
    CLEAR_REFS.write_text("5")  # reset the peak resident size (VmHWM) to the current one
    before = _status_kb("VmRSS")
    start = time.perf_counter()
    result = call()
    seconds = time.perf_counter() - start
    return result, seconds, (_status_kb("VmHWM") - before) / 1024


def machine() -> str:
    """CPU model, cores, Python and library versions."""
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"model name\s*:\s*(.+)", cpuinfo)
    return (f"{model.group(1) if model else platform.processor()}, {os.cpu_count()} CPUs, Python "
            f"{platform.python_version()}, torch {torch.__version__}, faiss-cpu {faiss.__version__}, "
            f"numpy {np.__version__}")


def run_size(items: np.ndarray, queries: np.ndarray, k: int, repeats: int) -> dict[str, float]:
    """Both searches over ``items``, best time of ``repeats`` each (interleaved), with memory and agreement."""
    index, faiss_build_s, faiss_build_mb = measure(lambda: _flat_index(items))
    best: dict[str, tuple[float, float, np.ndarray]] = {}
    for _ in range(repeats):
        for name, call in [("faiss", lambda: index.search(queries, k)[1]),
                           ("mmlab", lambda: search(queries, items, k, metric="dot")[1])]:
            rows, seconds, megabytes = measure(call)
            if name not in best or seconds < best[name][0]:
                best[name] = (seconds, megabytes, rows)
    del index
    (faiss_s, faiss_mb, faiss_rows), (mmlab_s, mmlab_mb, mmlab_rows) = best["faiss"], best["mmlab"]
    return {"n": len(items), "mmlab_s": mmlab_s, "mmlab_mb": mmlab_mb, "faiss_s": faiss_s, "faiss_mb": faiss_mb,
            "faiss_build_s": faiss_build_s, "faiss_build_mb": faiss_build_mb, "ratio": mmlab_s / faiss_s,
            "same": float(np.mean(np.sort(mmlab_rows, 1) == np.sort(faiss_rows, 1))),
            "mmlab_gflops": gflops(len(queries), *items.shape, mmlab_s),
            "faiss_gflops": gflops(len(queries), *items.shape, faiss_s), "rows": mmlab_rows}


def gflops(n_queries: int, n_items: int, dim: int, seconds: float) -> float:
    """Achieved GFLOP/s of an exact search: one multiply and one add per query, item and dimension."""
    return 2 * n_queries * n_items * dim / seconds / 1e9


def index_rows(items: np.ndarray, queries: np.ndarray, k: int, exact: np.ndarray, m: int, ef_construction: int,
               effort: int, folder: str, hnsw: bool = True) -> pd.DataFrame:
    """faiss HNSW, Milvus Lite FLAT and Milvus Lite HNSW (only FLAT unless ``hnsw``) over ``items``: build and
    search time and memory, GFLOP/s of the exact (FLAT) search and recall@k against ``exact`` (mmlab's rows)."""
    rows = []

    def add(name: str, build: tuple[Any, float, float], search_call: Callable[[Any], np.ndarray], exact_search: bool):
        index, build_s, build_mb = build
        found, search_s, search_mb = measure(lambda: search_call(index))
        rows.append({"items": len(items), "index": name, "build_s": build_s, "build_MB": build_mb,
                     "search_s": search_s, "search_MB": search_mb, "ms_per_query": 1000 * search_s / len(queries),
                     "GFLOP/s": gflops(len(queries), *items.shape, search_s) if exact_search else np.nan,
                     f"recall@{k}": recall_at_k(found, exact, k)})

    if hnsw:
        add(f"faiss HNSW{m} (efSearch {effort})",
            measure(lambda: build_index(items, "hnsw", "dot", m=m, ef_construction=ef_construction)),
            lambda index: index.search(queries, k, effort=effort)[1], False)
    # one database file (and so one embedded server) per size: a server left idle during the previous size's long
    # builds may have closed its connections ("too many pings"), and a new client would not reach it
    name, uri = f"bench_{len(items)}", f"{folder}/bench_{len(items)}.db"
    add("Milvus Lite FLAT", measure(lambda: ProductIndex.create(name, items, uri=uri)),
        lambda index: index.search(queries, k)[1], True)
    milvus = ProductIndex.open(name, uri)
    if hnsw:
        add(f"Milvus Lite HNSW{m} (ef {effort})",
            measure(lambda: milvus.build("HNSW", m=m, ef_construction=ef_construction) or milvus),
            lambda index: index.search(queries, k, effort=effort)[1], False)
    milvus.drop()
    return pd.DataFrame(rows)


def _flat_index(items: np.ndarray) -> faiss.IndexFlatIP:
    index = faiss.IndexFlatIP(items.shape[1])
    index.add(items)
    return index


def low_rank(n: int, dim: int, rank: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` float32 vectors near a random ``rank``-dimensional subspace of R^dim (noise 10 % of the signal)."""
    basis = rng.standard_normal((rank, dim), dtype=np.float32) / np.sqrt(rank)
    return rng.standard_normal((n, rank), dtype=np.float32) @ basis + 0.1 * rng.standard_normal((n, dim),
                                                                                               dtype=np.float32)


def ann_sweeps(items: np.ndarray, queries: np.ndarray, k: int) -> pd.DataFrame:
    """Recall@k against exact cosine search and ms/query for HNSW (32 links) and IVF (256 cells), with build
    times; the first row is mmlab's exact search itself."""
    (_, exact), seconds, _ = measure(lambda: search(queries, items, k, metric="cosine"))
    tables = [pd.DataFrame([{"kind": "exact", "parameter": "-", "effort": None, f"recall@{k}": 1.0,
                             "ms_per_query": 1000 * seconds / len(queries), "build_s": 0.0}])]
    for kind, options in [("hnsw", {"m": 32}), ("ivf", {"nlist": 256})]:
        index, build_s, _ = measure(lambda: build_index(items, kind, "cosine", **options))
        tables.append(recall_latency_sweep(index, queries, exact, k, repeats=3).assign(build_s=build_s))
    return pd.concat(tables, ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=1, help="runs per library and size; the best is reported")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for both libraries")
    parser.add_argument("--ann-size", type=int, default=100_000, help="items for the ANN sweep (0: skip it)")
    parser.add_argument("--ann-rank", type=int, default=16, help="intrinsic dimension of every vector set")
    parser.add_argument("--indexes", choices=["all", "flat", "none"], default="all",
                        help="at every size also faiss HNSW and Milvus Lite FLAT and HNSW (all), only Milvus Lite "
                             "FLAT (flat: the exact ones, for a second run under other BLAS settings), or none")
    parser.add_argument("-m", type=int, default=16, help="HNSW links per node (faiss and Milvus)")
    parser.add_argument("--ef-construction", type=int, default=64, help="HNSW efConstruction (faiss and Milvus)")
    parser.add_argument("--effort", type=int, default=64, help="HNSW efSearch / ef at search time")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    faiss.omp_set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    vectors = low_rank(max(args.sizes) + args.queries, args.dim, args.ann_rank, rng)
    items, queries = vectors[:max(args.sizes)], vectors[max(args.sizes):]  # smaller sizes use the first rows
    print(f"machine: {machine()}; {args.threads} threads each")
    print(f"{args.queries} queries, dimension {args.dim}, top-{args.k} by dot product, best of {args.repeats}")
    print(f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}, "
          f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE')}; load average {os.getloadavg()}")
    print("     items  mmlab_s  mmlab_MB  faiss_s  faiss_MB  faiss_build_s  faiss_build_MB  mmlab/faiss  "
          "same_rows  mmlab_GFLOP/s  faiss_GFLOP/s")
    indexes = []
    with tempfile.TemporaryDirectory(prefix="milvus-bench-") as folder:
        for n in args.sizes:
            r = run_size(items[:n], queries, args.k, args.repeats)
            print(f"{r['n']:10,d}  {r['mmlab_s']:7.2f}  {r['mmlab_mb']:8.0f}  {r['faiss_s']:7.2f}  "
                  f"{r['faiss_mb']:8.0f}  {r['faiss_build_s']:13.2f}  {r['faiss_build_mb']:14.0f}  "
                  f"{r['ratio']:10.2f}x  {r['same']:9.4f}  {r['mmlab_gflops']:13.1f}  {r['faiss_gflops']:13.1f}")
            if args.indexes != "none":
                indexes.append(index_rows(items[:n], queries, args.k, r["rows"], args.m, args.ef_construction,
                                          args.effort, folder, hnsw=args.indexes == "all"))
                print(indexes[-1].round(3).to_string(index=False, header=len(indexes) == 1), flush=True)
    verdict = "within" if r["ratio"] <= BUDGET_RATIO else "OVER"
    print(f"at {r['n']:,} items mmlab takes {r['ratio']:.2f}x faiss IndexFlatIP: {verdict} the {BUDGET_RATIO}x aim")
    if indexes:
        print(f"\nvector indexes (HNSW: {args.m} links, efConstruction {args.ef_construction}), same vectors and "
              f"queries, recall@{args.k} against mmlab's exact search; load average {os.getloadavg()}:")
        print(pd.concat(indexes, ignore_index=True).round(3).to_string(index=False))
    if args.ann_size:
        print(f"\nANN sweep on {args.ann_size:,} items of intrinsic dimension {args.ann_rank} (cosine), "
              f"recall@{args.k} against exact search, {args.queries} queries in one batch:")
        vectors = low_rank(args.ann_size + args.queries, args.dim, args.ann_rank, rng)
        sweep = ann_sweeps(vectors[:args.ann_size], vectors[args.ann_size:], args.k)
        print(sweep.round(4).to_string(index=False))


if __name__ == "__main__":
    main()
