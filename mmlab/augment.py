"""Data augmentation for images, text and audio: new, plausible training examples made from old ones.

An augmentation changes what should not matter (the angle of a photo, a synonym, a noisy room) and keeps what
should (the product, its colour, the words of the query), so a model trained on the variants learns to ignore the
nuisance. Every function here is seeded: the same seed or ``np.random.Generator`` gives the same output.

Augment the TRAINING split only, and only after splitting:
- validation and test data stand for what shoppers really send; augmenting them measures the model on data nobody
  sends, and the score changes with the seed, so runs stop being comparable;
- augmenting before splitting puts near-copies of a test item into training: leakage, and a score that is too good.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Mapping

import librosa
import numpy as np
import pandas as pd
import torch
from PIL import Image
from torchvision.transforms import v2

from mmlab.data import queries, skus
from mmlab.data.images import COLOUR_ZH, SIZE
from mmlab.data.noise import MIN_SAMPLES, mix_noise
from mmlab.data.speech import SAMPLE_RATE
from mmlab.waves import check_wave

# ---------------------------------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------------------------------

# How far each preset moves a photo: rotation (degrees), smallest crop (share of the area), shift (share of the
# side), brightness/contrast/saturation jitter (+-share) and the largest blur sigma (pixels).
STRENGTHS = {
    "light": {"degrees": 10, "min_scale": 0.85, "shift": 0.05, "jitter": 0.1, "blur": 0.5},
    "medium": {"degrees": 20, "min_scale": 0.7, "shift": 0.1, "jitter": 0.2, "blur": 1.0},
    "strong": {"degrees": 35, "min_scale": 0.5, "shift": 0.15, "jitter": 0.35, "blur": 1.5},
}


def image_augmenter(strength: str = "medium", hue: float = 0.0, size: int = SIZE) -> v2.Compose:
    """A random photo transform: crop, rotate and shift, jitter brightness/contrast/saturation, maybe blur.

    ``hue`` is off (0) by default on purpose: in MiniMart the SKUs of a product type differ by a hue rotation of
    the same art, and colour decides relevance, so hue jitter would teach the model that a red t-shirt and its blue
    sibling look alike. Turn it on (up to 0.5) only to see that harm. Rotation and shift fill with white, the
    catalog's background, so the model cannot learn that black corners mean "augmented".
    """
    if strength not in STRENGTHS:
        raise ValueError(f"unknown strength {strength!r}; use one of {list(STRENGTHS)}")
    if not 0.0 <= hue <= 0.5:
        raise ValueError(f"hue must be in [0, 0.5] (a share of the colour wheel), got {hue!r}")
    s = STRENGTHS[strength]
    return v2.Compose([
        v2.RandomResizedCrop(size, scale=(s["min_scale"], 1.0), ratio=(0.8, 1.25)),
        v2.RandomAffine(degrees=s["degrees"], translate=(s["shift"], s["shift"]), fill=255,
                        interpolation=v2.InterpolationMode.BILINEAR),
        v2.ColorJitter(brightness=s["jitter"], contrast=s["jitter"], saturation=s["jitter"], hue=hue),
        v2.RandomApply([v2.GaussianBlur(kernel_size=5, sigma=(0.1, s["blur"]))], p=0.5),
    ])


def _check_int(name: str, value: object, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def augment_image(image: Image.Image, seed: int, strength: str = "medium", hue: float = 0.0) -> Image.Image:
    """One augmented copy of a photo (64x64 RGB), the same for the same seed.

    torchvision draws its random numbers from torch's global generator; we seed a private fork of it, so calling
    this leaves the global state (and so the rest of your training run) untouched.
    """
    if not isinstance(image, Image.Image):
        raise TypeError(f"image must be a PIL image, got {type(image).__name__}; open files with PIL.Image.open")
    transform = image_augmenter(strength, hue)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(_check_int("seed", seed))
        return transform(image.convert("RGB"))


def augmented_views(image: Image.Image, n: int, seed: int, strength: str = "medium",
                    hue: float = 0.0) -> list[Image.Image]:
    """``n`` different augmented copies of a photo (for a gallery), reproducible from one seed."""
    view_seeds = np.random.SeedSequence(_check_int("seed", seed)).generate_state(_check_int("n", n, 1))
    return [augment_image(image, int(s), strength, hue) for s in view_seeds]


# ---------------------------------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------------------------------

_HANZI = r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"  # CJK ideographs
_LATIN = r"[0-9A-Za-z\u00c0-\u024f]"  # digits and Latin letters, accented ones included
# A token is one Chinese character, or a whole Latin word or number (inner - ' . kept: t-shirt, men's, 1.5).
_TOKEN = re.compile(rf"{_HANZI}|{_LATIN}+(?:[-'’.]{_LATIN}+)*")


def _check_rng(rng: object) -> None:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy Generator, e.g. np.random.default_rng(0), got {type(rng).__name__}")


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
    _check_rng(rng)
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
    _check_rng(rng)
    kept = [token for token in tokens if rng.random() >= p]
    return kept or [tokens[rng.integers(len(tokens))]]


def random_swap(tokens: list[str], rng: np.random.Generator, n: int = 1) -> list[str]:
    """Swap two randomly chosen tokens, ``n`` times (EDA). The tokens stay the same, their order changes."""
    if not tokens:
        raise ValueError("tokens is empty; tokenize a non-empty text first")
    n = _check_int("n", n)
    _check_rng(rng)
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
    _check_rng(rng)
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


# ---------------------------------------------------------------------------------------------------
# Audio
# ---------------------------------------------------------------------------------------------------


def _check_sample_rate(sr: object) -> None:
    if sr != SAMPLE_RATE:
        raise ValueError(f"sample rate is {sr!r} Hz but mmlab audio is {SAMPLE_RATE} Hz; resample first, e.g. "
                         f"librosa.resample(wave, orig_sr={sr!r}, target_sr={SAMPLE_RATE})")


def _float_wave(wave: object) -> np.ndarray:
    """``wave`` checked (mono, float samples, finite, at least MIN_SAMPLES long) as float32."""
    return check_wave(wave, min_samples=MIN_SAMPLES, integers=False).astype(np.float32)


def add_noise(wave: np.ndarray, snr_db: float, rng: np.random.Generator, kind: str = "white",
              sr: int = SAMPLE_RATE) -> np.ndarray:
    """Background noise ("white", "pink", "babble", "hum") mixed in at exactly ``snr_db`` dB.

    Delegates to :func:`mmlab.data.noise.mix_noise`, which made the catalog's noisy voice queries.
    """
    _check_sample_rate(sr)  # the noise colours are defined in Hz at 16 kHz
    return mix_noise(_float_wave(wave), snr_db, rng, kind)


def time_stretch(wave: np.ndarray, rate: float, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Speak faster (``rate`` > 1) or slower (< 1) at the same pitch; the clip lasts 1 / ``rate`` as long."""
    _check_sample_rate(sr)
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0.25 <= rate <= 4.0:
        raise ValueError(f"rate must be a speed factor in [0.25, 4], e.g. 0.8 or 1.25, got {rate!r}")
    return librosa.effects.time_stretch(_float_wave(wave), rate=float(rate)).astype(np.float32)


def pitch_shift(wave: np.ndarray, n_steps: float, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Raise (or lower, if negative) the voice by ``n_steps`` semitones at the same speed and length."""
    _check_sample_rate(sr)
    if isinstance(n_steps, bool) or not isinstance(n_steps, numbers.Real) or not -24 <= n_steps <= 24:
        raise ValueError(f"n_steps must be semitones in [-24, 24] (12 = one octave), got {n_steps!r}")
    return librosa.effects.pitch_shift(_float_wave(wave), sr=sr, n_steps=float(n_steps)).astype(np.float32)


def _mask_bands(out: np.ndarray, axis: int, n_masks: int, width: int, fill: float,
                rng: np.random.Generator) -> None:
    """Set ``n_masks`` bands along ``axis`` of ``out`` to ``fill``, each 0 to ``width`` rows/columns wide."""
    size = out.shape[axis]
    if n_masks and width > size:
        raise ValueError(f"mask width {width} is larger than the spectrogram's {size} "
                         f"{'mel bands' if axis == 0 else 'frames'}; is spec (n_mels, frames)?")
    for _ in range(n_masks):
        w = int(rng.integers(width + 1))
        start = int(rng.integers(size - w + 1))
        band = (slice(start, start + w), slice(None)) if axis == 0 else (slice(None), slice(start, start + w))
        out[band] = fill


def spec_augment(spec: np.ndarray, rng: np.random.Generator, n_freq_masks: int = 2, freq_width: int = 8,
                 n_time_masks: int = 2, time_width: int = 10) -> np.ndarray:
    """SpecAugment (Park et al., 2019): hide random bands of mel channels and of time frames.

    Each mask is 0 to ``*_width`` bands wide and is filled with the spectrogram's mean. Not zero: in a log-mel
    spectrogram zero dB is the loudest value, so a zero mask would be a loud stripe, not a missing one (on
    mean-normalised features, as in the paper, the mean is zero anyway). Returns a masked copy of ``spec``.
    """
    array = np.asarray(spec)
    if array.ndim != 2 or not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"spec must be a 2-D float array (n_mels, frames), got shape {array.shape} and dtype "
                         f"{array.dtype}; for a batch, augment each spectrogram separately")
    _check_rng(rng)
    out = array.copy()
    fill = float(array.mean())
    _mask_bands(out, 0, _check_int("n_freq_masks", n_freq_masks), _check_int("freq_width", freq_width), fill, rng)
    _mask_bands(out, 1, _check_int("n_time_masks", n_time_masks), _check_int("time_width", time_width), fill, rng)
    return out
