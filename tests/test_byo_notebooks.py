"""Notebooks 02, 03, 06 and 08 run end to end on your own catalog (``MMLAB_CATALOG``), skipping MiniMart-only parts."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageDraw

from mmlab.config import ROOT
from mmlab.data.byo import load_byo
from mmlab.data.catalog import CATALOG_ENV
from mmlab.data.open import open_catalog

SHAPES = {"mugs": "ellipse", "lamps": "triangle", "boxes": "rectangle", "rings": "ring", "kites": "diamond"}
COLOURS = {"red": (210, 40, 40), "blue": (40, 60, 210), "green": (40, 170, 60)}
OPINIONS = ["Sadly broken on arrival, my", "Rather disappointing quality for this", "An average and plain",
            "Really good value, a sturdy", "Absolutely wonderful gift, the"]  # by stars, 1 to 5
DETAILS = ["the parcel came two days late", "my daughter loves the shape", "cheaper than in the high street",
           "the paint chipped after a week", "exactly like the photo", "smaller than I expected",
           "heavy and solid in the hand", "the colour fades in sunlight", "would order again from this shop",
           "packed well with recycled paper", "a neighbour asked where I bought it", "the edges feel sharp"]
PER_COLOUR = 3  # products per category and colour: 5 x 3 x 3 = 45 products
NOTEBOOKS = ("02", "03", "06", "08")


def draw(shape: str, rgb: tuple[int, int, int], rng: np.random.Generator) -> Image.Image:
    """A product photo: one coloured shape per category, at a slightly random size and place, on grey."""
    photo = Image.new("RGB", (48, 48), (235, 235, 235))
    pen = ImageDraw.Draw(photo)
    x, y, r = (int(v) for v in rng.integers([20, 20, 12], [28, 28, 18]))
    box = [x - r, y - r, x + r, y + r]
    if shape == "ellipse":
        pen.ellipse(box, fill=rgb)
    elif shape == "rectangle":
        pen.rectangle(box, fill=rgb)
    elif shape == "ring":
        pen.ellipse(box, outline=rgb, width=5)
    elif shape == "triangle":
        pen.polygon([(x, y - r), (x - r, y + r), (x + r, y + r)], fill=rgb)
    else:
        pen.polygon([(x, y - r), (x + r, y), (x, y + r), (x - r, y)], fill=rgb)
    return photo


def write_fixture_shop(folder):
    """A small catalog in the BYO format: 45 products in 5 categories (shape = category), 3 colours, 3 reviews each."""
    rng = np.random.default_rng(0)
    (folder / "images").mkdir(parents=True)
    products, reviews = [], []
    for category, shape in SHAPES.items():
        for colour, rgb in COLOURS.items():
            for k in range(PER_COLOUR):
                product_id = f"{category[:2].upper()}{colour[0].upper()}{k + 1}"
                draw(shape, rgb, rng).save(folder / "images" / f"{product_id}.png")
                products.append({"product_id": product_id, "title": f"{colour} {shape} {category[:-1]} {k + 1}",
                                 "category": category, "colour": colour, "price": f"{4 + 2 * k}.99",
                                 "image": f"images/{product_id}.png"})
                reviews += [{"product_id": product_id, "rating": int(stars),
                             "text": f"{OPINIONS[stars - 1]} {colour} {category[:-1]}, {rng.choice(DETAILS)}."}
                            for stars in rng.integers(1, 6, size=3)]
    pd.DataFrame(products).to_csv(folder / "products.csv", index=False)
    pd.DataFrame(reviews).to_csv(folder / "reviews.csv", index=False)
    return folder


def test_open_catalog_reads_the_folder_in_the_environment(tmp_path, monkeypatch):
    shop = write_fixture_shop(tmp_path / "shop")
    monkeypatch.setenv(CATALOG_ENV, str(shop))
    catalog = open_catalog(fast=True, seed=1)
    assert catalog.fast and catalog.seed == 1 and catalog.folder == shop.resolve()
    assert catalog.fingerprint() == load_byo(shop, seed=1).fingerprint()
    monkeypatch.setenv(CATALOG_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(ValueError, match="no such folder"):
        open_catalog(fast=True)


def outputs_text(notebook) -> str:
    """Everything an executed notebook printed (stream outputs)."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return "".join("".join(o.get("text", "")) for c in cells for o in c.get("outputs", []))


def test_notebooks_02_03_06_08_run_on_your_own_catalog(tmp_path):
    """The recipe of data/README.md on the fixture: FAST, empty model cache, no baselines (80-120 s)."""
    shop = write_fixture_shop(tmp_path / "shop")
    (tmp_path / "no-baselines").mkdir()
    env = os.environ | {CATALOG_ENV: str(shop), "MMLAB_CACHE": str(tmp_path / "cache"),
                        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-m", "tools.run", "--fast", *NOTEBOOKS, "--build-dir",
                           str(tmp_path / "build"), "--baselines-dir", str(tmp_path / "no-baselines")],
                          env=env, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "without encryption" not in done.stderr  # the runner keeps ipykernel's own log to errors
    results = json.loads((tmp_path / "build" / "metrics.json").read_text())["notebooks"]
    assert sorted(results) == ["02_image_encoder", "03_text_encoder", "06_fusion", "08_retrieval_and_metrics"]
    metrics = {name: result["metrics"] for name, result in results.items()}
    # better than chance: 5 categories of 9 products, so a random top-1 has the right category 1 time in 5
    image = metrics["02_image_encoder"]
    assert image["image.best_test.type_r1"] >= 0.5 and image["image.best_test.sku_hit10"] >= 0.5
    text = metrics["03_text_encoder"]
    assert text["text.best.ndcg10_en"] >= text["text.rankers.random.ndcg10_en"] + 0.2
    assert metrics["06_fusion"]["fusion.test_ndcg10.weighted_sum.mixed"] >= 0.5
    retrieval = metrics["08_retrieval_and_metrics"]
    random_text = retrieval["results.text_en.random.ndcg10"]
    assert retrieval["results.text_en.text_encoder.ndcg10"] >= random_text + 0.2
    assert retrieval["results.text_en.hybrid_rrf.ndcg10"] > random_text  # weak BM25: titles say "mug", queries "mugs"
    assert retrieval["summary.photo_type_r1"] >= 0.5 and retrieval["exercises.passed"] == 2
    recorded = [key for values in metrics.values() for key in values]
    minimart_only = ("zero_shot", "ndcg10_zh", "text_zh", "typo", "synonym", "composed", "voice", "behaviour")
    assert not [key for key in recorded if any(part in key for part in minimart_only)]
    printed = {name: outputs_text(tmp_path / "build" / "notebooks" / f"{name}.ipynb") for name in results}
    assert all("Your own catalog (MMLAB_CATALOG=" in output for output in printed.values())
    assert "skipped: zero-shot results. Your catalog has no zero-shot product types" in printed["02_image_encoder"]
    assert "Your catalog has no composed queries" in printed["06_fusion"]
    assert "Your catalog has no shopping sessions" in printed["06_fusion"]
    skipped = ["zero-shot rows. Your catalog has no zero-shot", "Chinese rows. Your catalog has no Chinese",
               "text typo and synonym rows", "composed-query rows. Your catalog has no composed",
               "voice rows. Your catalog has no voice", "behaviour token. Your catalog has no shopping sessions"]
    assert not [message for message in skipped if message not in printed["08_retrieval_and_metrics"]]
