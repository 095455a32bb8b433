"""The two-tower setup: query kinds routed to their own modules, masks honoured, identity start, training learns."""

import numpy as np
import pytest
import torch

from mmlab.models.fusion import ConcatFusion, GatedFusion, QueryTower, TowerConfig, start_as_identity
from mmlab.towerdata import PRODUCT_MODALITIES, QUERY_KINDS, Products, Queries
from mmlab.twotower import batches, by_kind, mean_ndcg, rank, train_tower, training_mask
from helpers import two_tower

DIMS = {"image": 8, "text": 8, "review": 4, "behaviour": 3}


def make_products(n: int = 12, seed: int = 0) -> Products:
    generator = torch.Generator().manual_seed(seed)
    features = {m: torch.randn(n, d, generator=generator) for m, d in DIMS.items()}
    mask = torch.ones(n, len(PRODUCT_MODALITIES), dtype=torch.bool)
    mask[::3, 2] = False  # no reviews
    mask[1::4, 3] = False  # no behaviour
    return Products(np.array([f"S{i:02d}" for i in range(n)]), features, mask)


def make_queries(n: int = 16, seed: int = 0) -> Queries:
    generator = torch.Generator().manual_seed(seed)
    kind = torch.arange(n) % len(QUERY_KINDS)
    split = np.array(["train", "val", "test", "train"] * (n // 4))
    return Queries(np.array([f"Q{i:02d}" for i in range(n)]), split, kind, torch.randn(n, 8, generator=generator),
                   torch.randn(n, 8, generator=generator), torch.arange(n) % 12)


def make_model(**settings):
    torch.manual_seed(0)
    return two_tower(TowerConfig(dim=8, **settings), DIMS, 8, 8)


def test_each_query_kind_uses_its_own_module():
    queries = make_queries()
    model = make_model()
    before = model.query_vectors(queries)
    assert before.shape == (16, 8) and torch.allclose(before.norm(dim=1), torch.ones(16))
    with torch.no_grad():
        model.queries.voice.weight.add_(1.0)
    after = model.query_vectors(queries)
    voice = queries.kind == QUERY_KINDS.index("voice")
    assert not torch.allclose(after[voice], before[voice])
    assert torch.allclose(after[~voice], before[~voice])


def test_text_and_image_queries_ignore_the_other_input():
    queries = make_queries()
    model = make_model()
    changed = Queries(queries.query_ids, queries.split, queries.kind, queries.image + 5, queries.text,
                      queries.targets)
    photo = (queries.kind == QUERY_KINDS.index("image")) | (queries.kind == QUERY_KINDS.index("composed"))
    assert torch.allclose(model.query_vectors(changed)[~photo], model.query_vectors(queries)[~photo])
    assert not torch.allclose(model.query_vectors(changed)[photo], model.query_vectors(queries)[photo])


@pytest.mark.parametrize("composition", ["gated", "concat", "photo_only"])
def test_compositions_give_unit_vectors(composition):
    tower = QueryTower(8, 8, 8, composition, GatedFusion, ConcatFusion)
    queries = make_queries()
    vectors = tower(queries.image, queries.text, queries.kind)
    assert torch.allclose(vectors.norm(dim=1), torch.ones(16), atol=1e-5)


def test_identity_start_keeps_the_upstream_space():
    model = make_model(fusion="weighted_sum", modalities=("text",))
    queries, products = make_queries(), make_products()
    text = queries.kind == QUERY_KINDS.index("text")
    want = torch.nn.functional.normalize(queries.text[text], dim=1)
    assert torch.allclose(model.query_vectors(queries)[text], want, atol=1e-6)
    assert torch.allclose(model.product_vectors(products), torch.nn.functional.normalize(products.features["text"]),
                          atol=1e-6)
    layer = torch.nn.Linear(8, 4)
    weight = layer.weight.clone()
    start_as_identity(layer)  # not square: left alone
    assert torch.equal(layer.weight, weight)


def test_a_sku_with_nothing_present_gets_a_zero_vector_and_masks_hold():
    products = make_products()
    model = make_model(modalities=("review",))
    vectors = model.product_vectors(products)
    no_reviews = ~products.mask[:, 2]
    assert (vectors[no_reviews] == 0).all() and (vectors[~no_reviews].norm(dim=1) > 0.99).all()
    full = make_model()
    noisy = Products(products.sku_ids, products.features | {"review": products.features["review"] * 100},
                     products.without("review").mask)
    assert torch.allclose(full.product_vectors(noisy), full.product_vectors(products.without("review")))


def test_noise_replaces_the_given_share_and_keeps_norms():
    products = make_products(n=400)
    noisy = products.with_noise("image", share=0.5, seed=1)
    changed = (noisy.features["image"] != products.features["image"]).any(dim=1)
    assert 0.4 < changed.float().mean() < 0.6
    assert torch.allclose(noisy.features["image"].norm(dim=1), products.features["image"].norm(dim=1), atol=1e-5)
    with pytest.raises(ValueError, match="share"):
        products.with_noise("image", share=2)


def test_batches_mark_shared_targets_as_positives():
    queries = make_queries(n=16)
    relevant = torch.zeros(16, 12, dtype=torch.bool)
    relevant[torch.arange(16), queries.targets] = True
    out = list(batches(queries, relevant, batch_size=16, seed=0))
    assert len(out) == 1
    batch = out[0]
    same_target = batch.targets[:, None] == batch.targets[None, :]
    assert torch.equal(batch.positives, same_target)  # queries 0 and 12 share SKU 0: not each other's negatives


def test_training_mask_and_config_validation():
    products = make_products()
    mask = training_mask(products, TowerConfig(train_without=("image",)))
    assert not mask[:, 0].any() and torch.equal(mask[:, 1:], products.mask[:, 1:])
    for settings, message in [({"fusion": "max"}, "fusion"), ({"loss": "mse"}, "loss"),
                              ({"modalities": ("smell",)}, "modalities"), ({"train_without": ("text",),
                                                                          "modalities": ("image",)}, "train_without")]:
        with pytest.raises(ValueError, match=message):
            TowerConfig(**settings)


def test_rank_returns_sku_ids_best_first():
    products, queries = make_products(), make_queries()
    model = make_model()
    ranked = rank(model, products, queries, k=5)
    assert len(ranked) == 16 and all(len(r) == 5 and set(r) <= set(products.sku_ids) for r in ranked)
    scores = model.query_vectors(queries) @ model.product_vectors(products).T
    assert ranked[0][0] == products.sku_ids[int(scores[0].argmax())]


def test_by_kind_averages_each_kind_and_all():
    queries = make_queries(n=8)  # kinds 0, 1, 2, 3, 0, 1, 2, 3
    scores = by_kind(np.arange(8.0), queries)
    assert scores == {"text": 2.0, "image": 3.0, "voice": 4.0, "composed": 5.0, "mixed": 3.5}


@pytest.fixture(scope="module")
def fast_inputs():
    from mmlab.data.catalog import load_catalog
    from mmlab.towerdata import load_tower_inputs

    catalog = load_catalog(fast=True, seed=0, verbose=False)
    return (catalog, *load_tower_inputs(catalog, seed=0))


def test_training_on_the_fast_catalog_learns(fast_inputs):
    catalog, products, queries = fast_inputs
    model = two_tower(TowerConfig(epochs=3, patience=None), {m: x.shape[1] for m, x in products.features.items()},
                     queries.image.shape[1], queries.text.shape[1])
    val = queries.split_of("val")
    before = mean_ndcg(catalog, val, rank(model, products, val))
    summary = train_tower(model, catalog, products, queries, seed=0)
    assert summary["loss"][-1] < summary["loss"][0]
    assert max(summary["val_ndcg10"]) == pytest.approx(mean_ndcg(catalog, val, rank(model, products, val)))
    assert max(summary["val_ndcg10"]) > before
    assert all(0.01 <= t <= 1 for t in summary["temperature"])
