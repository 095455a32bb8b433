"""``check_*`` helpers for the notebooks' exercises: each prints a pass/fail verdict with a hint and returns it.

A check never raises on a wrong answer (so a notebook still runs top to bottom); it raises only when the
answer has the wrong *kind* (for example a stub that raises ``NotImplementedError``), which it reports as not done.
Sections below are grouped by notebook.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def verdict(passed: bool, success: str, hint: str) -> bool:
    """Print ✅ with ``success`` or ❌ with ``hint``; return ``passed``."""
    print(f"✅ {success}" if passed else f"❌ {hint}")
    return passed


def attempt(solution: Callable[..., Any], *args: Any) -> tuple[bool, Any]:
    """Call a learner's function; (False, message) if it is still a stub or crashes, else (True, result)."""
    try:
        return True, solution(*args)
    except NotImplementedError as stub:
        return False, f"not done yet: {str(stub) or 'replace the NotImplementedError with your code'}"
    except Exception as error:  # a learner's bug is feedback, not a crash of the notebook
        return False, f"your function raised {type(error).__name__}: {error}"


# --- 00 welcome / 01 catalog and preprocessing ---

import numpy as np  # noqa: E402  (this section's imports; sections are appended independently)
import pandas as pd  # noqa: E402


def _as_number(value: Any) -> float | None:
    """``value`` as a float if it is one number (a Python or NumPy scalar, a 0-d array), else None."""
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        return None
    return float(array) if array.ndim == 0 and array.dtype.kind in "biuf" else None


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
        value = _as_number(got)
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


def _test_signal(n: int, rng: np.random.Generator) -> np.ndarray:
    """A speech-like test clip: a few harmonics with a syllable-rate envelope and a silent start."""
    t = np.arange(n) / 16_000
    tone = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) / k for k, f in enumerate((180, 360, 900), 1))
    envelope = np.clip(np.sin(2 * np.pi * 4 * t), 0, None) * (t > 0.1)
    return (0.3 * tone * envelope).astype(np.float32)


def check_mix_at_snr(mix_at_snr: Callable[[np.ndarray, np.ndarray, float], np.ndarray]) -> bool:
    """01, exercise 2: ``mix_at_snr(clean, noise, snr_db)`` adds a scaled copy of ``noise`` to ``clean`` so that
    :func:`mmlab.data.speech.snr_db` of the result is within 0.5 dB of the target, at several targets."""
    from mmlab.data.speech import snr_db

    rng = np.random.default_rng(2)
    for target in (20.0, 10.0, 3.5, 0.0, -5.0):
        clean = _test_signal(16_000, rng)
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
    return verdict(True, "your mixes hit 20, 10, 3.5, 0 and -5 dB within 0.5 dB (measured with speech.snr_db)", "")


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



# --- 04 reviews and behaviour ---

import torch  # noqa: E402  (this section's imports; sections are appended independently)


def _same_tensor(got: Any, want: torch.Tensor) -> bool:
    """``got`` is a tensor (or array) of ``want``'s shape with the same values."""
    try:
        got = torch.as_tensor(np.asarray(got.detach() if isinstance(got, torch.Tensor) else got), dtype=want.dtype)
    except (TypeError, ValueError, RuntimeError):
        return False
    return got.shape == want.shape and torch.allclose(got, want, atol=1e-5)


def check_negative_sampling_loss(loss: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]) -> bool:
    """04, exercise 1: ``loss(centre, context, negatives)`` is skip-gram's negative-sampling loss, batch-averaged.

    centre (B, D), context (B, D), negatives (B, K, D); compared with
    :func:`mmlab.encoders.embeddings.negative_sampling_loss` for several B, K and D (K = 1 included).
    """
    from mmlab.encoders.embeddings import negative_sampling_loss

    generator = torch.Generator().manual_seed(0)
    for batch, k, dim in ((1, 1, 2), (4, 3, 5), (16, 5, 8)):
        centre, context = torch.randn(batch, dim, generator=generator), torch.randn(batch, dim, generator=generator)
        negatives = torch.randn(batch, k, dim, generator=generator)
        ok, got = attempt(loss, centre.clone(), context.clone(), negatives.clone())
        if not ok:
            return verdict(False, "", got)
        want = negative_sampling_loss(centre, context, negatives)
        if _as_number(got.detach() if isinstance(got, torch.Tensor) else got) is None:
            return verdict(False, "", f"loss returned {got!r}; return one number (a 0-d tensor), the batch mean")
        if not _same_tensor(got, want):
            return verdict(False, "", f"for B={batch}, K={k}, D={dim} the loss is {want.item():.4f}, you returned "
                           f"{float(got):.4f}. Hint: -log sigmoid(u.v) for the true pair, minus the SUM over the K "
                           "negatives of log sigmoid(-u.n), then the MEAN over the batch (F.logsigmoid is stable).")
    return verdict(True, "your loss matches mmlab's negative_sampling_loss (batch sizes 1-16, K = 1-5)", "")


def check_masked_attention(pool: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], tuple]) -> bool:
    """04, exercise 2: ``pool(scores, values, mask)`` -> (pooled (B, D), weights (B, R)), a masked softmax.

    Weights must match :func:`mmlab.encoders.review.masked_softmax` (padded positions exactly 0, rows summing to
    one) and the pooled vectors the weighted sum; changing a padded value must not change the result.
    """
    from mmlab.encoders.review import masked_softmax

    generator = torch.Generator().manual_seed(0)
    scores, values = torch.randn(3, 4, generator=generator), torch.randn(3, 4, 2, generator=generator)
    mask = torch.tensor([[True, True, True, True], [True, False, True, False], [True, False, False, False]])
    want_weights = masked_softmax(scores, mask)
    want_pooled = (want_weights.unsqueeze(-1) * values).sum(dim=1)
    ok, got = attempt(pool, scores.clone(), values.clone(), mask.clone())
    if not ok:
        return verdict(False, "", got)
    if not (isinstance(got, tuple) and len(got) == 2):
        return verdict(False, "", f"pool returned {type(got).__name__}; return a pair (pooled, weights)")
    pooled, weights = got
    if not _same_tensor(weights, want_weights):
        return verdict(False, "", f"weights should be {want_weights.numpy().round(3).tolist()}, got "
                       f"{np.asarray(weights).round(3).tolist()}. Hint: set the scores of padded reviews to "
                       "float('-inf') (scores.masked_fill(~mask, ...)) before the softmax over dim=1.")
    if not _same_tensor(pooled, want_pooled):
        return verdict(False, "", "the weights are right but the pooled vectors are not: sum weight * value over "
                       "the reviews, (weights.unsqueeze(-1) * values).sum(dim=1)")
    noisy = values.clone()
    noisy[~mask] = 1e3  # garbage where only padding sits
    ok, again = attempt(pool, scores.clone(), noisy, mask.clone())
    if not ok or not isinstance(again, tuple) or not _same_tensor(again[0], want_pooled):
        return verdict(False, "", "changing a padded review changed the pooled vector: padding must get weight "
                       "exactly 0 (-inf before the softmax, not a large negative number times the value)")
    return verdict(True, "weights sum to one, padded reviews get exactly zero weight and cannot move the result", "")


def check_nearest_with_mask(nearest: Callable[[np.ndarray, np.ndarray, int, int], Any]) -> bool:
    """04, exercise 3: ``nearest(emb, has_behaviour, row, k)`` -> the k rows most cosine-similar to ``row``.

    Best first, without ``row`` itself and without rows whose mask is False (cold-start SKUs, zero vectors);
    compared with :func:`mmlab.encoders.behaviour.also_bought`. The test vectors have very different lengths,
    so a dot product instead of the cosine ranks them wrongly.
    """
    from mmlab.encoders.behaviour import also_bought

    rng = np.random.default_rng(0)
    emb = (rng.normal(size=(30, 4)) * rng.uniform(0.1, 10, size=(30, 1))).astype(np.float32)
    mask = np.ones(30, dtype=bool)
    mask[[3, 7, 11, 19]] = False
    emb[~mask] = 0
    for row, k in ((0, 5), (12, 3), (29, 1)):
        ok, got = attempt(nearest, emb.copy(), mask.copy(), row, k)
        if not ok:
            return verdict(False, "", got)
        want = also_bought(emb, mask, row, k).tolist()
        got = np.asarray(got).ravel().tolist()
        if row in got:
            return verdict(False, "", f"your answer for row {row} contains row {row} itself; leave it out")
        if set(got) & set(np.flatnonzero(~mask)):
            return verdict(False, "", f"your answer for row {row} contains a cold-start row "
                           f"({sorted(set(got) & set(np.flatnonzero(~mask)))}); only rows with mask True may appear")
        if got != want:
            return verdict(False, "", f"for row {row}, k={k} the nearest rows are {want}, you returned {got}. Hint: "
                           "normalise every row to length 1 (cosine, not dot product), then sort by similarity, "
                           "best first")
    return verdict(True, "your neighbours match also_bought: cosine, best first, without the SKU and cold starts", "")


# --- 02 image encoder ---

import torch  # noqa: E402  (this section's imports; sections are appended independently)
from torch import nn  # noqa: E402


def _conv_block_problem(block: Any, c_in: int, c_out: int) -> str | None:
    """What is wrong with a learner's conv block for (c_in -> c_out), or None if it is right."""
    if not isinstance(block, nn.Module):
        return f"conv_block returned a {type(block).__name__}; return an nn.Module such as nn.Sequential(...)"
    convs = [m for m in block.modules() if isinstance(m, nn.Conv2d)]
    if len(convs) != 1 or convs[0].kernel_size != (3, 3) or convs[0].in_channels != c_in \
            or convs[0].out_channels != c_out:
        return (f"for conv_block({c_in}, {c_out}) expected exactly one nn.Conv2d({c_in}, {c_out}, kernel_size=3, "
                f"padding=1), found {convs}")
    if not any(isinstance(m, nn.BatchNorm2d) and m.num_features == c_out for m in block.modules()):
        return f"no nn.BatchNorm2d({c_out}) after the convolution; add it between the conv and the ReLU"
    return None


def check_conv_block(conv_block: Callable[[int, int], nn.Module]) -> bool:
    """02, exercise 1: ``conv_block(c_in, c_out)`` is 3x3 conv (padding 1), batch norm, ReLU, 2x2 max pooling.

    For several channel counts and (even and odd) photo sizes the output must have ``c_out`` channels and half the
    height and width (rounded down), be non-negative (ReLU comes before pooling) and pass gradients to the conv.
    """
    generator = torch.Generator().manual_seed(0)
    for c_in, c_out, size in ((3, 8, 32), (8, 16, 12), (16, 4, 7)):
        ok, block = attempt(conv_block, c_in, c_out)
        if not ok:
            return verdict(False, "", block)
        problem = _conv_block_problem(block, c_in, c_out)
        if problem:
            return verdict(False, "", problem)
        x = torch.randn(2, c_in, size, size, generator=generator)
        ok, y = attempt(block.train(), x)
        if not ok:
            return verdict(False, "", y)
        want = (2, c_out, size // 2, size // 2)
        if not isinstance(y, torch.Tensor) or tuple(y.shape) != want:
            shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
            return verdict(False, "", f"a (2, {c_in}, {size}, {size}) input should give {want}, got {shape}. "
                           "Hint: padding=1 keeps the size through the 3x3 conv; nn.MaxPool2d(2) halves it")
        if (y < 0).any():
            return verdict(False, "", "the output has negative values: put nn.ReLU() after the batch norm")
        y.sum().backward()
        if next(m for m in block.modules() if isinstance(m, nn.Conv2d)).weight.grad is None:
            return verdict(False, "", "no gradient reached the convolution's weights; do not detach or freeze them")
    return verdict(True, "your block keeps c_out channels, halves height and width, and trains: conv, BN, ReLU, "
                   "pool", "")


def check_pool_and_normalise(embed_maps: Callable[[torch.Tensor], torch.Tensor]) -> bool:
    """02, exercise 2: ``embed_maps(maps)`` turns feature maps (N, C, H, W) into unit vectors (N, C).

    Global average pooling over height and width, then L2 normalisation. An all-zero map (ReLU can switch every
    unit off) must give a zero vector, not NaN: NaN embeddings break every search.
    """
    generator = torch.Generator().manual_seed(0)
    scales = torch.tensor([1.0, 10.0, 0.1, 3.0]).view(4, 1, 1, 1)  # very different lengths before normalising
    maps = torch.relu(torch.randn(4, 6, 5, 3, generator=generator)) * scales
    maps[3] = 0  # a photo that switched every unit off
    want = torch.nn.functional.normalize(maps.mean(dim=(2, 3)), dim=1)
    ok, got = attempt(embed_maps, maps.clone())
    if not ok:
        return verdict(False, "", got)
    if not isinstance(got, torch.Tensor) or tuple(got.shape) != (4, 6):
        shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
        return verdict(False, "", f"maps of shape (4, 6, 5, 3) should give (4, 6), got {shape}. Hint: average over "
                       "the two spatial dimensions, maps.mean(dim=(2, 3))")
    if not torch.isfinite(got).all():
        return verdict(False, "", "your vectors contain NaN or inf: an all-zero map divided by its zero norm. Clamp "
                       "the norm (x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)) or use F.normalize")
    maxed = torch.nn.functional.normalize(maps.amax(dim=(2, 3)), dim=1)
    if torch.allclose(got, maxed, atol=1e-5) and not torch.allclose(got, want, atol=1e-5):
        return verdict(False, "", "that is global MAX pooling; this exercise asks for the average (mean)")
    if not torch.allclose(got, want, atol=1e-5):
        norms = got.norm(dim=1)[:3].tolist()
        return verdict(False, "", f"the vectors differ from the reference; the lengths of your first three are "
                       f"{[round(n, 3) for n in norms]} (should be 1). Pool with the mean, then divide each row by "
                       "its L2 norm")
    return verdict(True, "average pooling, then unit length; the all-zero map stays a finite (zero) vector", "")


# --- 03 text encoder ---
import torch  # noqa: E402  (this section's imports; sections are appended independently)
import torch.nn.functional as F  # noqa: E402


def _tensor_problem(got: Any, shape: tuple[int, ...], hint: str) -> str | None:
    """Why ``got`` is not a finite tensor of ``shape`` (None if it is one)."""
    if not isinstance(got, torch.Tensor) or tuple(got.shape) != shape:
        found = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
        return f"expected a tensor of shape {shape}, got {found}. Hint: {hint}"
    if not torch.isfinite(got).all():
        return "your result contains NaN or inf; clamp the denominator or avoid dividing by zero"
    return None


def check_masked_mean(masked_mean: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> bool:
    """03, exercise 1: ``masked_mean(states, mask)`` averages token states (B, L, H) over the real tokens only.

    ``mask`` (B, L) is True on real tokens. The padding holds junk here (a plain mean would pick it up), one text
    fills the whole length and one is a single token long.
    """
    generator = torch.Generator().manual_seed(0)
    states = torch.randn(3, 5, 4, generator=generator)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], dtype=torch.bool)
    states[~mask] = 100.0  # junk on the padding: it must not count
    want = torch.stack([states[i, mask[i]].mean(dim=0) for i in range(3)])
    ok, got = attempt(masked_mean, states.clone(), mask.clone())
    if not ok:
        return verdict(False, "", got)
    problem = _tensor_problem(got, (3, 4), "average over dim=1, the token dimension")
    if problem:
        return verdict(False, "", problem)
    if torch.allclose(got, states.mean(dim=1)):
        return verdict(False, "", "that is the plain mean: the padding (value 100) was averaged in. Multiply the "
                       "states by mask.unsqueeze(-1) before summing")
    if torch.allclose(got, (states * mask.unsqueeze(-1)).sum(dim=1) / mask.shape[1]):
        return verdict(False, "", "the padding is zeroed, but you divided by the padded length; divide by the "
                       "number of real tokens, mask.sum(dim=1, keepdim=True)")
    if not torch.allclose(got, want, atol=1e-5):
        return verdict(False, "", "the result differs from the mean of the real tokens; compare one row by hand: "
                       "states[0, :3].mean(dim=0)")
    return verdict(True, "padding ignored, each text averaged over its own length", "")


def check_in_batch_info_nce(info_nce: Callable[[torch.Tensor, float], torch.Tensor]) -> bool:
    """03, exercise 2: ``info_nce(similarities, temperature)`` is the in-batch InfoNCE loss.

    ``similarities[i, j]`` is the cosine of query i and product j, and product i is query i's target: the loss is
    the mean over queries of the cross-entropy of row i (divided by the temperature) against column i.
    """
    generator = torch.Generator().manual_seed(0)
    similarities = torch.rand(5, 5, generator=generator) * 2 - 1
    for temperature in (0.1, 0.5):
        want = F.cross_entropy(similarities / temperature, torch.arange(5))
        ok, got = attempt(info_nce, similarities.clone(), temperature)
        if not ok:
            return verdict(False, "", got)
        problem = _tensor_problem(got, (), "average the per-query losses into one number")
        if problem:
            return verdict(False, "", problem)
        if torch.isclose(got, F.cross_entropy(similarities, torch.arange(5))):
            return verdict(False, "", "the temperature is missing: divide the similarities by it before the softmax")
        if torch.isclose(got, F.cross_entropy(similarities.T / temperature, torch.arange(5))):
            return verdict(False, "", "you took the softmax over each column (products); each query's row must sum "
                           "to 1: the query chooses among the products")
        if torch.isclose(got, 5 * want):
            return verdict(False, "", "that is the sum over queries; take the mean so the loss does not grow with "
                           "the batch size")
        if not torch.isclose(got, want, atol=1e-5):
            return verdict(False, "", f"for temperature {temperature} expected {want.item():.4f}, got "
                           f"{got.item():.4f}. Hint: F.cross_entropy(similarities / temperature, "
                           "torch.arange(len(similarities)))")
    return verdict(True, "each query picks its own product among the batch's products, sharpened by the "
                   "temperature", "")
