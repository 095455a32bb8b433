"""The check_* helpers of notebooks 00 and 01 pass a correct answer and fail a wrong one and an unfinished stub.

A failing check must return False and print ❌ (never raise), so a learner's notebook keeps running.
"""

from __future__ import annotations

import re
import unicodedata

import bm25s
import numpy as np
import pandas as pd
import pytest

from helpers import assert_fails, assert_passes, stub
from mmlab.exercises import preprocessing as exercises
from mmlab.preprocess import tokens


# --- 00, exercise 1: cosine similarity


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_cosine_passes_a_correct_answer(capsys):
    assert_passes(capsys, exercises.check_cosine(cosine))


def test_cosine_accepts_numpy_scalars(capsys):
    assert_passes(capsys, exercises.check_cosine(lambda a, b: np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b)))


@pytest.mark.parametrize("wrong, hint", [
    (lambda a, b: a @ b, "np.linalg.norm"),  # forgot to normalise
    (lambda a, b: a @ b / np.linalg.norm(a), "np.linalg.norm"),  # one length only
    (lambda a, b: None, "one number"),
    (lambda a, b: a * b, "one number"),  # an array, not a number
    (stub, "not done yet"),
])
def test_cosine_fails_wrong_answers(capsys, wrong, hint):
    assert_fails(capsys, exercises.check_cosine(wrong), hint)


# --- 00, exercise 2: BM25's top product


@pytest.fixture(scope="module")
def skus() -> pd.DataFrame:
    names = ["lemon", "pear", "hammer", "t-shirt", "running shoe", "teapot", "guitar", "kite"]
    brands = ["Zenith", "Pipit", "Lumio", "Kestrel"]
    rows = [{"sku_id": f"S{i:05d}", "name_en": name, "brand": brand, "material": material,
             "title_en": f"{brand} {material.title()} {name.title()} (M)"}
            for i, (name, brand, material) in enumerate(
                (n, brands[j % 4], m) for j, n in enumerate(names) for m in ("cotton", "steel"))]
    return pd.DataFrame(rows)


def bm25_top(skus: pd.DataFrame, tokenise):
    retriever = bm25s.BM25()
    retriever.index([tokens(title) for title in skus.title_en], show_progress=False)
    ids = skus.sku_id.tolist()

    def top_product(query: str) -> str:
        documents, _ = retriever.retrieve([tokenise(query)], k=1, show_progress=False)
        return ids[documents[0, 0]]
    return top_product


def test_bm25_top1_passes_a_correct_answer(capsys, skus):
    assert_passes(capsys, exercises.check_bm25_top1(bm25_top(skus, tokens), skus))


def test_bm25_top1_fails_without_normalising_the_query(capsys, skus):
    assert_fails(capsys, exercises.check_bm25_top1(bm25_top(skus, str.split), skus), "tokens(query)")


def test_bm25_top1_fails_a_row_number_and_a_stub(capsys, skus):
    assert_fails(capsys, exercises.check_bm25_top1(lambda query: 0, skus), "row number")
    assert_fails(capsys, exercises.check_bm25_top1(lambda query: "nonsense", skus), "not a sku_id")
    assert_fails(capsys, exercises.check_bm25_top1(stub, skus), "not done yet")


def test_bm25_top1_rejects_a_wrong_table():
    with pytest.raises(TypeError, match="SKU table"):
        exercises.check_bm25_top1(lambda query: "S00000", pd.DataFrame({"x": [1]}))


# --- 01, exercise 1: near-duplicate finder


def find_pairs(hashes: dict[str, np.ndarray], max_distance: int) -> list[tuple[str, str, int]]:
    names = list(hashes)
    pairs = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            distance = int(np.count_nonzero(hashes[a] != hashes[b]))
            if distance <= max_distance:
                pairs.append((a, b, distance))
    return pairs


def test_near_duplicate_finder_passes_a_correct_answer(capsys):
    assert_passes(capsys, exercises.check_near_duplicate_finder(find_pairs))


def test_near_duplicate_finder_passes_a_vectorised_answer(capsys):
    def vectorised(hashes, max_distance):
        names, bits = list(hashes), np.stack(list(hashes.values())).astype(int)
        distance = (bits[:, None, :] != bits[None, :, :]).sum(axis=2)
        i, j = np.triu_indices(len(names), k=1)
        keep = distance[i, j] <= max_distance
        return [(names[a], names[b], distance[a, b]) for a, b in zip(i[keep], j[keep])]
    assert_passes(capsys, exercises.check_near_duplicate_finder(vectorised))


@pytest.mark.parametrize("wrong, hint", [
    (lambda h, m: [p for p in find_pairs(h, m) if p[2] < m], "missed"),  # threshold excluded
    (lambda h, m: find_pairs(h, m) + [(b, a, d) for a, b, d in find_pairs(h, m)], "twice"),
    (lambda h, m: find_pairs(h, m) + [(a, a, 0) for a in h], "itself"),
    (lambda h, m: [(a, b, d + 1) for a, b, d in find_pairs(h, m)], "is wrong"),
    (lambda h, m: [(a, b, d) for a, b, d in find_pairs(h, 64) if d <= m + 1], "wrong"),  # off by one: too many
    (lambda h, m: 42, "list of"),
    (stub, "not done yet"),
])
def test_near_duplicate_finder_fails_wrong_answers(capsys, wrong, hint):
    assert_fails(capsys, exercises.check_near_duplicate_finder(wrong), hint)


# --- 01, exercise 2: noise at a target SNR


def mix_at_snr(clean: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    p_clean, p_noise = np.mean(clean.astype(np.float64) ** 2), np.mean(noise.astype(np.float64) ** 2)
    return clean + noise * np.sqrt(p_clean / (p_noise * 10 ** (snr_db / 10)))


def test_mix_at_snr_passes_a_correct_answer(capsys):
    assert_passes(capsys, exercises.check_mix_at_snr(mix_at_snr))


@pytest.mark.parametrize("wrong, hint", [
    (lambda c, n, s: c + n * 10 ** (-s / 20), "measured"),  # ignores the signal's and the noise's power
    (lambda c, n, s: c + n * np.sqrt(np.mean(c**2) / (np.mean(n**2) * 10 ** (s / 20))), "measured"),  # 20 not 10
    (lambda c, n, s: mix_at_snr(c, np.random.default_rng(0).normal(size=c.size), s), "given"),  # new noise
    (lambda c, n, s: 2 * mix_at_snr(c, n, s), "given"),  # rescales the clean speech too
    (lambda c, n, s: mix_at_snr(c, n, s)[:-1], "shape"),
    (lambda c, n, s: None, "shape"),
    (lambda c, n, s: c + n * np.inf, "NaN"),
    (stub, "not done yet"),
])
def test_mix_at_snr_fails_wrong_answers(capsys, wrong, hint):
    with np.errstate(invalid="ignore"):
        assert_fails(capsys, exercises.check_mix_at_snr(wrong), hint)


# --- 01, exercise 3: normalise a messy title

UNITS_ZH = {"毫升": "ml", "升": "l", "千克": "kg", "公斤": "kg", "克": "g", "厘米": "cm"}


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    chars = []
    for i, char in enumerate(text):
        before, after = text[i - 1:i], text[i + 1:i + 2]
        joiner = (char == "-" and (before.isascii() and before.isalnum()) and (after.isascii() and after.isalnum())) \
            or (char == "." and before.isdigit() and after.isdigit())
        chars.append(" " if unicodedata.category(char)[0] in "PS" and not joiner else char)
    text = "".join(chars)
    units = "|".join(sorted([*UNITS_ZH, "kg", "ml", "cm", "g", "l"], key=len, reverse=True))
    text = re.sub(rf"(\d) ?({units})(?![a-z])", lambda m: f"{m[1]} {UNITS_ZH.get(m[2], m[2])}", text)
    text = re.sub(r"(?<=[\u4e00-\u9fff])(?=[a-z0-9])|(?<=[a-z0-9])(?=[\u4e00-\u9fff])", " ", text)
    return " ".join(text.split())


def test_normalize_title_passes_a_correct_answer(capsys):
    assert_passes(capsys, exercises.check_normalize_title(normalize))


def test_normalize_title_passes_the_library_function(capsys):
    from mmlab.preprocess import normalize_text
    assert_passes(capsys, exercises.check_normalize_title(normalize_text))


@pytest.mark.parametrize("wrong", [
    lambda t: unicodedata.normalize("NFKC", t).casefold(),  # no punctuation, units or script boundaries
    lambda t: normalize(t).replace("-", " "),  # hyphens inside words dropped
    lambda t: re.sub(r"(?<=[\u4e00-\u9fff]) (?=[a-z0-9])|(?<=[a-z0-9]) (?=[\u4e00-\u9fff])", "", normalize(t)),
    lambda t: re.sub(r"(\d) (ml|l|kg|g|cm)\b", r"\1\2", normalize(t)),  # no space before the unit
    lambda t: normalize(unicodedata.normalize("NFC", t)).upper(),
    lambda t: None,
])
def test_normalize_title_fails_wrong_answers(capsys, wrong):
    assert_fails(capsys, exercises.check_normalize_title(wrong), "expected")


def test_normalize_title_fails_a_stub(capsys):
    assert_fails(capsys, exercises.check_normalize_title(stub), "not done yet")


def test_held_out_titles_are_messy():
    """The held-out titles exercise full-width forms, Chinese next to Latin, units and punctuation."""
    joined = "".join(exercises.HELD_OUT_TITLES)
    assert re.search("[\uff01-\uff5e]", joined) and re.search("[\u4e00-\u9fff][A-Za-z0-9]", joined)
    assert any(unit in joined for unit in ("毫升", "公斤", "厘米")) and "KG" in joined
