"""Checks for the exercises of Notebooks 00 (welcome) and 01 (catalog and preprocessing)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from mmlab.exercises.common import as_number, attempt, speech_like_signal, verdict




def check_cosine(cosine: Callable[[np.ndarray, np.ndarray], float]) -> bool:
    """00, exercise 1: ``cosine(a, b)`` is a.b / (|a| |b|) on orthogonal, parallel, opposite and random pairs."""
    rng = np.random.default_rng(0)
    pairs = [(np.array([1.0, 0.0]), np.array([0.0, 2.0])),  # orthogonal: 0
             (np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 6.0])),  # same direction, different length: 1
             (np.array([1.0, -1.0]), np.array([-3.0, 3.0])),  # opposite: -1
             *(tuple(rng.normal(size=(2, 8))) for _ in range(3))]
    for a, b in pairs:
        ok, got = attempt(cosine, a.copy(), b.copy())
        if not ok:
            return verdict(False, "", got)
        value = as_number(got)
        want = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
        if value is None:
            return verdict(False, "", f"cosine returned {got!r}; return one number, e.g. float(a @ b / ...)")
        if not np.isclose(value, want, atol=1e-6):
            return verdict(False, "", f"for a={np.round(a, 2)} and b={np.round(b, 2)} the cosine is {want:.4f}, "
                           f"you returned {value:.4f}. Hint: divide the dot product a @ b by both lengths "
                           "(np.linalg.norm(a) * np.linalg.norm(b)).")
    return verdict(True, f"your cosine matches the reference on {len(pairs)} pairs: orthogonal (0), parallel (1), "
                   "opposite (-1) and random vectors", "")


def _full_width(text: str) -> str:
    """ASCII letters, digits and punctuation as their full-width forms (what some Chinese keyboards type)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else "\u3000" if c == " " else c for c in text)


def check_bm25_top1(top_product: Callable[[str], str], skus: pd.DataFrame) -> bool:
    """00, exercise 2: ``top_product(query)`` returns the sku_id that BM25 over the English titles ranks first.

    The reference indexes ``skus.title_en`` with :func:`mmlab.preprocess.tokens` (bm25s defaults). The queries
    are messy on purpose (capitals, full-width letters, punctuation), so the query must be tokenised the same
    way as the titles. A SKU that ties with the best score also counts as right.
    """
    import bm25s

    from mmlab.preprocess import tokens

    if not isinstance(skus, pd.DataFrame) or not {"sku_id", "title_en"} <= set(skus.columns) or len(skus) < 3:
        raise TypeError("pass the catalog's SKU table, e.g. check_bm25_top1(top_product, minimart.skus)")
    retriever = bm25s.BM25()
    retriever.index([tokens(title) for title in skus["title_en"]], show_progress=False)
    picks = skus.iloc[[0, len(skus) // 2, len(skus) - 1]]
    queries = [f"{_full_width(picks.iloc[0]['brand'].upper())}, {picks.iloc[0]['name_en'].upper()}!!",
               f"{picks.iloc[1]['name_en'].title()} ({picks.iloc[1]['brand']})?",
               f"「{picks.iloc[2]['material']}」 {_full_width(picks.iloc[2]['name_en'])}..."]
    ids = skus["sku_id"].tolist()
    for query in queries:
        scores = retriever.get_scores(tokens(query))
        ok, got = attempt(top_product, query)
        if not ok:
            return verdict(False, "", got)
        if isinstance(got, (int, np.integer)) and 0 <= got < len(ids):
            return verdict(False, "", f"top_product({query!r}) returned the row number {got}; return its sku_id "
                           f"(e.g. {ids[int(got)]!r}): sku_ids[row]")
        if got not in ids:
            return verdict(False, "", f"top_product({query!r}) returned {got!r}, which is not a sku_id of the catalog")
        best = ids[int(np.argmax(scores))]
        if scores[ids.index(got)] < scores.max() - 1e-6:
            return verdict(False, "", f"for {query!r} BM25 ranks {best!r} first, you returned {got!r}. Hint: "
                           "tokenise the query with tokens(query), exactly like the titles, then "
                           "retriever.retrieve([...], k=1).")
    return verdict(True, f"your function finds BM25's top product for {len(queries)} messy queries", "")


def check_near_duplicate_finder(find_pairs: Callable[[dict[str, np.ndarray], int], list]) -> bool:
    """01, exercise 1: ``find_pairs(hashes, max_distance)`` returns every pair within the Hamming distance.

    ``hashes`` maps an id to 64 bits (a boolean array, as ``preprocess.perceptual_hash(img).hash.ravel()``);
    the answer is a list of ``(id_a, id_b, distance)``, each pair once, with ``distance <= max_distance``.
    The test set plants copies 0, 3, 4 (on the threshold) and 5 bits away among unrelated random hashes.
    """
    rng = np.random.default_rng(1)
    hashes = {f"photo{i}": rng.random(64) < 0.5 for i in range(10)}
    for source, name, flips in (("photo0", "photo0-copy", 0), ("photo1", "photo1-jpeg", 3),
                                ("photo2", "photo2-blur", 4), ("photo3", "photo3-shifted", 5)):
        bits = hashes[source].copy()
        bits[rng.choice(64, flips, replace=False)] ^= True
        hashes[name] = bits
    names = list(hashes)
    for max_distance in (4, 0, 40):
        want = {}
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                distance = int(np.count_nonzero(hashes[a] != hashes[b]))
                if distance <= max_distance:
                    want[frozenset((a, b))] = distance
        ok, got = attempt(find_pairs, {k: v.copy() for k, v in hashes.items()}, max_distance)
        if not ok:
            return verdict(False, "", got)
        try:
            found = [(p[0], p[1], int(p[2])) for p in got]
        except (TypeError, IndexError, ValueError):
            return verdict(False, "", f"find_pairs returned {str(got)[:80]}...; return a list of (id_a, id_b, "
                           "distance) tuples")
        if any(a == b for a, b, _ in found):
            return verdict(False, "", "an image was paired with itself; compare each image only with the later ones")
        pairs = {frozenset((a, b)): d for a, b, d in found}
        if len(pairs) != len(found):
            return verdict(False, "", "a pair appears twice (as (a, b) and (b, a)?); list each pair once")
        wrong = {p: d for p, d in pairs.items() if want.get(p) != d}
        missed = set(want) - set(pairs)
        if wrong or missed:
            example = sorted(next(iter(wrong or missed)))
            hint = ("Hint: the Hamming distance is the number of positions where the bits differ: "
                    "np.count_nonzero(a != b); keep pairs with distance <= max_distance (the threshold counts).")
            if missed:
                return verdict(False, "", f"with max_distance={max_distance} you missed {len(missed)} of "
                               f"{len(want)} pairs, e.g. {example}. {hint}")
            return verdict(False, "", f"with max_distance={max_distance} the pair {example} is wrong: its distance "
                           f"is {want.get(frozenset(example), 'above the threshold')}, you said "
                           f"{pairs[frozenset(example)]}. {hint}")
    return verdict(True, "your finder catches the planted copies (0, 3 and 4 bits), skips the 5-bit one and the "
                   "unrelated photos, and respects the threshold", "")




def check_mix_at_snr(mix_at_snr: Callable[[np.ndarray, np.ndarray, float], np.ndarray]) -> bool:
    """01, exercise 2: ``mix_at_snr(clean, noise, snr_db)`` adds a scaled copy of ``noise`` to ``clean`` so that
    :func:`mmlab.data.noise.snr_db` of the result is within 0.5 dB of the target, at several targets."""
    from mmlab.data.noise import snr_db

    rng = np.random.default_rng(2)
    for target in (20.0, 10.0, 3.5, 0.0, -5.0):
        clean = speech_like_signal(16_000, rng)
        noise = (rng.normal(0, rng.uniform(0.01, 1.0), clean.size) + 0.2).astype(np.float32)  # any level, a DC offset
        ok, got = attempt(mix_at_snr, clean.copy(), noise.copy(), target)
        if not ok:
            return verdict(False, "", got)
        noisy = np.asarray(got, dtype=np.float64) if got is not None else None
        if noisy is None or noisy.shape != clean.shape:
            shape = None if noisy is None else noisy.shape
            return verdict(False, "", f"mix_at_snr returned shape {shape}, expected {clean.shape}: return "
                           "clean + scaled noise, one sample per input sample")
        if not np.all(np.isfinite(noisy)):
            return verdict(False, "", "the result contains NaN or infinity; did you divide by zero?")
        added = noisy - clean
        if np.std(added) == 0 or abs(np.corrcoef(added, noise)[0, 1]) < 0.99:
            return verdict(False, "", "noisy - clean should be the given noise times one number; keep clean as it "
                           "is and scale the noise you were given (do not make new noise)")
        measured = snr_db(clean, noisy.astype(np.float32))
        if abs(measured - target) > 0.5:
            return verdict(False, "", f"target {target} dB, measured {measured:.2f} dB. Hint: SNR = 10 log10(P_clean "
                           "/ P_noise) with P = mean(x**2), so scale the noise by sqrt(P_clean / (P_noise * "
                           "10**(snr_db / 10))).")
    return verdict(True, "your mixes hit 20, 10, 3.5, 0 and -5 dB within 0.5 dB (measured with noise.snr_db)", "")


# Held out: the notebook shows other examples. Each uses only the rules the exercise lists.
HELD_OUT_TITLES = (
    "ＮＯＲＴＨＷＩＮＤ　Ｃｏｔｔｏｎ　Ｔ－Ｓｈｉｒｔ（ＸＬ）",
    "奥蕾无糖气泡水330毫升，6瓶装！",
    "【限时】Kestrel钛合金锤子 1.5KG",
    "Maplewood Bamboo Cutting-Board 45厘米...",
    "卢米奥 Wireless 耳机（白色）/ 2代",
    "  Solace  Silk Scarf    ~ 100g ~ ",
    "天顶有机柠檬 1公斤 + 500克",
    "Tidewell 不锈钢 水壶 2升 «新款»",
)


def check_normalize_title(normalize: Callable[[str], str]) -> bool:
    """01, exercise 3: ``normalize(title)`` agrees with :func:`mmlab.preprocess.normalize_text` on held-out
    messy Chinese/English titles."""
    from mmlab.preprocess import normalize_text

    for title in HELD_OUT_TITLES:
        ok, got = attempt(normalize, title)
        if not ok:
            return verdict(False, "", got)
        want = normalize_text(title)
        if got != want:
            return verdict(False, "", f"normalize({title!r}) gave {got!r}, expected {want!r}. Compare them "
                           "character by character: which of the five rules is missing?")
    return verdict(True, f"your normaliser agrees with preprocess.normalize_text on {len(HELD_OUT_TITLES)} held-out "
                   "titles", "")
