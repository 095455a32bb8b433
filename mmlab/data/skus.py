"""SKUs: the sellable variants of each product type, with attributes, prices, titles and descriptions.

Each product type yields a few SKUs that differ in colour (a hue rotation of the art, only where the art is
vividly coloured and colour is a selling point), fictional brand, material, size and price. A hidden ``quality``
in [0, 1] drives review sentiment and shopper clicks; shoppers never see it directly.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from mmlab.data.assets import art
from mmlab.data.images import COLOUR_ZH, HUE_COLOURS, dominant_colour, hue_shift_to

# Departments where colour is something shoppers ask for. Food and drink are not recoloured.
COLOUR_DEPARTMENTS = {"fashion", "beauty", "home", "tools", "office", "electronics", "music", "sports", "toys"}

# Fictional brands: (English, Chinese, price tier). Tier scales price and the mean of the hidden quality.
BRANDS = [
    ("Northwind", "北风", 0), ("Pipit", "鹨鸟", 0), ("Bramble", "荆棘", 0), ("Tidewell", "潮井", 0),
    ("Lumio", "卢米奥", 1), ("Kestrel", "红隼", 1), ("Maplewood", "枫木", 1), ("Orbita", "奥比塔", 1),
    ("Zenith", "天顶", 2), ("Aurelle", "奥蕾", 2), ("Solace", "安逸", 2), ("Hallmarq", "豪玛", 2),
]
TIER_PRICE = (0.7, 1.0, 1.6)
TIER_QUALITY = (0.4, 0.6, 0.75)

# Material or defining feature per department: (English, Chinese).
MATERIALS = {
    "fashion": [("cotton", "纯棉"), ("leather", "真皮"), ("wool", "羊毛"), ("denim", "牛仔"), ("silk", "真丝")],
    "beauty": [("organic", "有机"), ("travel-size", "旅行装"), ("fragrance-free", "无香")],
    "home": [("ceramic", "陶瓷"), ("glass", "玻璃"), ("bamboo", "竹制"), ("stainless steel", "不锈钢")],
    "tools": [("steel", "钢制"), ("aluminium", "铝制"), ("titanium", "钛合金")],
    "office": [("recycled", "环保"), ("plastic", "塑料"), ("metal", "金属")],
    "electronics": [("wireless", "无线"), ("portable", "便携"), ("smart", "智能")],
    "music": [("wooden", "木制"), ("brass", "黄铜"), ("carbon", "碳纤维")],
    "sports": [("carbon", "碳纤维"), ("rubber", "橡胶"), ("nylon", "尼龙")],
    "toys": [("wooden", "木制"), ("plush", "毛绒"), ("plastic", "塑料")],
    "food": [("organic", "有机"), ("fresh", "新鲜"), ("frozen", "冷冻")],
    "drinks": [("organic", "有机"), ("sugar-free", "无糖"), ("sparkling", "气泡")],
}

# Sizes: (English, Chinese, price factor).
SIZES = {
    "fashion": [("S", "S码", 1.0), ("M", "M码", 1.0), ("L", "L码", 1.05), ("XL", "XL码", 1.1)],
    "food": [("250 g", "250克", 0.6), ("500 g", "500克", 1.0), ("1 kg", "1千克", 1.8)],
    "drinks": [("330 ml", "330毫升", 0.7), ("500 ml", "500毫升", 1.0), ("1 L", "1升", 1.7)],
    "default": [("small", "小号", 0.8), ("medium", "中号", 1.0), ("large", "大号", 1.3)],
}

# Median price in dollars per department, before type, brand and size factors.
DEPARTMENT_PRICE = {"fashion": 30, "beauty": 12, "home": 25, "tools": 20, "office": 8, "electronics": 80,
                    "music": 120, "sports": 40, "toys": 15, "food": 5, "drinks": 4}

SKU_COLUMNS = ["sku_id", "type_id", "code", "department", "name_en", "name_zh", "colour", "colour_zh",
               "hue_shift", "brand", "brand_zh", "material", "material_zh", "size", "size_zh", "price", "quality",
               "title_en", "title_zh", "description_en", "description_zh"]


def colour_options(code: str, department: str, rng: np.random.Generator, n_extra: int = 2) -> list[tuple[str, float]]:
    """The colours a type is sold in, as (colour name, hue rotation of the catalog art).

    Vivid art in a colour department gets its own colour plus up to ``n_extra`` hue-rotated ones; neutral art
    keeps its black/grey/white; food and drink have no colour attribute ("").
    """
    if department not in COLOUR_DEPARTMENTS:
        return [("", 0.0)]
    image = art(code, "google")
    base, chromatic = dominant_colour(image)
    if not chromatic:
        return [(base, 0.0)]
    options = [(base, 0.0)]
    for colour in rng.permutation([c for c in HUE_COLOURS if c != base]):
        shift = hue_shift_to(image, str(colour))
        if shift is not None:
            options.append((str(colour), shift))
        if len(options) > n_extra:
            break
    return options


def _variant(kind: dict, colour: tuple[str, float], rng: np.random.Generator, type_price: float) -> dict:
    """One SKU of a product type: pick brand, material and size, then price and hidden quality."""
    department = kind["department"]
    brand, brand_zh, tier = BRANDS[rng.integers(len(BRANDS))]
    material, material_zh = MATERIALS[department][rng.integers(len(MATERIALS[department]))]
    sizes = SIZES.get(department, SIZES["default"])
    size, size_zh, size_factor = sizes[rng.integers(len(sizes))]
    price = type_price * TIER_PRICE[tier] * size_factor * rng.lognormal(0, 0.15)
    quality = float(np.clip(rng.normal(TIER_QUALITY[tier], 0.15), 0.02, 0.98))
    return {"type_id": kind["type_id"], "code": kind["code"], "department": department,
            "name_en": kind["name_en"], "name_zh": kind["name_zh"], "colour": colour[0],
            "colour_zh": COLOUR_ZH.get(colour[0], ""), "hue_shift": colour[1], "brand": brand, "brand_zh": brand_zh,
            "material": material, "material_zh": material_zh, "size": size, "size_zh": size_zh,
            "price": round(max(price, 0.5), 2), "quality": round(quality, 3)}


def variants_of(kind: dict, n: int, rng: np.random.Generator) -> list[dict]:
    """Up to ``n`` distinct SKUs of one product type (distinct in colour, brand, material or size)."""
    colours = colour_options(kind["code"], kind["department"], rng)
    type_price = DEPARTMENT_PRICE[kind["department"]] * rng.lognormal(0, 0.5)
    skus, seen = [], set()
    for attempt in range(4 * n):
        sku = _variant(kind, colours[attempt % len(colours)] if attempt < len(colours)
                       else colours[rng.integers(len(colours))], rng, type_price)
        key = (sku["colour"], sku["brand"], sku["material"], sku["size"])
        if key not in seen:
            seen.add(key)
            skus.append(sku)
        if len(skus) == n:
            break
    return skus


def capitalised(words: str) -> str:
    """Title case that starts a word only after a space or hyphen: "woman’s t-shirt" -> "Woman’s T-Shirt"
    (``str.title`` would give "Woman’S")."""
    return re.sub(r"(^|[\s-])(\w)", lambda m: m.group(1) + m.group(2).upper(), words)


def title_en(sku: dict) -> str:
    """English listing title, e.g. 'Lumio Red Cotton T-Shirt (M)'."""
    words = [sku["brand"], sku["colour"], sku["material"], sku["name_en"]]
    return " ".join(capitalised(w) if w.islower() else w for w in words if w) + f" ({sku['size']})"


def title_zh(sku: dict) -> str:
    """Chinese listing title, e.g. '卢米奥 红色纯棉T恤 M码'."""
    return f"{sku['brand_zh']} {sku['colour_zh']}{sku['material_zh']}{sku['name_zh']} {sku['size_zh']}"


def describe_en(sku: dict, keywords: list[str], department: str) -> str:
    """English description built from the type's CLDR keywords and the SKU's attributes."""
    colour = f" in {sku['colour']}" if sku["colour"] else ""
    tags = ", ".join(keywords[:4]) if keywords else sku["name_en"]
    return (f"{sku['name_en'].capitalize()} by {sku['brand']}. {sku['material'].capitalize()} {sku['name_en']}"
            f"{colour}, size {sku['size']}. Tags: {tags}. Department: {department}.")


def describe_zh(sku: dict, keywords: list[str], department: str) -> str:
    """Chinese description built from the type's emojibase tags and the SKU's attributes."""
    colour = f"，{sku['colour_zh']}" if sku["colour_zh"] else ""
    tags = "、".join(keywords[:4]) if keywords else sku["name_zh"]
    return (f"{sku['brand_zh']}出品的{sku['name_zh']}。{sku['material_zh']}{colour}，规格{sku['size_zh']}。"
            f"标签：{tags}。分类：{department}。")


def generate_skus(types: pd.DataFrame, rng: np.random.Generator, min_variants: int = 3,
                  max_variants: int = 7) -> pd.DataFrame:
    """Every SKU of every product type in ``types``, with titles and descriptions in English and Chinese."""
    rows = []
    for kind in types.to_dict("records"):
        for sku in variants_of(kind, int(rng.integers(min_variants, max_variants + 1)), rng):
            sku["title_en"], sku["title_zh"] = title_en(sku), title_zh(sku)
            sku["description_en"] = describe_en(sku, kind["keywords_en"].split("|"), kind["department_en"])
            sku["description_zh"] = describe_zh(sku, kind["keywords_zh"].split("|"), kind["department_zh"])
            rows.append(sku)
    skus = pd.DataFrame(rows)
    skus.insert(0, "sku_id", [f"S{i:05d}" for i in range(1, len(skus) + 1)])
    return skus[SKU_COLUMNS]
