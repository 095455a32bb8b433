"""The generated catalog: deterministic, consistent relevance, no leakage, a cache that notices staleness."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from mmlab.data.catalog import TABLES, load_catalog, stale_reason
from mmlab.data.assets import art
from mmlab.data.images import dominant_colour, rotate_hue
from mmlab.data.skus import capitalised
from mmlab.data.speech import SAMPLE_RATE


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    return load_catalog(fast=True, seed=0, cache=tmp_path_factory.mktemp("cache"), verbose=False)


def test_same_seed_gives_identical_tables_and_audio(catalog, tmp_path):
    again = load_catalog(fast=True, seed=0, cache=tmp_path, verbose=False)
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(catalog, name), getattr(again, name))
    for wav in sorted((catalog.folder / "audio").glob("*.wav")):
        assert wav.read_bytes() == (again.folder / "audio" / wav.name).read_bytes()


def test_another_seed_gives_another_catalog(catalog, tmp_path):
    other = load_catalog(fast=True, seed=1, cache=tmp_path, verbose=False)
    assert not catalog.skus[["title_en", "price"]].equals(other.skus[["title_en", "price"]])


def test_every_modality_and_language_is_present(catalog):
    present = set(zip(catalog.queries.modality, catalog.queries.lang))
    assert {("text", "en"), ("text", "zh"), ("image", ""), ("voice", "en"), ("voice", "zh")} <= present
    assert "composed" in set(catalog.queries.modality)
    assert len(catalog.reviews) and len(catalog.users) and len(catalog.events)


def test_relevance_agrees_with_the_attributes(catalog):
    skus = catalog.skus.set_index("sku_id")
    qrels = catalog.qrels.merge(catalog.queries[["query_id", "type_id", "attributes", "target_sku"]], on="query_id")
    assert (skus.loc[qrels.sku_id, "type_id"].to_numpy() == qrels.type_id.to_numpy()).all()
    for row in qrels.sample(500, random_state=0).itertuples():
        sku = skus.loc[row.sku_id]
        matches = all(
            sku.price < float(v) if k == "cheaper_than" else sku[k] == v
            for k, v in (pair.split("=", 1) for pair in row.attributes.split(";") if pair))
        assert row.grade == (2 if matches or row.sku_id == row.target_sku else 1), row
    targets = qrels[qrels.sku_id == qrels.target_sku]
    assert (targets.grade == 2).all() and targets.query_id.nunique() == len(catalog.queries)


def test_typed_query_names_its_colour(catalog):
    typed = catalog.queries[(catalog.queries.modality == "text") & (catalog.queries.lang == "en")
                            & catalog.queries.attributes.str.contains("colour=") & ~catalog.queries.has_typo]
    for row in typed.itertuples():
        colour = dict(p.split("=", 1) for p in row.attributes.split(";"))["colour"]
        assert colour in row.text


def test_no_query_or_type_leaks_across_splits(catalog):
    q = catalog.queries
    zero_shot = set(catalog.types.type_id[catalog.types.zero_shot])
    assert zero_shot and set(q.type_id[q.split == "zero_shot"]) <= zero_shot
    assert not set(q.type_id[q.split != "zero_shot"]) & zero_shot
    typed = q[q.modality == "text"]
    assert typed.groupby(["lang", "text"]).split.nunique().max() == 1
    spoken = q[q.modality == "voice"].merge(q[["query_id", "split", "text"]], left_on="text_query_id",
                                            right_on="query_id", suffixes=("", "_typed"))
    assert (spoken.split == spoken.split_typed).all() and (spoken.text == spoken.text_typed).all()
    assert set(q.split) <= {"train", "val", "test", "zero_shot"}


def test_query_photo_shows_the_colour_its_relevance_demands(catalog):
    photos = catalog.queries[(catalog.queries.modality == "image") & catalog.queries.attributes.str.contains("colour=")]
    assert len(photos) > 50
    for query in photos.itertuples():
        sku = catalog.sku(query.target_sku)
        assert dominant_colour(rotate_hue(art(sku.code, "twitter"), query.hue_shift))[0] == sku.colour


def test_product_and_query_images_are_64px_rgb(catalog):
    image_query = catalog.queries[catalog.queries.modality == "composed"].iloc[0]
    for image in (catalog.product_image(catalog.skus.sku_id.iloc[0]), catalog.query_image(image_query.query_id)):
        assert image.size == (64, 64) and image.mode == "RGB"
    with pytest.raises(ValueError, match="only image and composed"):
        catalog.query_image(catalog.queries[catalog.queries.modality == "text"].query_id.iloc[0])


def test_voice_clips_are_16k_and_not_silent(catalog):
    voice = catalog.queries[catalog.queries.modality == "voice"].query_id.iloc[:3]
    for query_id in voice:
        wave = catalog.query_audio(query_id)
        assert wave.dtype == np.float32 and wave.ndim == 1
        assert 0.3 * SAMPLE_RATE < len(wave) < 8 * SAMPLE_RATE
        assert np.sqrt(np.mean(wave**2)) > 0.01


def test_a_changed_cache_file_is_detected_and_rebuilt(tmp_path):
    first = load_catalog(fast=True, seed=0, cache=tmp_path, verbose=False)
    assert stale_reason(first.folder, True, 0) is None
    skus_file = first.folder / "skus.parquet"
    skus_file.write_bytes(skus_file.read_bytes()[:-10])
    assert "skus.parquet" in stale_reason(first.folder, True, 0)
    rebuilt = load_catalog(fast=True, seed=0, cache=tmp_path, verbose=False)
    pd.testing.assert_frame_equal(rebuilt.skus, first.skus)
    manifest = json.loads((rebuilt.folder / "manifest.json").read_text())
    manifest["version"] = -1
    (rebuilt.folder / "manifest.json").write_text(json.dumps(manifest))
    assert "version" in stale_reason(rebuilt.folder, True, 0)


@pytest.mark.parametrize("kwargs, message", [({"fast": "yes"}, "fast must be"), ({"seed": -1}, "seed must be")])
def test_bad_arguments_fail_clearly(kwargs, message, tmp_path):
    with pytest.raises((TypeError, ValueError), match=message):
        load_catalog(cache=tmp_path, **kwargs)


@pytest.mark.parametrize("table", ["skus", "reviews", "events", "queries", "qrels"])
def test_fingerprint_changes_with_any_table(catalog, table):
    """Trained models are keyed by the fingerprint: an edited review or session must not reuse a stale model."""
    edited = dataclasses.replace(catalog, **{table: getattr(catalog, table).iloc[1:].reset_index(drop=True)})
    assert edited.fingerprint() != catalog.fingerprint()
    assert dataclasses.replace(catalog).fingerprint() == catalog.fingerprint()


def test_titles_are_capitalised_only_at_word_starts(catalog):
    """str.title() would write "Woman’S Clothes"; a letter after an apostrophe stays lower case."""
    assert capitalised("woman’s t-shirt") == "Woman’s T-Shirt"
    assert not catalog.skus.title_en.str.contains(r"['’][A-Z]").any()
