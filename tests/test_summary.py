"""The summary table compares with the targets honestly and reads the runner's metrics files."""

import json
import math

import pytest

from mmlab.summary import Target, earlier_metrics, metrics_folder, target_table

TARGETS = (Target("en", "English", 0.85), Target("voice", "voice", 0.9, "typed"), Target("zs", "zero-shot", 0.5))


def test_target_table_absolute_relative_and_missing():
    table = target_table({"en": 0.9, "voice": 0.7, "typed": 0.8}, {"en": ("BM25", 0.88)}, TARGETS)
    assert table.loc["English", "met"] == "yes" and table.loc["English", "baseline"] == "BM25"
    assert table.loc["voice", "target"] == pytest.approx(0.72) and table.loc["voice", "met"] == "no"
    assert table.loc["zero-shot", "met"] == "not measured" and math.isnan(table.loc["zero-shot", "reached"])


def test_relative_target_without_its_reference_is_not_measured():
    table = target_table({"voice": 0.99}, {}, TARGETS)
    assert table.loc["voice", "met"] == "not measured"


def test_earlier_metrics_keeps_quality_numbers(tmp_path):
    (tmp_path / "03_text.json").write_text(json.dumps({"notebook": "03_text", "metrics": {
        "text.mean.test.ndcg10_en": 0.93, "text.vocab.word": 2323, "image.best": "effnet", "exercises.passed": 2}}))
    for later in ["08_me", "09_next"]:  # the notebook itself and a later one, from an earlier run of the workbook
        (tmp_path / f"{later}.json").write_text(json.dumps({"notebook": later, "metrics": {"x.ndcg10": 0.1}}))
    table = earlier_metrics(tmp_path, before="08_me")
    assert table.to_dict("records") == [{"notebook": "03_text", "metric": "text.mean.test.ndcg10_en", "value": 0.93}]


def test_earlier_metrics_missing_and_corrupt(tmp_path):
    with pytest.raises(FileNotFoundError, match="tools.run"):
        earlier_metrics(tmp_path / "nowhere")
    (tmp_path / "02_image.json").write_text("{not json")
    with pytest.raises(ValueError, match="02_image.json"):
        earlier_metrics(tmp_path)


def test_metrics_folder(tmp_path):
    assert metrics_folder(tmp_path / "08.json", fast=True) == tmp_path
    assert metrics_folder(None, fast=True).parts[-2:] == ("metrics", "fast")
    assert metrics_folder(None, fast=False).parts[-2:] == ("metrics", "full")
