"""Choosing signal weights on validation: the simplex grid, the weighted score and the search for the best."""

import numpy as np
import pytest
import torch

from mmlab.engine.signals import weighted_score
from mmlab.engine.weights import Judgements, fit_weights, simplex


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
    judgements = Judgements.of(relevance, sku_ids, k=2)
    assert judgements.mean_ndcg(weighted_score(signals, weights)) == pytest.approx(value)
    assert judgements.mean_ndcg(signals["bad"]) == 0.0


def test_tensor_ndcg_equals_the_metrics_module_with_ties_and_unknown_items():
    from mmlab.engine.signals import ranked
    from mmlab.metrics import ndcg_per_query

    generator = torch.Generator().manual_seed(1)
    sku_ids = np.array([f"s{i}" for i in range(30)])
    score = torch.randint(0, 4, (8, 30), generator=generator).float()  # many ties: the order must still agree
    relevance = [{f"s{(3 * q + j) % 30}": 1 + (j % 2) for j in range(1 + q % 4)} for q in range(8)]
    relevance[5]["gone"] = 2  # query 5 also judges an item no longer in the catalog
    top = ranked(score, 10).numpy()
    want = ndcg_per_query([list(sku_ids[row]) for row in top], relevance, 10)
    assert Judgements.of(relevance, sku_ids).mean_ndcg(score) == pytest.approx(float(want.mean()), abs=1e-12)
    assert 0 < want.mean() < 1 and want[5] < 1  # the missing item lowers query 5's ideal-normalised score


def test_ranked_is_a_stable_descending_sort():
    from mmlab.engine.signals import ranked

    generator = torch.Generator().manual_seed(2)
    scores = torch.randint(-4, 4, (6, 200), generator=generator).float() / 8  # ties everywhere, negatives
    scores[0, :3], scores[1, 5], scores[1, 6] = -torch.inf, -0.0, 0.0
    for k in (1, 10, 200):
        assert torch.equal(ranked(scores, k), torch.argsort(scores, dim=1, descending=True, stable=True)[:, :k])
    assert ranked(torch.tensor([0.5, 2.0, 0.5, 2.0]), 4).tolist() == [1, 3, 0, 2]
