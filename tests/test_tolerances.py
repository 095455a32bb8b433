"""Baseline tolerances set from the spread of several runs (tools.tolerances)."""

from __future__ import annotations

import pytest

from tools import tolerances


@pytest.mark.parametrize("value, expected", [(0.0123, 0.013), (0.01, 0.01), (0.0101, 0.011), (0.25, 0.25),
                                             (1.234, 1.3), (0.0, 0.0)])
def test_round_up_to_two_significant_digits(value: float, expected: float) -> None:
    assert tolerances.round_up(value) == pytest.approx(expected)


def test_tolerance_is_twice_the_spread_with_a_floor() -> None:
    assert tolerances.tolerance(0.8, 0.0) == 0.01  # nothing moved: the floor
    assert tolerances.tolerance(0.8, 0.02) == 0.04  # twice the spread
    assert tolerances.tolerance(3.0, 0.0) == 0.03  # 1 % of a larger value
    assert tolerances.tolerance(731, 0) == 0  # counts stay exact unless a run moved them
    assert tolerances.tolerance(731, 4) == 8


def test_only_quality_metrics_get_tolerances_from_the_spread() -> None:
    baseline = {"notebooks": {"nb": {"metrics": {
        "a.ndcg10": {"expected": 0.5, "tolerance": 0.2, "direction": "higher"},
        "a.train_seconds": {"expected": 30.0, "tolerance": 300, "direction": "lower"},
        "best": {"expected": "x", "tolerance": 0, "direction": "info"},
        "n": {"expected": 10, "tolerance": 0, "direction": "equal"}}}}}
    runs = [{"notebooks": {"nb": {"metrics": {"a.ndcg10": 0.52, "a.train_seconds": 90.0, "best": "y", "n": 10}}}},
            {"notebooks": {"nb": {"metrics": {"a.ndcg10": 0.47, "a.train_seconds": 20.0, "best": "x", "n": 10}}}}]
    spread = tolerances.spreads(baseline, runs)
    assert spread == {("nb", "a.ndcg10"): pytest.approx(0.03), ("nb", "n"): 0}
    tolerances.apply(baseline, spread)
    metrics = baseline["notebooks"]["nb"]["metrics"]
    assert metrics["a.ndcg10"]["tolerance"] == 0.06 and metrics["a.ndcg10"]["spread"] == pytest.approx(0.03)
    assert metrics["a.train_seconds"]["direction"] == "info" and metrics["n"]["tolerance"] == 0
