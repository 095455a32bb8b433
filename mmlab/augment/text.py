"""Text augmentation: tokens, keyword synonyms, deletions, swaps and sentences about a SKU, seeded."""

from __future__ import annotations

import numbers
import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from mmlab.augment.checks import check_int, check_rng
from mmlab.data import queries, skus
from mmlab.data.images import COLOUR_ZH

_HANZI = r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"  # CJK ideographs
_LATIN = r"[0-9A-Za-z\u00c0-\u024f]"  # digits and Latin letters, accented ones included
# A token is one Chinese character, or a whole Latin word or number (inner - ' . kept: t-shirt, men's, 1.5).
_TOKEN = re.compile(rf"{_HANZI}|{_LATIN}+(?:[-'’.]{_LATIN}+)*")


def _check_text(text: object) -> str:
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if not text.strip():
        raise ValueError("text is empty; pass a title, description or query")
    return text


def _check_probability(p: object) -> float:
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be a probability in [0, 1], got {p!r}; e.g. p=0.1 changes about one token in ten")
    return float(p)


def tokenize(text: str) -> list[str]:
    """Split into tokens for token-level augmentation: Latin words whole, Chinese one character each.

    Chinese has no spaces, so a character is the safe unit (a word segmenter could do better). Punctuation is
    dropped; normalise first (full-width letters are not Latin until NFKC makes them so).
    """
    tokens = _TOKEN.findall(_check_text(text))
    if not tokens:
        raise ValueError(f"text {text!r} has no words or Chinese characters to augment")
    return tokens


def detokenize(tokens: list[str]) -> str:
    """Join tokens back into text: a space between two Latin words, none next to a Chinese character."""
    text = tokens[0] if tokens else ""
    for previous, token in zip(tokens, tokens[1:]):
        both_latin = re.fullmatch(_LATIN, previous[-1]) and re.fullmatch(_LATIN, token[0])
        text += (" " if both_latin else "") + token
    return text


def _attribute_words() -> set[str]:
    """Every brand, material, size and colour name (en and zh), lower-cased: words a synonym must not be."""
    words = {word for brand in skus.BRANDS for word in brand[:2]}
    words |= {word for options in skus.MATERIALS.values() for pair in options for word in pair}
    words |= {word for options in skus.SIZES.values() for size in options for word in size[:2]}
    words |= set(COLOUR_ZH) | set(COLOUR_ZH.values())
    return {word.lower() for word in words}


def synonym_table(types: pd.DataFrame) -> dict[str, list[str]]:
    """Keyword synonyms from the catalog: {product type name: its safe keywords}, in English and Chinese.

    Safe keywords name no other type and no colour (:func:`mmlab.data.queries.synonyms`: the words the catalog's
    shoppers type instead of a name), and here also no brand, material or size ("小号" is a trumpet and a size).
    Only names are keys: a keyword can be a common word ("hot", "food") that means something else elsewhere in a
    text. CLDR keywords are looser than a thesaurus ("sour" for a lemon), as shoppers' words are.
    """
    names = pd.concat([types.name_en, types.name_zh]).str.lower()
    attributes = _attribute_words()
    blocked = attributes | set(names)  # a keyword that names a product or an attribute would change the meaning
    table = {}
    for column, lang in (("name_en", "en"), ("name_zh", "zh")):
        safe = queries.synonyms(types, f"keywords_{lang}")
        for type_id, name in zip(types.type_id, types[column].str.lower()):
            options = [k.lower() for k in safe[type_id] if k.lower() not in blocked]
            if options and (names == name).sum() == 1 and name not in attributes:
                table[name] = options
    return table


def synonym_swap(text: str, synonyms: Mapping[str, list[str]], rng: np.random.Generator, p: float = 0.3) -> str:
    """Replace each occurrence of a term in ``synonyms`` with one of its synonyms, with probability ``p``.

    Terms match whole (case-insensitive, longest first), so "t-shirt" is not found inside "t-shirts"; Chinese
    terms match anywhere, since Chinese has no spaces to mark where words end.
    """
    text, p = _check_text(text), _check_probability(p)
    check_rng(rng)
    table = {term.lower(): options for term, options in synonyms.items() if options}
    if not table:
        return text
    terms = "|".join(re.escape(t) for t in sorted(table, key=len, reverse=True))
    pattern = re.compile(rf"(?<!{_LATIN})(?:{terms})(?!{_LATIN})", re.IGNORECASE)

    def swap(match: re.Match) -> str:
        options = table[match.group(0).lower()]
        return str(options[rng.integers(len(options))]) if rng.random() < p else match.group(0)

    return pattern.sub(swap, text)


def random_deletion(tokens: list[str], rng: np.random.Generator, p: float = 0.1) -> list[str]:
    """Drop each token with probability ``p`` (EDA); one random token survives if all would go."""
    if not tokens:
        raise ValueError("tokens is empty; tokenize a non-empty text first")
    p = _check_probability(p)
    check_rng(rng)
    kept = [token for token in tokens if rng.random() >= p]
    return kept or [tokens[rng.integers(len(tokens))]]


def random_swap(tokens: list[str], rng: np.random.Generator, n: int = 1) -> list[str]:
    """Swap two randomly chosen tokens, ``n`` times (EDA). The tokens stay the same, their order changes."""
    if not tokens:
        raise ValueError("tokens is empty; tokenize a non-empty text first")
    n = check_int("n", n)
    check_rng(rng)
    swapped = list(tokens)
    for _ in range(n if len(tokens) > 1 else 0):
        i, j = rng.choice(len(swapped), size=2, replace=False)
        swapped[i], swapped[j] = swapped[j], swapped[i]
    return swapped


SKU_FIELDS = ("name_en", "name_zh", "colour", "colour_zh", "material", "material_zh", "brand", "brand_zh",
              "size", "size_zh", "price")
# Sentence templates. {adj} holds the colour and material ("red cotton"); food has no colour, so none is named.
EXPAND_EN = [
    "{article} {adj} {name} by {brand}, size {size}",
    "{brand} {adj} {name}, size {size}, for ${price:.2f}",
    "this {adj} {name} from {brand} comes in size {size}",
    "looking for {article} {adj} {name}? {brand} makes one in size {size}",
]
EXPAND_ZH = [
    "{brand}的{adj}{name}，{size}",
    "{brand}出品的{adj}{name}，规格{size}，售价{price:.2f}美元",
    "这款{adj}{name}来自{brand}，{size}",
    "想要{adj}{name}？{brand}有{size}的",
]


def expand_sentence(sku: Mapping | pd.Series, rng: np.random.Generator, lang: str = "en") -> str:
    """A sentence about a SKU (a row of ``catalog.skus``) from a random template in EXPAND_EN or EXPAND_ZH.

    For example "a red cotton t-shirt by Lumio, size M" or "卢米奥的红色纯棉T恤，M码".
    """
    check_rng(rng)
    missing = [field for field in SKU_FIELDS if field not in sku]
    if missing:
        raise ValueError(f"sku lacks {missing}; pass a row of catalog.skus")
    if lang == "en":
        adj = " ".join(word for word in (sku["colour"], sku["material"]) if word)
        article = "an" if adj[:1].lower() in tuple("aeiou") else "a"
        fields = {"article": article, "adj": adj, "name": sku["name_en"], "brand": sku["brand"],
                  "size": sku["size"], "price": sku["price"]}
        return EXPAND_EN[rng.integers(len(EXPAND_EN))].format(**fields)
    if lang == "zh":
        fields = {"adj": sku["colour_zh"] + sku["material_zh"], "name": sku["name_zh"], "brand": sku["brand_zh"],
                  "size": sku["size_zh"], "price": sku["price"]}
        return EXPAND_ZH[rng.integers(len(EXPAND_ZH))].format(**fields)
    raise ValueError(f"unknown lang {lang!r}; use 'en' or 'zh'")


