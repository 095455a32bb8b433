"""Maintainers only: set the baseline tolerances from the spread of several runs of the same code.

    python -m tools.tolerances full RUN_A/metrics.json RUN_B/metrics.json ... [--labels "4 threads" ...]

The baseline ``tests/baselines/<mode>.json`` must already hold the reference run's values (``make baselines`` or
``python -m tools.run --resume --update-baselines --build-dir REFERENCE``). For every quality metric (numbers, not
timings, not "info"), the spread is the largest |value - expected| over the other runs, and the tolerance becomes

    integers:  2 x spread (0 when every run agrees: counts are exact)
    floats:    max(2 x spread, FLOOR), rounded up to 2 significant digits
    run times: direction "info" (shown, never a failure: the per-notebook budgets check time)

FLOOR (0.01 for scores between 0 and 1, 1 % of the value above) covers what the runs could not show: a machine
whose numerics cannot be pinned (another instruction set, another BLAS) moves a score by a query or two. Each
metric keeps its spread beside its tolerance (``"spread"``), and ``tests/baselines/TOLERANCES.md`` gets a table per
notebook saying which runs the spread came from.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from tools.run import ROOT, _write_json

TIMING_WORDS = ("seconds", "ms_per_clip", "latency_ms")


def is_quality(name: str, spec: dict[str, Any]) -> bool:
    """Numbers the notebooks measure about models and data (not run times, not choices shown for information)."""
    numeric = isinstance(spec["expected"], (int, float)) and not isinstance(spec["expected"], bool)
    return numeric and spec.get("direction") != "info" and not any(w in name for w in TIMING_WORDS)


def floor(expected: float) -> float:
    return max(0.01, 0.01 * abs(expected))


def round_up(value: float) -> float:
    """``value`` rounded up to 2 significant digits (0.0123 -> 0.013)."""
    if value <= 0:
        return 0.0
    scale = 10 ** (math.floor(math.log10(value)) - 1)
    return round(math.ceil(value / scale - 1e-9) * scale, 12)


def tolerance(expected: int | float, spread: float) -> float:
    if isinstance(expected, int):
        return 2 * spread
    return round_up(max(2 * spread, floor(expected)))


def spreads(baseline: dict[str, Any], runs: list[dict[str, Any]]) -> dict[tuple[str, str], float]:
    """(notebook, metric) -> largest |run value - expected| over the runs, for every quality metric."""
    out = {}
    for notebook, entry in baseline["notebooks"].items():
        for name, spec in entry["metrics"].items():
            if not is_quality(name, spec):
                continue
            values = [run["notebooks"][notebook]["metrics"][name] for run in runs]
            out[notebook, name] = max(abs(v - spec["expected"]) for v in values)
    return out


def apply(baseline: dict[str, Any], spread: dict[tuple[str, str], float]) -> None:
    """Tolerances from the spread; run times recorded inside notebooks become "info" (the budgets check time)."""
    for entry in baseline["notebooks"].values():
        for name, spec in entry["metrics"].items():
            if any(word in name for word in TIMING_WORDS):
                spec["direction"] = "info"
    for (notebook, name), s in spread.items():
        spec = baseline["notebooks"][notebook]["metrics"][name]
        spec["tolerance"] = tolerance(spec["expected"], s)
        spec["spread"] = float(f"{s:.6g}")


def report(mode: str, labels: list[str], spread: dict[tuple[str, str], float], baseline: dict[str, Any]) -> str:
    rows = []
    for notebook in baseline["notebooks"]:
        mine = {n: s for (nb, n), s in spread.items() if nb == notebook}
        if not mine:
            continue
        tols = [baseline["notebooks"][notebook]["metrics"][n]["tolerance"] for n in mine]
        moved = sum(s > 0 for s in mine.values())
        worst = max(mine, key=mine.get)
        rows.append(f"| {notebook} | {len(mine)} | {moved} | {mine[worst]:.4g} (`{worst}`) | "
                    f"{min(tols):g} to {max(tols):g} |")
    runs = "\n".join(f"{i}. {label}" for i, label in enumerate(labels, 1))
    return (f"## {mode}\n\nSpread measured against the baseline's reference run over these runs of the same "
            f"code and seed, each from an empty cache:\n\n{runs}\n\n"
            "| notebook | quality metrics | moved in some run | largest move | tolerances |\n"
            "|---|---|---|---|---|\n" + "\n".join(rows) + "\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("mode", choices=["fast", "full"])
    p.add_argument("runs", nargs="+", type=Path, help="metrics.json of each run (not the reference run)")
    p.add_argument("--labels", nargs="+", help="what differed in each run, in the same order")
    args = p.parse_args(argv)
    labels = args.labels or [str(r) for r in args.runs]
    if len(labels) != len(args.runs):
        p.error("give one label per run")
    path = ROOT / "tests" / "baselines" / f"{args.mode}.json"
    baseline = json.loads(path.read_text(encoding="utf-8"))
    runs = [json.loads(r.read_text(encoding="utf-8")) for r in args.runs]
    spread = spreads(baseline, runs)
    apply(baseline, spread)
    _write_json(path, baseline)
    print(report(args.mode, labels, spread, baseline))
    return 0


if __name__ == "__main__":
    sys.exit(main())
