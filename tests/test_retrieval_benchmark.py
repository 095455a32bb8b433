"""benchmarks/search.py stays runnable: a tiny size, both libraries, agreement, memory from /proc, ANN sweep,
faiss HNSW and Milvus Lite."""

import importlib.util
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "search.py"


def test_search_benchmark_runs_on_a_tiny_catalog(tmp_path):
    spec = importlib.util.spec_from_file_location("search_benchmark", SCRIPT)
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    rng = np.random.default_rng(0)
    items, queries = rng.standard_normal((2000, 16), dtype=np.float32), rng.standard_normal((30, 16), dtype=np.float32)
    result = benchmark.run_size(items, queries, k=5, repeats=1)
    assert result["n"] == 2000 and result["same"] == 1.0
    assert result["mmlab_s"] > 0 and result["faiss_s"] > 0 and result["ratio"] > 0 and result["mmlab_mb"] >= 0
    assert result["mmlab_gflops"] == benchmark.gflops(30, 2000, 16, result["mmlab_s"]) > 0
    _, _, megabytes = benchmark.measure(lambda: np.ones(20_000_000))  # 160 MB, touched
    assert 150 < megabytes < 400
    assert "CPUs" in benchmark.machine()
    sweep = benchmark.ann_sweeps(items, queries, k=5)
    assert sweep.kind.iloc[0] == "exact" and set(sweep.kind) == {"exact", "hnsw", "ivf"}
    assert sweep["recall@5"].iloc[-1] == 1.0 and (sweep.ms_per_query > 0).all()  # IVF scanning all 256 cells
    indexes = benchmark.index_rows(items, queries, 5, result["rows"], m=8, ef_construction=40, effort=32,
                                   folder=str(tmp_path))
    assert list(indexes["index"]) == ["faiss HNSW8 (efSearch 32)", "Milvus Lite FLAT", "Milvus Lite HNSW8 (ef 32)"]
    assert indexes["recall@5"].iloc[1] == 1.0 and (indexes["recall@5"] > 0.5).all() and (indexes.build_s > 0).all()
    assert indexes["GFLOP/s"].notna().tolist() == [False, True, False]
