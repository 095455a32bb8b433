"""The workbook's results in one place: headline numbers against the quality targets (docs/targets.md), and every
quality metric the earlier notebooks recorded.

    table = target_table({"text.en.ndcg10": 0.93, ...}, {"text.en.ndcg10": ("BM25", 0.90), ...})
    earlier = earlier_metrics(metrics_folder(METRICS_PATH, FAST), before="08_retrieval_metrics")

A target is an absolute floor (NDCG@10 >= 0.85) or relative to another measured number (voice >= 0.9 x the same
queries typed). A target whose number was not measured is listed as "not measured", never as met.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mmlab.config import BUILD_DIR


@dataclass(frozen=True)
class Target:
    """``key`` must reach ``threshold`` (times the measured ``reference`` when one is given)."""

    key: str
    goal: str
    threshold: float
    reference: str | None = None


TARGETS = (
    Target("text.en.ndcg10", "English text -> SKU, NDCG@10", 0.85),
    Target("text.zh.ndcg10", "Chinese text -> SKU, NDCG@10", 0.75),
    Target("photo.hit10", "shopper photo -> SKU, HitRate@10", 0.9),
    Target("photo.type_r1", "shopper photo -> product type, R@1", 0.8),
    Target("voice.ndcg10", "voice -> SKU, NDCG@10 (x the same queries typed)", 0.9, "voice.typed_ndcg10"),
    Target("fusion.gain_ndcg10", "best fusion minus best single product modality, NDCG@10", 0.0),
    Target("zero_shot.ndcg10", "zero-shot product types, NDCG@10", 0.5),
)

QUALITY = re.compile(r"ndcg|hit|recall|precision|mrr|map|r1|r2|acc|at\d+|margin")


def target_table(reached: dict[str, float], baselines: dict[str, tuple[str, float]],
                 targets: tuple[Target, ...] = TARGETS) -> pd.DataFrame:
    """One row per target: goal, required value, reached value, met (yes / no / not measured) and the baseline
    (name, value) measured on the same queries."""
    rows = []
    for t in targets:
        known = t.key in reached and (t.reference is None or t.reference in reached)
        required = t.threshold * reached[t.reference] if known and t.reference else t.threshold
        name, value = baselines.get(t.key, ("-", float("nan")))
        rows.append({"goal": t.goal, "target": required if known else float("nan"),
                     "reached": reached.get(t.key, float("nan")),
                     "met": ("yes" if reached[t.key] >= required else "no") if known else "not measured",
                     "baseline": name, "baseline value": value})
    return pd.DataFrame(rows).set_index("goal")


def metrics_folder(metrics_path: str | Path | None, fast: bool) -> Path:
    """Where the runner writes each notebook's metrics: beside ``metrics_path``, else ``build/metrics/<mode>``
    (the last ``make run`` or ``make run-fast``, so FAST and full numbers never mix)."""
    if metrics_path is not None:
        return Path(metrics_path).parent
    return BUILD_DIR / "metrics" / ("fast" if fast else "full")


def earlier_metrics(folder: str | Path, before: str = "") -> pd.DataFrame:
    """Every numeric quality metric (NDCG, hit rate, recall, accuracy, R^2, ...) in the runner's per-notebook
    files ``folder/NN_name.json`` of the notebooks that come before notebook ``before`` (all when empty): columns
    notebook, metric, value."""
    files = sorted(p for p in Path(folder).glob("[0-9][0-9]_*.json") if not before or p.stem < before)
    if not files:
        raise FileNotFoundError(f"no metrics of earlier notebooks in {folder}: run them first with "
                                "`python -m tools.run` (or `make run`), which writes build/metrics/<mode>/NN_name.json")
    rows = []
    for path in files:
        try:
            recorded = json.loads(path.read_text(encoding="utf-8"))["metrics"]
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise ValueError(f"{path} is not a metrics file written by mmlab.record.Recorder ({error}); delete it "
                             "and rerun its notebook") from error
        rows += [{"notebook": path.stem, "metric": name, "value": float(value)} for name, value in recorded.items()
                 if QUALITY.search(name) and isinstance(value, (int, float)) and not isinstance(value, bool)]
    return pd.DataFrame(rows, columns=["notebook", "metric", "value"])
