"""The committed assets: present, unchanged, licensed, and a sensible product-type selection."""

import re

from mmlab.config import DATA_DIR
from mmlab.data.assets import ARTISTS, art, load_types, verify_assets


def test_every_asset_matches_its_recorded_checksum():
    assert verify_assets() == []


def test_checksums_cover_every_image_of_every_type():
    listed = {line.split(maxsplit=1)[1] for line in (DATA_DIR / "checksums.sha256").read_text().splitlines()}
    for code in load_types().code:
        for artist in ARTISTS:
            assert f"images/{artist}/{code}.png" in listed


def test_licence_texts_and_sources_are_present():
    licences = {p.name for p in (DATA_DIR / "LICENSES").iterdir()}
    for needed in ("emoji-art-google-Apache-2.0.txt", "emoji-art-twitter-CC-BY-4.0.txt",
                   "cldr-annotations-full-48.2.0.txt", "emojibase-data-17.0.0.txt", "sentiment-5.0.2.txt"):
        assert needed in licences
    sources = (DATA_DIR / "SOURCES.md").read_text()
    for package in ("emoji-datasource-google", "emoji-datasource-twitter", "cldr-annotations-full",
                    "emojibase-data", "sentiment"):
        row = next(line for line in sources.splitlines() if line.startswith(f"| {package} |"))
        assert re.search(r"`[0-9a-f]{64}`", row), f"no tarball sha256 recorded for {package}"


def test_product_types_are_products_with_names_in_both_languages():
    types = load_types()
    assert 380 <= len(types) <= 525
    assert 9 <= types.department.nunique() <= 12
    assert types.code.is_unique
    assert (types.name_en != "").all() and (types.name_zh != "").all()
    not_products = {"person", "face", "animal", "flag", "country-flag", "heart", "zodiac", "arrow"}
    assert not set(types.subcategory) & not_products
    assert not set(types.short_name) & {"gun", "bomb", "dagger_knife", "smoking", "coffin"}


def test_art_is_64px_rgba_for_both_artists():
    code = load_types().code.iloc[0]
    for artist in ARTISTS:
        image = art(code, artist)
        assert image.size == (64, 64) and image.mode == "RGBA"
