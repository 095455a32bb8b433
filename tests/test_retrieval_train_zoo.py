"""Exact search, the training loop and the model cache."""

import numpy as np
import pytest
import torch

from mmlab.retrieval import rank_ids, search
from mmlab.train import fit
from mmlab.zoo import trained


def test_search_matches_brute_force_for_every_metric():
    rng = np.random.default_rng(0)
    queries, items = rng.normal(size=(7, 5)), rng.normal(size=(50, 5))
    normed = items / np.linalg.norm(items, axis=1, keepdims=True)
    expected = {"cosine": queries @ normed.T, "dot": queries @ items.T,
                "euclidean": -np.linalg.norm(queries[:, None] - items[None], axis=2)}
    for metric, full in expected.items():
        _, top = search(queries, items, k=5, metric=metric, batch_size=3)
        assert (top == np.argsort(-full, axis=1)[:, :5]).all(), metric
    assert rank_ids(queries[:1], items, [f"s{i}" for i in range(50)], 2)[0][0] == f"s{np.argmax(expected['cosine'][0])}"


@pytest.mark.parametrize("kwargs, message", [
    ({"k": 0}, "between 1"), ({"k": 51}, "between 1"), ({"metric": "manhattan"}, "unknown metric")])
def test_search_rejects_bad_arguments(kwargs, message):
    args = {"queries": np.ones((2, 3)), "items": np.ones((50, 3)), "k": 5} | kwargs
    with pytest.raises(ValueError, match=message):
        search(**args)


def test_search_rejects_nan_and_mismatched_dimensions():
    with pytest.raises(ValueError, match="NaN"):
        search(np.full((1, 3), np.nan), np.ones((4, 3)), 1)
    with pytest.raises(ValueError, match="dimension"):
        search(np.ones((1, 3)), np.ones((4, 2)), 1)


def _regression_task():
    torch.manual_seed(0)
    x = torch.randn(256, 4)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 3.0])
    batches = lambda epoch: [(x[i:i + 32], y[i:i + 32]) for i in range(0, 256, 32)]
    loss_fn = lambda model, batch: torch.nn.functional.mse_loss(model(batch[0]).squeeze(1), batch[1])
    return x, y, batches, loss_fn


def test_fit_lowers_the_loss_and_restores_the_best_epoch():
    x, y, batches, loss_fn = _regression_task()
    model = torch.nn.Linear(4, 1)
    validation = lambda: -torch.nn.functional.mse_loss(model(x).squeeze(1), y).item()
    history = fit(model, batches, loss_fn, epochs=15, lr=0.05, evaluate=validation, progress=False)
    assert history.loss[-1] < 0.1 * history.loss[0]
    assert validation() == pytest.approx(max(history.val))


def test_zoo_returns_the_identical_model_from_cache_and_retrains_a_corrupt_one(tmp_path):
    x, y, batches, loss_fn = _regression_task()
    calls = []

    def train(model):
        calls.append(1)
        return {"loss": fit(model, batches, loss_fn, epochs=3, lr=0.05, progress=False).loss[-1]}

    config = {"lr": 0.05}
    first, summary = trained("linear", config, "data-v1", lambda: torch.nn.Linear(4, 1), train, folder=tmp_path)
    again, cached = trained("linear", config, "data-v1", lambda: torch.nn.Linear(4, 1), train, folder=tmp_path)
    assert len(calls) == 1 and cached["from_cache"] and not summary["from_cache"]
    assert torch.equal(first.weight, again.weight) and cached["loss"] == summary["loss"]
    trained("linear", config, "data-v2", lambda: torch.nn.Linear(4, 1), train, folder=tmp_path)
    assert len(calls) == 2  # a new data version trains a new model
    checkpoint = next(tmp_path.glob("linear-*.pt"))
    checkpoint.write_bytes(checkpoint.read_bytes()[:-8])
    trained("linear", config, "data-v1", lambda: torch.nn.Linear(4, 1), train, folder=tmp_path)
    trained("linear", config, "data-v2", lambda: torch.nn.Linear(4, 1), train, folder=tmp_path)
    assert len(calls) == 3  # exactly the corrupted checkpoint was retrained
