"""Modality gap, labelled joint points, UMAP and failure reasons (FAST catalog, tiny untrained tower)."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch

from helpers import two_tower
from mmlab.data.catalog import load_catalog
from mmlab.models.fusion import TowerConfig
from mmlab.space import SOURCES, category_colours, failure_reason, joint_points, modality_gap, scatter, umap_2d
from mmlab.towerdata import Products, Queries


def test_gap_of_a_cloud_and_its_copy_is_zero_and_of_opposite_poles_two():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(50, 8))
    assert modality_gap(a, a * 3) == pytest.approx(0, abs=1e-12)  # rows are normalised first
    north, south = np.tile([1.0, 0, 0], (5, 1)), np.tile([-1.0, 0, 0], (7, 1))
    assert modality_gap(north, south) == pytest.approx(2)


def test_gap_shrinks_when_a_shifted_cloud_is_centred():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(200, 16)) + 2, rng.normal(size=(200, 16)) - 2
    centred = [x - x.mean(0) for x in (a, b)]
    assert modality_gap(a, b) > 1.5 and modality_gap(*centred) < 0.3


@pytest.mark.parametrize("a, b, words", [
    (np.zeros((3, 4)), np.ones((3, 4)), "all-zero rows"),
    (np.ones((3, 4)), np.ones((3, 5)), "same dimension"),
    (np.ones(4), np.ones((3, 4)), "2-D"),
    (np.full((2, 4), np.nan), np.ones((3, 4)), "NaN"),
])
def test_gap_names_bad_input(a, b, words):
    with pytest.raises(ValueError, match=words):
        modality_gap(a, b)


@pytest.fixture(scope="module")
def tower_inputs():
    catalog = load_catalog(fast=True, verbose=False)
    n, generator = len(catalog.skus), torch.Generator().manual_seed(0)
    dims = {"image": 8, "text": 8, "review": 4, "behaviour": 4}
    features = {m: torch.randn(n, d, generator=generator) for m, d in dims.items()}
    products = Products(catalog.skus.sku_id.to_numpy(), features, torch.ones(n, 4, dtype=torch.bool))
    kinds = torch.tensor([0, 1, 2, 3, 0, 2])
    queries = Queries(np.array([f"Q{i}" for i in range(6)]), np.array(["test"] * 6), kinds,
                      torch.randn(6, 8, generator=generator), torch.randn(6, 8, generator=generator),
                      torch.tensor([0, 1, 2, 3, 4, 5]))
    model = two_tower(TowerConfig(dim=8), dims, 8, 8)  # identity start: the aligned space equals the upstream one
    return catalog, model, products, queries


@pytest.mark.parametrize("aligned", [False, True])
def test_joint_points_label_every_row(tower_inputs, aligned):
    catalog, model, products, queries = tower_inputs
    points = joint_points(catalog, model, products, queries, np.arange(10), aligned=aligned)
    counts = points.labels.source.value_counts()
    assert counts["product photo"] == counts["product title"] == 10
    assert counts["typed query"] == 2 and counts["spoken query"] == 2 and counts["photo query"] == 1
    assert len(points.vectors) == 25 and np.allclose(np.linalg.norm(points.vectors, axis=1), 1, atol=1e-5)
    assert set(points.labels.department) <= set(catalog.skus.department)
    gaps = points.gaps()
    assert list(gaps.index) == list(SOURCES) and np.allclose(gaps, gaps.T) and (np.diag(gaps) == 0).all()


def test_identity_started_tower_keeps_the_upstream_photo_direction(tower_inputs):
    catalog, model, products, queries = tower_inputs
    before = joint_points(catalog, model, products, queries, np.arange(10), aligned=False)
    after = joint_points(catalog, model, products, queries, np.arange(10), aligned=True)
    assert np.allclose(before.of("product photo"), after.of("product photo"), atol=1e-5)
    with pytest.raises(ValueError, match="unknown source"):
        before.of("sketch")


def test_umap_is_seeded_and_scatter_draws_a_legend():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(size=(40, 8)) + 3, rng.normal(size=(40, 8)) - 3])
    first, again = umap_2d(x, seed=0), umap_2d(x, seed=0)
    assert first.shape == (80, 2) and np.allclose(first, again)
    fig, ax = plt.subplots()
    scatter(ax, first, pd.Series(["a"] * 40 + ["b"] * 40), "two clouds")
    ax.legend()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    plt.close(fig)
    with pytest.raises(ValueError, match="more points"):
        umap_2d(x[:5])


def test_every_category_gets_its_own_colour():
    for n in (5, 12, 20, 27):
        colours = category_colours(n)
        assert len(colours) == n and len(set(colours)) == n
    assert category_colours(2)[0] != category_colours(2)[1]
    fig, ax = plt.subplots()
    labels = pd.Series([f"department {i}" for i in range(12)] * 3)
    scatter(ax, np.random.default_rng(0).normal(size=(36, 2)), labels, "twelve departments")
    drawn = [tuple(collection.get_facecolor()[0][:3]) for collection in ax.collections]
    assert len(set(drawn)) == 12
    plt.close(fig)


def test_failure_reasons(tower_inputs):
    catalog = tower_inputs[0]
    skus = catalog.skus
    same_type = skus[skus.type_id == skus.type_id.iloc[0]]
    twins = same_type[same_type.colour == same_type.colour.iloc[0]]
    assert failure_reason(catalog, twins.sku_id.iloc[0], twins.sku_id.iloc[1]).startswith("same look")
    department = skus.department.iloc[0]
    neighbour = skus[(skus.department == department) & (skus.type_id != skus.type_id.iloc[0])].sku_id.iloc[0]
    assert "same department" in failure_reason(catalog, skus.sku_id.iloc[0], neighbour)
    elsewhere = skus[skus.department != department].sku_id.iloc[0]
    assert failure_reason(catalog, skus.sku_id.iloc[0], elsewhere).startswith("wrong department")
    coloured = skus[skus.colour != ""].groupby("type_id").filter(lambda g: g.colour.nunique() > 1)
    first = coloured.iloc[0]
    other = coloured[(coloured.type_id == first.type_id) & (coloured.colour != first.colour)].iloc[0]
    assert "wrong colour" in failure_reason(catalog, first.sku_id, other.sku_id)
