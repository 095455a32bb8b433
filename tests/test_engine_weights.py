"""Choosing signal weights on validation: the simplex grid, the weighted score and the search for the best."""

import numpy as np
import pytest
import torch

from mmlab.engine.signals import weighted_score
from mmlab.engine.weights import fit_weights, mean_ndcg, simplex


def test_simplex_is_every_grid_point_that_sums_to_one():
    points = simplex(3, 0.5)
    assert points == [(0, 0, 1), (0, 0.5, 0.5), (0, 1, 0), (0.5, 0, 0.5), (0.5, 0.5, 0), (1, 0, 0)]
    assert len(simplex(4, 0.1)) == 286  # C(13, 3)
    with pytest.raises(ValueError, match="divides 1"):
        simplex(2, 0.3)


def test_fit_weights_finds_the_signal_that_knows_the_answer():
    # three queries, four products; signal "good" puts each query's target first, "bad" last, "noise" random
    sku_ids = np.array(["a", "b", "c", "d"])
    relevance = [{"a": 2}, {"b": 2}, {"c": 2}]
    good = torch.tensor([[1.0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]])
    signals = {"bad": 1 - good, "good": good, "noise": torch.rand(3, 4, generator=torch.Generator().manual_seed(0))}
    weights, value = fit_weights(signals, relevance, sku_ids, step=0.25, k=2)
    assert value == pytest.approx(1.0) and weights["good"] > 0 == weights["bad"]  # the first best grid point
    assert mean_ndcg(weighted_score(signals, weights), relevance, sku_ids, k=2) == pytest.approx(value)
    assert mean_ndcg(signals["bad"], relevance, sku_ids, k=2) == 0.0
