"""Shopper queries with graded relevance: typed (English, Chinese), photo, voice and composed (photo + text).

Relevance of a SKU to a query:
    2  the right product type and every attribute the query names (colour, material, brand; for a photo, the
       colour it shows; for a composed query, the modification it asks for)
    1  the right product type only
    0  anything else (not stored)
Each query also has an exact ``target_sku``: the SKU the shopper had in mind (always graded 2).

Splits: queries about the zero-shot product types form the ``zero_shot`` split (never for training); the others
are split at random into ``train``/``val``/``test``. Identical query texts are dropped before splitting, and a
voice query inherits the split of the typed query it speaks, so nothing leaks across splits.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmlab.data.assets import art
from mmlab.data.images import COLOUR_ZH, HUE_COLOURS, dominant_colour, hue_shift_to

SPLIT_SHARES = {"train": 0.7, "val": 0.15, "test": 0.15}
TYPO_RATE = 0.15  # share of English typed queries with one typo
QUERY_COLUMNS = ["query_id", "modality", "lang", "text", "split", "target_sku", "type_id", "attributes",
                 "source_sku", "image_seed", "hue_shift", "text_query_id", "has_typo"]

EN_TEMPLATES = ["{a}", "{a}", "buy {a}", "looking for a {a}", "best {a}", "cheap {a}", "{a} for sale"]
ZH_TEMPLATES = ["{a}", "{a}", "想买{a}", "{a}推荐", "求{a}", "{a}哪个好"]
VOICE_NOISES = ("white", "pink", "babble", "hum")


def synonyms(types: pd.DataFrame, column: str) -> dict[int, list[str]]:
    """Per type, the keywords that name no other type in the catalog and are no colour: safe synonyms."""
    keyword_lists = {row.type_id: [k for k in getattr(row, column).split("|") if k] for row in types.itertuples()}
    counts = pd.Series([k for ks in keyword_lists.values() for k in set(ks)]).value_counts()
    colours = set(COLOUR_ZH) | set(COLOUR_ZH.values()) | {c.removesuffix("色") for c in COLOUR_ZH.values()}
    return {t: [k for k in ks if counts[k] == 1 and k not in colours] for t, ks in keyword_lists.items()}


def typo(text: str, rng: np.random.Generator) -> str:
    """One keyboard slip in a word of four or more letters: a swap, a drop or a doubled letter."""
    words = text.split()
    long_words = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not long_words:
        return text
    i = long_words[rng.integers(len(long_words))]
    w, j = words[i], int(rng.integers(1, len(words[i]) - 1))
    kind = rng.integers(3)
    words[i] = (w[:j] + w[j + 1] + w[j] + w[j + 2:]) if kind == 0 else (w[:j] + w[j + 1:]) if kind == 1 \
        else (w[:j] + w[j] + w[j:])
    return " ".join(words)


def _pick_attributes(sku: pd.Series, rng: np.random.Generator) -> dict[str, str]:
    """Which attributes of the target SKU the shopper mentions."""
    named = {}
    if sku.colour and rng.random() < 0.5:
        named["colour"] = sku.colour
    if rng.random() < 0.25:
        named["material"] = sku.material
    if rng.random() < 0.15:
        named["brand"] = sku.brand
    return named


def _phrase(sku: pd.Series, named: dict[str, str], noun: str, lang: str) -> str:
    """The attribute phrase, e.g. 'lumio red cotton t-shirt' or '卢米奥红色纯棉T恤'."""
    if lang == "en":
        parts = [named.get("brand", ""), named.get("colour", ""), named.get("material", ""), noun]
        return " ".join(p for p in parts if p).lower()
    zh = {"brand": sku.brand_zh, "colour": sku.colour_zh, "material": sku.material_zh}
    return "".join(zh[k] for k in ("brand", "colour", "material") if k in named) + noun


def text_query(sku: pd.Series, lang: str, synonym_list: list[str], rng: np.random.Generator) -> dict:
    """One typed query for a target SKU: attributes, a noun (name or a synonym), a template, maybe a typo."""
    named = _pick_attributes(sku, rng)
    name = sku.name_en if lang == "en" else sku.name_zh
    noun = synonym_list[rng.integers(len(synonym_list))] if synonym_list and rng.random() < 0.3 else name
    templates = EN_TEMPLATES if lang == "en" else ZH_TEMPLATES
    text = templates[rng.integers(len(templates))].format(a=_phrase(sku, named, noun, lang))
    has_typo = lang == "en" and rng.random() < TYPO_RATE
    return {"modality": "text", "lang": lang, "text": typo(text, rng) if has_typo else text,
            "target_sku": sku.sku_id, "type_id": sku.type_id, "has_typo": has_typo,
            "attributes": ";".join(f"{k}={v}" for k, v in named.items())}


def image_query(sku: pd.Series, rng: np.random.Generator) -> dict:
    """A shopper's photo of the target SKU: the other artist's art in the SKU's colour, shot badly.

    The photo only counts as showing the colour (and so only demands it for grade 2) when the other artist's
    art can be recoloured to it, or already has it.
    """
    other_art = art(sku.code, "twitter")
    shift = hue_shift_to(other_art, sku.colour) if sku.colour in HUE_COLOURS else None
    shows_colour = shift is not None or (sku.colour != "" and dominant_colour(other_art)[0] == sku.colour)
    return {"modality": "image", "lang": "", "text": "", "target_sku": sku.sku_id, "type_id": sku.type_id,
            "source_sku": sku.sku_id, "image_seed": int(rng.integers(2**31)), "hue_shift": shift or 0.0,
            "attributes": f"colour={sku.colour}" if shows_colour else ""}


def composed_query(source: pd.Series, skus: pd.DataFrame, rng: np.random.Generator) -> dict | None:
    """A photo of one SKU plus a modifier text pointing at another SKU of the same type, or None."""
    siblings = skus[(skus.type_id == source.type_id) & (skus.sku_id != source.sku_id)]
    other_colours = siblings[(siblings.colour != source.colour) & (siblings.colour != "")]
    cheaper = siblings[(siblings.colour == source.colour) & (siblings.price < 0.85 * source.price)]
    lang = "en" if rng.random() < 0.6 else "zh"
    if len(other_colours) and (not len(cheaper) or rng.random() < 0.7):
        target = other_colours.iloc[rng.integers(len(other_colours))]
        text = f"in {target.colour}" if lang == "en" else f"换成{target.colour_zh}"
        attributes = f"colour={target.colour}"
    elif len(cheaper):
        target = cheaper.iloc[rng.integers(len(cheaper))]
        text = "cheaper" if lang == "en" else "更便宜的"
        attributes = f"colour={source.colour};cheaper_than={source.price}"
    else:
        return None
    photo = image_query(source, rng)
    return photo | {"modality": "composed", "lang": lang, "text": text, "target_sku": target.sku_id,
                    "attributes": attributes}


def voice_queries(typed: pd.DataFrame, n: int, rng: np.random.Generator, voices: dict[str, int]) -> pd.DataFrame:
    """Spoken versions of ``n`` typed queries without typos: the voice, rate, pitch, noise and SNR to use."""
    clean = typed[~typed.has_typo.astype(bool)]
    chosen = clean.iloc[np.sort(rng.choice(len(clean), size=min(n, len(clean)), replace=False))]
    spoken = chosen.assign(modality="voice", text_query_id=chosen.query_id, has_typo=False)
    return spoken.assign(
        voice=[int(rng.integers(voices[lang])) for lang in spoken.lang],
        rate=rng.integers(130, 200, size=len(spoken)), pitch=rng.integers(30, 70, size=len(spoken)),
        noise=rng.choice(VOICE_NOISES, size=len(spoken)), snr_db=rng.choice([5, 10, 15, 20, 30], size=len(spoken)))


def relevance(queries: pd.DataFrame, skus: pd.DataFrame) -> pd.DataFrame:
    """Graded relevance (query_id, sku_id, grade) for every query over every SKU of the query's type."""
    by_type = {t: group for t, group in skus.groupby("type_id")}
    rows = []
    for q in queries.itertuples():
        candidates = by_type[q.type_id]
        exact = np.ones(len(candidates), dtype=bool)
        for pair in filter(None, q.attributes.split(";")):
            key, value = pair.split("=", 1)
            if key == "cheaper_than":
                exact &= candidates.price.to_numpy() < float(value)
            else:
                exact &= candidates[key].to_numpy() == value
        exact |= candidates.sku_id.to_numpy() == q.target_sku
        rows += [(q.query_id, s, 2 if e else 1) for s, e in zip(candidates.sku_id, exact)]
    return pd.DataFrame(rows, columns=["query_id", "sku_id", "grade"])


def assign_splits(queries: pd.DataFrame, zero_shot_types: set[int], rng: np.random.Generator) -> pd.Series:
    """``zero_shot`` for queries about held-out types; otherwise train/val/test at random."""
    random_split = rng.choice(list(SPLIT_SHARES), size=len(queries), p=list(SPLIT_SHARES.values()))
    return pd.Series(np.where(queries.type_id.isin(zero_shot_types), "zero_shot", random_split),
                     index=queries.index)


def _sample_skus(skus: pd.DataFrame, n: int, rng: np.random.Generator) -> list[pd.Series]:
    return [skus.iloc[i] for i in rng.integers(len(skus), size=n)]


def generate_queries(types: pd.DataFrame, skus: pd.DataFrame, zero_shot_types: set[int], counts: dict[str, int],
                     rng: np.random.Generator, voices: dict[str, int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All queries (one table, one row per query) and their graded relevance over the SKUs.

    ``counts`` gives how many to make: keys ``text_en``, ``text_zh``, ``image``, ``voice``, ``composed``.
    """
    syn = {"en": synonyms(types, "keywords_en"), "zh": synonyms(types, "keywords_zh")}
    typed = [text_query(s, lang, syn[lang][s.type_id], rng)
             for lang in ("en", "zh") for s in _sample_skus(skus, counts[f"text_{lang}"], rng)]
    typed = pd.DataFrame(typed).drop_duplicates(subset=["lang", "text"], ignore_index=True)
    photos = pd.DataFrame([image_query(s, rng) for s in _sample_skus(skus, counts["image"], rng)])
    composed = [composed_query(s, skus, rng) for s in _sample_skus(skus, counts["composed"], rng)]
    composed = pd.DataFrame([c for c in composed if c is not None]).drop_duplicates(
        subset=["source_sku", "text", "target_sku"], ignore_index=True)
    non_voice = pd.concat([typed, photos, composed], ignore_index=True)
    non_voice.insert(0, "query_id", [f"Q{i:06d}" for i in range(1, len(non_voice) + 1)])
    non_voice["split"] = assign_splits(non_voice, zero_shot_types, rng)
    spoken = voice_queries(non_voice[non_voice.modality == "text"], counts["voice"], rng, voices)
    spoken["query_id"] = [f"Q{i:06d}" for i in range(len(non_voice) + 1, len(non_voice) + len(spoken) + 1)]
    queries = pd.concat([non_voice, spoken], ignore_index=True)
    queries = _fill_defaults(queries)
    return queries, relevance(queries, skus)


def _fill_defaults(queries: pd.DataFrame) -> pd.DataFrame:
    """Give every column a value of one type (no NaN): empty strings, -1 or 0 where a field does not apply."""
    defaults = {"source_sku": "", "image_seed": -1, "hue_shift": 0.0, "text_query_id": "", "has_typo": False,
                "voice": -1, "rate": 0, "pitch": 0, "noise": "", "snr_db": 0, "attributes": ""}
    for column, default in defaults.items():
        queries[column] = queries[column].fillna(default).astype(type(default))
    return queries[QUERY_COLUMNS + ["voice", "rate", "pitch", "noise", "snr_db"]]
