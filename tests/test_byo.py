"""Your own catalog: a small folder loads into MiniMart's tables, and every kind of bad input fails clearly."""

import re

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from PIL import Image

from mmlab.data import reviews as minimart_reviews
from mmlab.data.assets import load_types
from mmlab.data.behaviour import EVENT_COLUMNS, USER_COLUMNS
from mmlab.data.byo import ByoError, convert_csv, has, load_byo, main, minimart_only, needs
from mmlab.data.queries import QUERY_COLUMNS
from mmlab.data.skus import SKU_COLUMNS
from mmlab.train import batch_rows

CATEGORIES = {"mugs": (200, 40, 40), "lamps": (40, 40, 200), "shoes": (40, 160, 40)}
COLOURS = ["red", "blue", "", "red"]  # per product within a category


def write_shop(folder, size=(20, 10)):
    """12 products in 3 categories, each with a small solid-colour PNG (wider than tall)."""
    (folder / "images").mkdir(parents=True)
    rows = []
    for c, (category, rgb) in enumerate(CATEGORIES.items()):
        for k, colour in enumerate(COLOURS):
            product_id = f"{category[0].upper()}{k + 1}"
            Image.new("RGB", size, rgb).save(folder / "images" / f"{product_id}.png")
            rows.append({"product_id": product_id, "title": f"{colour} {category[:-1]} no. {k + 1}".strip(),
                         "description": f"A fine {category[:-1]}.", "category": category, "colour": colour,
                         "price": "" if k == 2 else f"{5 + 3 * c + k}.50", "image": f"images/{product_id}.png"})
    pd.DataFrame(rows).to_csv(folder / "products.csv", index=False)
    return folder


@pytest.fixture
def shop(tmp_path):
    return write_shop(tmp_path / "shop")


def test_loads_into_minimart_tables(shop):
    catalog = load_byo(shop)
    assert list(catalog.types.columns) == [*load_types().columns, "zero_shot"]
    assert list(catalog.skus.columns) == [*SKU_COLUMNS, "image_path"]
    assert list(catalog.reviews.columns) == minimart_reviews.COLUMNS
    assert list(catalog.users.columns) == USER_COLUMNS and list(catalog.events.columns) == EVENT_COLUMNS
    assert list(catalog.queries.columns) == [*QUERY_COLUMNS, "voice", "rate", "pitch", "noise", "snr_db",
                                             "audio_path"]
    for name in ("types", "skus", "reviews", "users", "events", "queries", "qrels"):
        assert not getattr(catalog, name).isna().any().any(), name
    assert len(catalog.skus) == 12 and list(catalog.types.name_en) == sorted(CATEGORIES)
    assert catalog.sku("L3").price == -1.0 and catalog.sku("M1").price == 5.5
    assert catalog.skus.type_id.dtype == np.int64 and catalog.qrels.grade.dtype == np.int64
    assert set(catalog.queries.split) <= {"train", "val", "test"}
    assert len(catalog.summary())


def test_product_image_is_the_real_photo_fitted_on_white(shop):
    image = load_byo(shop).product_image("M1")
    assert image.size == (64, 64) and image.mode == "RGB"
    assert image.getpixel((32, 32)) == CATEGORIES["mugs"]
    assert image.getpixel((32, 2)) == (255, 255, 255)  # a 2:1 photo leaves white bands above and below


def test_derived_queries_grade_by_category_and_colour(shop):
    catalog = load_byo(shop, seed=3)
    skus = catalog.skus.set_index("sku_id")
    qrels = catalog.qrels.merge(catalog.queries, on="query_id")
    for q in qrels.itertuples():
        sku = skus.loc[q.sku_id]
        assert sku.type_id == q.type_id
        if q.modality == "image":
            assert q.grade == (2 if q.sku_id == q.source_sku == q.target_sku else 1)
        else:
            named = q.attributes.removeprefix("colour=")  # "red mugs" names red; "mugs" names no colour
            assert q.text == f"{named} {sku.name_en}".strip()
            assert q.grade == (2 if named in ("", sku.colour) else 1)
    photos = catalog.queries[catalog.queries.modality == "image"]
    assert len(photos) == 12 and set(photos.source_sku) == set(catalog.skus.sku_id)
    assert set(catalog.queries.text) >= {"mugs", "red mugs", "blue mugs"} and "mugs" not in set(photos.text)
    image = catalog.query_image(photos.query_id.iloc[0])
    assert image.size == (64, 64) and image.mode == "RGB"


def test_same_seed_same_catalog_other_seed_other_splits(shop):
    first, again, other = load_byo(shop, seed=1), load_byo(shop, seed=1), load_byo(shop, seed=2)
    pd.testing.assert_frame_equal(first.queries, again.queries)
    pd.testing.assert_frame_equal(first.qrels, again.qrels)
    assert not first.queries.split.equals(other.queries.split)


def test_given_queries_reviews_and_voice(shop):
    pd.DataFrame({"product_id": ["M1", "M1", "S2"], "rating": ["5", "1", "4"],
                  "text": ["Lovely.", "Cracked.", "Comfy."]}).to_csv(shop / "reviews.csv", index=False)
    sf.write(shop / "q2.wav", np.sin(np.arange(8000) / 5).astype(np.float32) * 0.3, 16_000)
    pd.DataFrame({"query_id": ["q1", "q2"], "text": ["red mug", "红色台灯"], "lang": ["", "zh"],
                  "relevant": ["M1|M4", "L1"], "audio": ["", "q2.wav"]}).to_csv(shop / "queries.csv", index=False)
    catalog = load_byo(shop)
    assert list(catalog.reviews.sentiment) == [1.0, 0.0, 0.75]
    given = catalog.queries[~catalog.queries.query_id.str.startswith("P")]
    assert list(given.modality) == ["text", "voice"] and list(given.lang) == ["en", "zh"]
    photos = catalog.queries[catalog.queries.query_id.str.startswith("P")]
    assert len(photos) == len(catalog.skus) and set(photos.modality) == {"image"}  # the image encoder's queries
    grades = catalog.relevance()
    assert grades["q1"] == {"M1": 2, "M2": 1, "M3": 1, "M4": 2} and grades["q2"]["L1"] == 2
    assert catalog.query_audio("q2").shape == (8000,)


def test_a_query_id_that_clashes_with_a_derived_photo_query_is_named(shop):
    pd.DataFrame({"query_id": ["P000001"], "text": ["red mug"], "relevant": ["M1"]}).to_csv(
        shop / "queries.csv", index=False)
    with pytest.raises(ByoError, match="query_id 'P000001' is also the id of a derived photo query.*Fix: rename"):
        load_byo(shop)


def _edit(file, column, row, value):
    """A change to one cell (row counted from 1 below the header) of a CSV in the shop."""
    def edit(shop):
        table = pd.read_csv(shop / file, dtype=str, keep_default_na=False)
        table.loc[row - 1, column] = value
        table.to_csv(shop / file, index=False)
    return edit


def _drop_column(shop):
    pd.read_csv(shop / "products.csv", dtype=str).drop(columns="category").to_csv(shop / "products.csv", index=False)


def _add(file, text):
    return lambda shop: (shop / file).write_text(text)


@pytest.mark.parametrize("change, message", [
    (_drop_column, "products.csv, header row: missing required column 'category'"),
    (lambda shop: (shop / "images" / "L2.png").unlink(), "products.csv row 6 .*'image': file 'images/L2.png' not found"),
    (lambda shop: (shop / "images" / "S4.png").write_bytes(b"not a picture"),
     "products.csv row 12 .*'image': 'images/S4.png' is not a usable PNG or JPEG image"),
    (_edit("products.csv", "price", 3, "$4"), "products.csv row 3 .*spreadsheet row 4.*'price': '\\$4' is not a number"),
    (_edit("products.csv", "price", 2, "-1"), "products.csv row 2 .*'price': '-1' is negative"),
    (_edit("products.csv", "title", 7, " "), "products.csv row 7 .*'title': empty title"),
    (_edit("products.csv", "product_id", 9, "M1"), "products.csv row 9 .*'product_id': 'M1' is also"),
    (_add("reviews.csv", "product_id,rating,text\nM1,5,ok\nZ9,4,hm\n"), "reviews.csv row 2 .*'product_id': 'Z9'"),
    (_add("reviews.csv", "product_id,rating,text\nM1,6,ok\nM2,0,no\n"), "reviews.csv row 1 .*'rating'.*2 rows"),
    (_add("queries.csv", "query_id,text,relevant\nq1,mug,M1|X7\n"), "queries.csv row 1 .*'relevant'.*'X7'"),
    (lambda shop: (shop / "reviews.csv").write_bytes("product_id,rating,text\nM1,5,très bon\n".encode("latin-1")),
     "reviews.csv line 2 .*not UTF-8"),
])
def test_bad_input_names_file_row_and_field(shop, change, message):
    change(shop)
    with pytest.raises(ByoError, match=message) as error:
        load_byo(shop)
    assert "Fix:" in str(error.value)


def test_audio_at_the_wrong_rate_is_refused(shop):
    sf.write(shop / "q.wav", np.zeros(4410, dtype=np.float32), 44_100)
    (shop / "queries.csv").write_text("query_id,text,relevant,audio\nq1,mug,M1,q.wav\n")
    with pytest.raises(ByoError, match="queries.csv row 1 .*'audio'.*44100 Hz"):
        load_byo(shop)


def test_converter_round_trip(tmp_path):
    source = tmp_path / "download"
    (source / "photos").mkdir(parents=True)
    rows = []
    for i, (kind, rgb) in enumerate([("cup", (255, 0, 0)), ("cup", (0, 0, 255)), ("hat", (0, 128, 0))]):
        Image.new("RGB", (8, 8), rgb).save(source / "photos" / f"{i}.JPG", format="JPEG")
        rows.append({"sku": f"x{i}", "name": f"Item {i}", "kind": kind, "pic": f"photos/{i}.JPG", "cost": "3"})
    pd.DataFrame(rows).to_csv(source / "styles.csv", index=False)
    out = convert_csv(source / "styles.csv", "pic", "name", "kind", tmp_path / "shop", price_column="cost",
                      id_column="sku")
    catalog = load_byo(out)
    assert list(catalog.skus.sku_id) == ["x0", "x1", "x2"] and list(catalog.skus.title_en) == ["Item 0", "Item 1",
                                                                                                 "Item 2"]
    assert (out / catalog.skus.image_path.iloc[1]).read_bytes() == (source / "photos" / "1.JPG").read_bytes()
    assert catalog.product_image("x2").getpixel((32, 32))[1] > 100
    (source / "photos" / "2.JPG").unlink()
    with pytest.raises(ByoError, match="styles.csv row 3 .*'pic': image file 'photos/2.JPG' not found"):
        convert_csv(source / "styles.csv", "pic", "name", "kind", tmp_path / "other")


def test_command_line_check(shop, tmp_path, capsys):
    assert main(["check", str(shop)]) == 0
    assert "OK" in capsys.readouterr().out
    assert main(["check", str(tmp_path / "nowhere")]) == 1
    assert re.search("no such folder", capsys.readouterr().err)


def test_needs_says_which_part_is_missing(shop, capsys):
    catalog = load_byo(shop)
    assert has(catalog, "reviews") is False and has(catalog, "zero_shot") is False
    assert needs(catalog, "voice", "the voice section") is False
    assert capsys.readouterr().out.startswith("skipped: the voice section. Your catalog has no voice queries")
    with pytest.raises(ValueError, match="unknown part 'audio'; choose one of"):
        has(catalog, "audio")


def test_minimart_only_speaks_only_when_your_catalog_is_set(shop, capsys, monkeypatch):
    monkeypatch.delenv("MMLAB_CATALOG", raising=False)
    minimart_only("MiniMart's voice recordings")
    assert capsys.readouterr().out == ""
    monkeypatch.setenv("MMLAB_CATALOG", str(shop))
    minimart_only("MiniMart's voice recordings")
    out = capsys.readouterr().out
    assert out.startswith(f"This notebook always uses MiniMart, not your catalog in MMLAB_CATALOG={shop}: "
                          "it needs MiniMart's voice recordings.")
    assert "02, 03, 06, 07, 08, 09, 10 and 11 run on your own catalog (data/README.md)" in out


def test_fast_flag_is_checked(shop):
    assert load_byo(shop, fast=True).fast
    with pytest.raises(TypeError, match="fast must be True or False"):
        load_byo(shop, fast="yes")


def test_batch_rows_makes_one_batch_of_a_small_training_set():
    assert [list(rows) for rows in batch_rows(range(5), 64)] == [[0, 1, 2, 3, 4]]
    assert [len(rows) for rows in batch_rows(range(100), 64)] == [64, 36]  # 36 >= half a batch: kept
    assert [len(rows) for rows in batch_rows(range(90), 64)] == [64]  # 26 < half a batch: dropped
