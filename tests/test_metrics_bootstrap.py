"""bootstrap_ci: the interval holds the mean, shrinks with more queries, covers the truth, and pairs differences."""

import numpy as np
import pytest
from scipy import stats

from mmlab.metrics import bootstrap_ci


def test_interval_holds_the_mean_and_is_reproducible():
    scores = np.random.default_rng(0).uniform(size=200)
    mean, low, high = bootstrap_ci(scores)
    assert mean == pytest.approx(scores.mean())
    assert low < mean < high
    assert bootstrap_ci(scores) == (mean, low, high)


def test_interval_matches_the_normal_approximation():
    scores = np.random.default_rng(1).normal(0.5, 0.2, size=400)
    _, low, high = bootstrap_ci(scores, n_resamples=4000)
    half_width = stats.norm.ppf(0.975) * scores.std(ddof=1) / np.sqrt(len(scores))
    assert (high - low) / 2 == pytest.approx(half_width, rel=0.1)


def test_interval_shrinks_with_more_queries():
    rng = np.random.default_rng(2)
    few, many = bootstrap_ci(rng.uniform(size=50)), bootstrap_ci(rng.uniform(size=2000))
    assert many[2] - many[1] < (few[2] - few[1]) / 3


def test_coverage_is_close_to_the_confidence():
    rng = np.random.default_rng(3)
    covered = [low <= 0.5 <= high for low, high in
               (bootstrap_ci(rng.uniform(size=100), n_resamples=500, seed=s)[1:] for s in range(200))]
    assert 0.88 <= np.mean(covered) <= 0.99


def test_paired_difference_sees_what_unpaired_intervals_miss():
    rng = np.random.default_rng(4)
    difficulty = rng.uniform(size=300)  # shared by both systems: most of the per-query spread
    better, worse = difficulty + 0.03 + rng.normal(0, 0.01, 300), difficulty + rng.normal(0, 0.01, 300)
    mean, low, high = bootstrap_ci(better, baseline=worse)
    assert mean == pytest.approx(np.mean(better - worse))
    assert low > 0  # paired: clearly better
    assert bootstrap_ci(better)[1] < bootstrap_ci(worse)[2]  # the separate intervals overlap


@pytest.mark.parametrize("kwargs, message", [
    ({"scores": [0.5]}, "at least 2"),
    ({"scores": [0.5, np.nan]}, "NaN"),
    ({"scores": [0.1, 0.2], "baseline": [0.1]}, "same queries"),
    ({"scores": [0.1, 0.2], "confidence": 1.5}, "confidence"),
])
def test_bad_input_is_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        bootstrap_ci(**kwargs)
