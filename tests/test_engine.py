"""The capstone engine on the FAST catalog with tiny untrained encoders and tower (no zoo, a few seconds)."""

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from PIL import Image

from helpers import two_tower
from mmlab.data.catalog import load_catalog
from mmlab.encoders.image import RawPixels, embed, photos_to_tensor
from mmlab.encoders.text import encode_texts, tokenizer_texts
from mmlab.encoders.tokenizers import WordVocab
from mmlab.engine import Encoders, Filters, SearchEngine, demo, photo_tensor
from mmlab.models.fusion import TowerConfig
from mmlab.models.text import MeanEncoder
from mmlab.towerdata import Products

DIMS = {"image": 8, "text": 8, "review": 4, "behaviour": 4}


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(fast=True, verbose=False)


def random_products(catalog) -> Products:
    """Random features for every SKU of ``catalog``, some without reviews or behaviour."""
    generator = torch.Generator().manual_seed(0)
    n = len(catalog.skus)
    features = {m: torch.randn(n, d, generator=generator) for m, d in DIMS.items()}
    mask = torch.ones(n, 4, dtype=torch.bool)
    mask[::3, 2] = False  # some SKUs without reviews
    mask[::2, 3] = False  # some without behaviour
    return Products(catalog.skus.sku_id.to_numpy(), features, mask)


@pytest.fixture(scope="module")
def products(catalog):
    return random_products(catalog)


def tiny_engine(catalog, products, fusion="weighted_sum", **backend):
    torch.manual_seed(0)
    encoders = Encoders(MeanEncoder(WordVocab.fit(tokenizer_texts(catalog)), dim=16), RawPixels(size=8),
                        hear=lambda waves: ["lemon" if w.std() > 0 else "" for w in waves])  # a stand-in recogniser
    model = two_tower(TowerConfig(fusion=fusion, dim=16, identity_init=False), DIMS, 8 * 8 * 3, 16)
    return SearchEngine(catalog, model, products, encoders, **backend)


@pytest.fixture(scope="module")
def engine(catalog, products):
    return tiny_engine(catalog, products)


def test_index_is_the_towers_product_vectors(engine, products):
    with torch.no_grad():
        want = engine.model.product_vectors(products)
    assert torch.allclose(engine.index, want, atol=1e-6)
    assert torch.allclose(engine.index.norm(dim=1), torch.ones(len(want)), atol=1e-5)


def test_contributions_add_up_to_the_score(engine):
    results = engine.search_text("red mug", k=7)
    assert len(results) == 7 and list(results.columns[-4:]) == list(DIMS)
    assert np.allclose(results[list(DIMS)].sum(axis=1), results.score, atol=1e-5)
    assert (np.diff(results.score) <= 1e-7).all(), "results must be best first"


def test_missing_modality_contributes_nothing(engine, products):
    results = engine.search_text("lemon", k=len(products.sku_ids))
    rows = results.sku_id.map({s: i for i, s in enumerate(products.sku_ids)}).to_numpy(copy=True)
    no_reviews = ~products.mask[rows, 2].numpy()
    assert no_reviews.any() and (results.review.to_numpy()[no_reviews] == 0).all()


def test_text_query_is_the_tower_of_the_text_encoding(engine):
    words = torch.as_tensor(encode_texts(engine.encoders.text, ["blue shirt"]))
    with torch.no_grad():
        want = engine.model.queries(torch.zeros(1, 192), words, torch.tensor([0]))[0]
    assert torch.allclose(engine.evidence("text", "  blue shirt ").vectors["index"], want, atol=1e-6)


def test_titles_follow_the_language(engine, catalog):
    zh = engine.search_text("柠檬", lang="zh", k=3)
    assert set(zh.title) <= set(catalog.skus.title_zh)


def test_photo_of_any_size_and_mode(engine, catalog):
    photo = catalog.product_image(catalog.skus.sku_id[0])
    big = photo.convert("RGBA").resize((100, 80))
    results = engine.search_photo(big, k=5)
    want = embed(engine.encoders.image, photos_to_tensor([big.convert("RGB").resize((64, 64))]))
    with torch.no_grad():
        vector = engine.model.queries(torch.as_tensor(want), torch.zeros(1, 16), torch.tensor([1]))[0]
    assert list(results.sku_id) == list(engine.search_vector(vector, k=5).sku_id)
    assert photo_tensor(big).shape == (1, 3, 64, 64)


def voice_head(engine, words: str) -> torch.Tensor:
    """The query tower's voice vector of a transcript."""
    with torch.no_grad():
        vector = torch.as_tensor(encode_texts(engine.encoders.text, [words]))
        return engine.model.queries(torch.zeros(1, 192), vector, torch.tensor([2]))[0]


def test_voice_searches_what_was_heard(engine, catalog):
    voice_id = catalog.queries.query_id[catalog.queries.modality == "voice"].iloc[0]
    spoken = engine.search_voice(catalog.query_audio(voice_id), k=4)
    assert spoken.attrs["heard"] == "lemon" and len(spoken) == 4
    assert list(spoken.sku_id) == list(engine.search_vector(voice_head(engine, "lemon"), k=4).sku_id)
    silence = engine.search_voice(np.zeros(16_000, np.float32), k=4)  # nothing heard: searches "?", no crash
    assert silence.attrs["heard"] == "" and len(silence) == 4


def test_with_hearing_changes_what_the_voice_door_hears(catalog, products):
    engine = tiny_engine(catalog, products).with_hearing(lambda waves: ["mug"] * len(waves))
    spoken = engine.search_voice(np.zeros(16_000, np.float32), k=4)
    assert spoken.attrs["heard"] == "mug"
    assert list(spoken.sku_id) == list(engine.search_vector(voice_head(engine, "mug"), k=4).sku_id)


def test_composed(engine, catalog):
    photo = catalog.product_image(catalog.skus.sku_id[1])
    composed = engine.search_composed(photo, "in blue", k=4)
    assert len(composed) == 4
    assert list(engine.search("composed", (photo, "in blue"), k=4).sku_id) == list(composed.sku_id)
    assert set(engine.search("image", photo, lang="zh", k=3).title) <= set(catalog.skus.title_zh)


@pytest.mark.parametrize("call, error, words", [
    (lambda e: e.search_text("   "), ValueError, "empty"),
    (lambda e: e.search_text(b"mug"), TypeError, "decode"),
    (lambda e: e.search_text("mug", lang="fr"), ValueError, "unknown lang"),
    (lambda e: e.search_photo(np.zeros((64, 64, 3))), TypeError, "PIL image"),
    (lambda e: e.search_photo(Image.new("RGB", (4, 4))), ValueError, "8x8"),
    (lambda e: e.search_voice(np.zeros(16_000, np.float32), sr=8_000), ValueError, "resample"),
    (lambda e: e.search_voice(np.zeros((16_000, 2), np.float32)), ValueError, "mono"),
    (lambda e: e.search_composed(Image.new("RGB", (64, 64)), ""), ValueError, "modifier is empty"),
    (lambda e: e.search_text("mug", k=10_000), ValueError, "k"),
    (lambda e: e.search("sketch", "mug"), ValueError, "unknown query kind"),
])
def test_bad_input_is_named(engine, call, error, words):
    with pytest.raises(error, match=words):
        call(engine)


def test_contributions_need_a_weighted_sum(catalog, products):
    with pytest.raises(ValueError, match="weighted_sum"):
        tiny_engine(catalog, products, fusion="concat")


def test_grid_and_ratings(engine, catalog):
    results = engine.search_text("lemon", k=4)
    assert isinstance(engine.grid(results, ncols=2), Figure)
    rated = engine.cards.rating.dropna()
    assert len(rated) > 0 and rated.between(1, 5).all()
    with pytest.raises(ValueError, match="empty"):
        engine.grid(results.iloc[:0])


def test_demo_answers_a_click_and_reports_bad_input(engine, catalog, capsys):
    photo = catalog.product_image(catalog.skus.sku_id[0])
    box = demo(engine, {"lemon": photo}, {"silence": np.zeros(16_000, np.float32)}, k=3)
    kind, lang, inputs, _, button, _ = box.children
    words = inputs.children[0]
    words.value = "  "
    button.click()  # outside a kernel the Output widget does not capture: the messages reach stdout
    assert "⚠️ query text is empty" in capsys.readouterr().out
    kind.value, lang.value, words.value = "composed", "zh", "in blue"
    button.click()
    shown = capsys.readouterr().out
    assert "⚠️" not in shown and "S0" in shown
    assert any(title in shown for title in catalog.skus.title_zh)


def test_filters_rank_only_the_skus_that_pass(engine, catalog):
    skus = catalog.skus.set_index("sku_id")
    colour = skus.colour[skus.colour != ""].iloc[0]
    filters = Filters(min_price=5, max_price=60, colour=colour)
    results = engine.search_text("red mug", k=10, filters=filters)
    passing = skus[(skus.price >= 5) & (skus.price <= 60) & (skus.colour == colour)]
    assert len(results) == min(10, len(passing)) and set(results.sku_id) <= set(passing.index)
    unfiltered = engine.search_text("red mug", k=len(skus))  # the same order as the full ranking, restricted
    assert list(results.sku_id) == [s for s in unfiltered.sku_id if s in set(passing.index)][:len(results)]


def test_filters_by_department_and_none_pass(engine, catalog):
    department = catalog.skus.department.iloc[0]
    results = engine.search_text("lemon", k=5, filters=Filters(department=department))
    assert (results.department == department).all() and len(results) == 5
    assert engine.search_text("lemon", k=5, filters=Filters(min_price=1e9)).empty


@pytest.mark.parametrize("filters, message", [
    (Filters(colour="plaid"), r"unknown colour 'plaid'; choose one of \["),
    (Filters(department="garden"), r"unknown department 'garden'; choose one of \["),
    (Filters(min_price=20, max_price=10), "min_price=20 is above max_price=10; swap them"),
    (Filters(max_price=-1), r"max_price=-1 must be a price in dollars \(a number >= 0\)"),
    (Filters(min_price="5"), r"min_price='5' must be a price in dollars")])
def test_bad_filters_name_the_fix(engine, filters, message):
    with pytest.raises(ValueError, match=message):
        engine.search_text("mug", filters=filters)
