"""Tests of ``Recorder.record_all`` and ``slug``: flattening, the naming rule, rounding and the errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from mmlab.record import DECIMALS, Recorder, slug


@pytest.mark.parametrize("label, name", [
    ("SKU hit@10", "sku_hit10"),
    ("EfficientNet + head (trained)", "efficientnet_head_trained"),
    ("NDCG@10 zero-shot", "ndcg10_zero_shot"),
    ("same department @5", "same_department_at5"),
    ("100% of images noisy", "100pct_of_images_noisy"),
    ("mean stars (R²)", "mean_stars_r2"),  # NFKC: the superscript becomes a plain 2
    ("product photo ↔ title", "product_photo_title"),
    ("learned recogniser -> text", "learned_recogniser_text"),
    ("fixed τ=0.01", "fixed_τ_0_01"),  # a dot is not kept inside a level: it separates levels
    ("中文 标题", "中文_标题"),
    (10, "10"),
    ("already_a_name", "already_a_name"),
])
def test_slug(label: object, name: str) -> None:
    assert slug(label) == name
    assert slug(name) == name  # idempotent: a slug is its own slug


@pytest.mark.parametrize("label", ["", "  ", "(+)", "-"])
def test_slug_rejects_labels_without_letters_or_digits(label: str) -> None:
    with pytest.raises(ValueError, match="empty metric name"):
        slug(label)


def test_record_all_flattens_mappings_frames_series_and_scalars(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    table = pd.DataFrame({"SKU hit@10": [0.5, 0.25], "queries": [27, 16]}, index=["raw pixels", "small CNN (trained)"])
    path = tmp_path / "m.json"
    recorder = Recorder("nb", path=path)
    recorder.record_all({"image": {"test": table, "best": "small_cnn_trained"},
                         "curve": pd.Series({"5 dB": 0.75, "clean": 1.0}),
                         "count": np.int64(3), "ok": np.bool_(True), "loss": torch.tensor(0.125), "none": {}})
    expected = {"image.test.raw_pixels.sku_hit10": 0.5, "image.test.raw_pixels.queries": 27,
                "image.test.small_cnn_trained.sku_hit10": 0.25, "image.test.small_cnn_trained.queries": 16,
                "image.best": "small_cnn_trained", "curve.5_db": 0.75, "curve.clean": 1.0,
                "count": 3, "ok": True, "loss": 0.125}
    assert recorder.metrics == expected
    assert json.loads(path.read_text(encoding="utf-8"))["metrics"] == expected
    assert [type(recorder.metrics[n]) for n in ("image.test.raw_pixels.queries", "count", "ok")] == [int, int, bool]
    assert capsys.readouterr().out == "recorded 10 metrics\n"


def test_record_all_joins_multiindex_levels_and_tuple_keys() -> None:
    rows = pd.MultiIndex.from_tuples([("raw pixels", "test"), ("raw pixels", "zero_shot")], names=["model", "split"])
    columns = pd.MultiIndex.from_tuples([("NDCG@10", "en"), ("NDCG@10", "zh")])
    table = pd.DataFrame([[0.1, 0.2], [0.3, 0.4]], index=rows, columns=columns)
    recorder = Recorder("nb")
    recorder.record_all({"t": table, "s": table.stack(0, future_stack=True)["en"], ("a b", "c"): 1})
    assert recorder.metrics == {
        "t.raw_pixels.test.ndcg10.en": 0.1, "t.raw_pixels.test.ndcg10.zh": 0.2,
        "t.raw_pixels.zero_shot.ndcg10.en": 0.3, "t.raw_pixels.zero_shot.ndcg10.zh": 0.4,
        "s.raw_pixels.test.ndcg10": 0.1, "s.raw_pixels.zero_shot.ndcg10": 0.3, "a_b.c": 1}


def test_record_all_rounds_floats_only() -> None:
    recorder = Recorder("nb")
    recorder.record_all({"f": 0.123456789, "f32": np.float32(0.1), "i": 123456789, "s": "0.123456789"})
    assert recorder.metrics == {"f": round(0.123456789, DECIMALS), "f32": 0.1, "i": 123456789, "s": "0.123456789"}
    assert DECIMALS == 4


def test_record_all_keeps_earlier_metrics_and_record() -> None:
    recorder = Recorder("nb")
    recorder.record("single.value@10", 0.123456789)
    recorder.record_all({"table": {"a": 1}})
    assert recorder.metrics == {"single.value@10": 0.123456789, "table.a": 1}


@pytest.mark.parametrize("metrics, error, message", [
    ({"a b": 1, "a-b": 2}, ValueError, r"labels \('a b',\) and \('a-b',\) both give the metric name 'a_b'"),
    (pd.DataFrame({"x": [1, 2]}, index=["r", "r"]).pipe(lambda t: {"t": t}), ValueError, "both give the metric name"),
    ({"t": {"(+)": 1}}, ValueError, "empty metric name"),
    ({"t": pd.DataFrame({"hit@10": [0.5, math.nan]})}, ValueError, r"metric 't\.1\.hit10' is nan: record finite"),
    ({"inf": math.inf}, ValueError, "finite numbers only"),
    ({"t": [0.5, 0.6]}, TypeError, "metric 't' has type list"),
    ({"t": None}, TypeError, "metric 't' has type NoneType"),
    (pd.Series({"a": 1.0}), TypeError, "takes a mapping of metrics, got Series"),
])
def test_record_all_rejects_bad_input_and_records_nothing(metrics: object, error: type, message: str) -> None:
    recorder = Recorder("nb")
    recorder.record("kept", 1)
    with pytest.raises(error, match=message):
        recorder.record_all({"fine": 0.5, **metrics} if isinstance(metrics, dict) else metrics)
    assert recorder.metrics == {"kept": 1}
