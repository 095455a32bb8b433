"""The check helpers of notebook 07 pass a right answer, fail wrong ones and report a stub as not done."""

import numpy as np
import torch
import torch.nn.functional as F

from mmlab.exercises.losses import check_hardest_negative, check_symmetric_info_nce, check_train_step
from mmlab.models.fusion import TowerConfig
from mmlab.models.losses import info_nce, similarity
from mmlab.towerdata import PRODUCT_MODALITIES, Products, Queries
from mmlab.twotower import Batch
from helpers import two_tower


def stub(*args):
    raise NotImplementedError("write your code here")


def right_info_nce(sim, positives, t):
    soft = positives.float()
    return (F.cross_entropy(sim / t, soft / soft.sum(1, keepdim=True))
            + F.cross_entropy(sim.T / t, soft.T / soft.T.sum(1, keepdim=True))) / 2


def test_symmetric_info_nce_check(capsys):
    assert check_symmetric_info_nce(right_info_nce)
    one_way = lambda sim, p, t: F.cross_entropy(sim / t, p.float() / p.float().sum(1, keepdim=True))
    assert not check_symmetric_info_nce(one_way)
    assert "items → queries" in capsys.readouterr().out
    plain = lambda sim, p, t: (F.cross_entropy(sim / t, torch.arange(5)) + F.cross_entropy(sim.T / t,
                                                                                            torch.arange(5))) / 2
    assert not check_symmetric_info_nce(plain)
    assert "soft" in capsys.readouterr().out
    assert not check_symmetric_info_nce(lambda sim, p, t: right_info_nce(sim, p, 1.0))
    assert not check_symmetric_info_nce(lambda sim, p, t: "loss")
    assert not check_symmetric_info_nce(stub)
    assert "not done yet" in capsys.readouterr().out


def test_hardest_negative_check(capsys):
    assert check_hardest_negative(lambda sim, p: sim.masked_fill(p, float("-inf")).argmax(dim=1))
    assert not check_hardest_negative(lambda sim, p: sim.argmax(dim=1))
    assert "positive itself" in capsys.readouterr().out
    eye = lambda sim, p: sim.masked_fill(torch.eye(len(sim), dtype=torch.bool), float("-inf")).argmax(dim=1)
    assert not check_hardest_negative(eye)
    assert "relevant to query 1" in capsys.readouterr().out
    assert not check_hardest_negative(lambda sim, p: sim.masked_fill(p, float("-inf")).argmin(dim=1))
    assert not check_hardest_negative(stub)
    assert "not done yet" in capsys.readouterr().out


def tiny_towers() -> tuple[torch.nn.Module, Products, Batch]:
    """An untrained InfoNCE two-tower model, 12 SKUs and a batch of 6 pairs (query 1 also likes query 4's SKU)."""
    generator = torch.Generator().manual_seed(0)
    dims = {"image": 8, "text": 8, "review": 4, "behaviour": 3}
    products = Products(np.array([f"S{i:02d}" for i in range(12)]),
                        {m: torch.randn(12, d, generator=generator) for m, d in dims.items()},
                        torch.ones(12, len(PRODUCT_MODALITIES), dtype=torch.bool))
    queries = Queries(np.array([f"Q{i}" for i in range(6)]), np.array(["train"] * 6), torch.arange(6) % 4,
                      torch.randn(6, 8, generator=generator), torch.randn(6, 8, generator=generator),
                      torch.tensor([0, 2, 4, 6, 8, 10]))
    positives = torch.eye(6, dtype=torch.bool)
    positives[1, 4] = True
    torch.manual_seed(0)
    return two_tower(TowerConfig(dim=8), dims, 8, 8), products, Batch(queries, queries.targets, positives)


def step(model, optimiser, products, batch, zero_grad=True, scaled=True, backward=True, update=True, as_float=True):
    """One InfoNCE training step, right by default; each flag turns on one mistake a learner makes."""
    if zero_grad:
        optimiser.zero_grad()
    sim = similarity(model.query_vectors(batch.queries), model.product_vectors(products, batch.targets))
    loss = info_nce(model.scale(sim) if scaled else sim, batch.positives)
    if backward:
        loss.backward()
    if update:
        optimiser.step()
    return loss.item() if as_float else loss


def via_model_loss(model, optimiser, products, batch):
    optimiser.zero_grad()
    loss = model.loss(model.query_vectors(batch.queries), model.product_vectors(products, batch.targets),
                      batch.positives)
    loss.backward()
    optimiser.step()
    return loss.item()


def test_train_step_check(capsys):
    model, products, batch = tiny_towers()
    weights = [p.detach().clone() for p in model.parameters()]
    assert check_train_step(step, model, products, batch)
    assert all(torch.equal(p, w) for p, w in zip(model.parameters(), weights)), "the check must not train the model"
    assert check_train_step(via_model_loss, model, products, batch)  # the model's own loss is the same InfoNCE
    for mistake, message in [({"zero_grad": False}, "first step's gradients"), ({"backward": False}, "no gradients"),
                             ({"update": False}, "call optimiser.step()"), ({"scaled": False}, "model.scale(sim)"),
                             ({"as_float": False}, "Python float")]:
        assert not check_train_step(lambda *args: step(*args, **mistake), model, products, batch)
        assert message in capsys.readouterr().out


def test_train_step_check_names_a_zero_grad_in_the_wrong_place(capsys):
    def late_zero_grad(model, optimiser, products, batch):
        loss = info_nce(model.scale(similarity(model.query_vectors(batch.queries),
                                               model.product_vectors(products, batch.targets))), batch.positives)
        loss.backward()
        optimiser.zero_grad(set_to_none=False)
        optimiser.step()
        return loss.item()

    assert not check_train_step(late_zero_grad, *tiny_towers())
    assert "not between loss.backward() and optimiser.step()" in capsys.readouterr().out
    assert not check_train_step(lambda m, o, p, b: step(m, o, p, b) * 2, *tiny_towers())
    assert "expected loss" in capsys.readouterr().out
    assert not check_train_step(stub, *tiny_towers())
    assert "not done yet" in capsys.readouterr().out
