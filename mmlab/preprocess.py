"""Data preparation, one modality at a time: cleaning (drop what is broken, duplicated or fake) and
standardisation (bring every input to one form and scale). Notebook 01 walks through each step.

Text      ``normalize_text``: bytes decoded as UTF-8 -> Unicode NFKC (full-width to half-width) -> case folding
          -> punctuation to spaces (hyphens and apostrophes inside words, decimal points inside numbers kept)
          -> quantities in one spelling ("1 公斤", "1KG" -> "1 kg"; see ``UNITS``) -> a space where Chinese
          meets Latin letters or digits -> single spaces. ``tokens`` splits the result for baselines: Latin
          words at spaces, every Chinese character on its own.
Images    ``load_image`` (clear errors for missing or corrupt files) -> ``image_problems`` (corrupt, blank,
          wrong mode or size) -> ``find_near_duplicates`` (perceptual hash) -> ``resize`` (pad to a white
          square, then scale) -> ``channel_stats`` on the training split -> ``standardise`` (float32 CHW).
Audio     ``load_audio`` (a file -> mono -> 16 kHz) or ``prepare_audio`` (an array): ``to_mono`` ->
          ``resample`` -> ``trim_silence`` -> ``normalize_loudness``; ``check_duration`` reports clips that
          are too short or too long.
Reviews   ``clean_reviews``: empty texts, spam (``spam_signals``), duplicates of an earlier review of the
          same SKU.
Behaviour ``clean_events``: repeated rows, events of unknown users, bots (``user_activity``), searches
          whose results were never logged.

Cleaning never drops a row silently: every removed row comes back with its ``reason`` (and a ``detail``),
and ``cleaning_report`` counts them.
"""

from __future__ import annotations

import numbers
import re
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

import imagehash
import librosa
import numpy as np
import pandas as pd
import soundfile as sf
from PIL import Image, UnidentifiedImageError

from mmlab.data.speech import SAMPLE_RATE
from mmlab.waves import check_wave

# ---------------------------------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------------------------------

# Scripts written without spaces between words: Han characters (incl. 々 〆 〇) and Japanese kana.
CJK = "\u3005-\u3007\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_CJK_CHAR = re.compile(f"[{CJK}]")
_LATIN_OR_DIGIT = f"[^\\W_{CJK}]"  # a letter or digit of a space-separated script
_SCRIPT_BOUNDARY = re.compile(f"(?<=[{CJK}])(?={_LATIN_OR_DIGIT})|(?<={_LATIN_OR_DIGIT})(?=[{CJK}])")
_TOKEN = re.compile(f"[{CJK}]|[^\\s{CJK}]+")
_THOUSANDS_COMMA = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")  # 1,000,000 -> 1000000
_JOINER_VARIANTS = str.maketrans({"\u2010": "-", "\u2011": "-", "\u2019": "'", "\u02bc": "'"})

# Unit spellings (after case folding) -> the one spelling we keep. Units are rewritten only right after a
# number ("1kg", "1 KG", "1公斤" -> "1 kg") and only the spelling changes, never the value ("1000 g" stays).
UNITS = {
    "mg": ("mg", "milligram", "milligrams", "毫克"),
    "g": ("g", "gram", "grams", "克"),
    "kg": ("kg", "kgs", "kilo", "kilos", "kilogram", "kilograms", "公斤", "千克"),
    "ml": ("ml", "millilitre", "millilitres", "milliliter", "milliliters", "毫升"),
    "l": ("l", "litre", "litres", "liter", "liters", "升"),
    "mm": ("mm", "millimetre", "millimetres", "millimeter", "millimeters", "毫米"),
    "cm": ("cm", "centimetre", "centimetres", "centimeter", "centimeters", "厘米"),
    "m": ("m", "metre", "metres", "meter", "meters", "米"),
    "oz": ("oz", "ounce", "ounces"),
    "lb": ("lb", "lbs"),
    "gb": ("gb", "gigabyte", "gigabytes"),
    "mah": ("mah",),
}
_CANONICAL_UNIT = {spelling: unit for unit, spellings in UNITS.items() for spelling in spellings}
_QUANTITY = re.compile(
    f"(?<!{_LATIN_OR_DIGIT})(?<!\\.)(\\d+(?:\\.\\d+)?) ?"  # a number, not glued to a word or another number
    f"({'|'.join(sorted(map(re.escape, _CANONICAL_UNIT), key=len, reverse=True))})"  # longest spelling first
    f"(?!{_LATIN_OR_DIGIT})"  # and the unit is not the start of a longer word ("5 great")
)


def normalize_text(text: str | bytes) -> str:
    """One canonical form of a title, query or review (the steps are in the module docstring).

    >>> normalize_text("ＲＥＤ　Ｔ－ｓｈｉｒｔ，1KG！")
    'red t-shirt 1 kg'
    >>> normalize_text("红色T恤 330毫升")
    '红色 t 恤 330 ml'

    Chinese: a space is never put between two Chinese characters, and always put where a Chinese character
    meets a Latin letter or digit, so "T恤" becomes "t 恤" too. One rule with no exceptions keeps the result
    predictable and lets any tokeniser split Chinese per character. Also: thousands separators go
    ("1,000" -> "1000"); symbols such as % $ & become spaces. Idempotent: normalising twice changes nothing.
    Text made only of punctuation becomes "" (blank text raises).
    """
    text = _fold(_as_text(text))
    text = _THOUSANDS_COMMA.sub("", text)
    text = _punctuation_to_spaces(text)
    text = _QUANTITY.sub(lambda m: f"{m[1]} {_CANONICAL_UNIT[m[2]]}", text)
    text = _SCRIPT_BOUNDARY.sub(" ", text)
    return " ".join(text.split())


def tokens(text: str | bytes) -> list[str]:
    """The normalised text split for simple baselines: Latin words at spaces, each Chinese character alone.

    >>> tokens("红色T恤 Cotton")
    ['红', '色', 't', '恤', 'cotton']
    """
    return _TOKEN.findall(normalize_text(text))


def _as_text(text: object) -> str:
    """``text`` as a non-blank str (bytes are decoded as UTF-8), or a clear error."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ValueError(
                f"text is not valid UTF-8: byte 0x{error.object[error.start]:02x} at offset {error.start} cannot "
                "be decoded; decode it with its real encoding (e.g. data.decode('gbk')) or re-encode the source "
                "as UTF-8"
            ) from None
    if not isinstance(text, str):
        raise TypeError(f"text must be str or UTF-8 bytes, got {type(text).__name__}")
    if not text.strip():
        raise ValueError(f"text is empty or only whitespace ({text!r}); drop it before normalising")
    return text


def _fold(text: str) -> str:
    """NFKC, case folding, NFKC again (folding can leave a string that NFKC would still change)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def _punctuation_to_spaces(text: str) -> str:
    """Punctuation, symbols and control characters become spaces, invisible format characters vanish;
    kept: ``-`` between letters or digits, ``'`` between letters, ``.`` between digits."""
    text = text.translate(_JOINER_VARIANTS)
    out = []
    for i, char in enumerate(text):
        kind = unicodedata.category(char)
        if kind == "Cf":  # zero-width space, soft hyphen, byte-order mark
            continue
        if kind[0] in "PS" or kind == "Cc":
            out.append(char if _is_joiner(text, i) else " ")
        else:
            out.append(char)
    return "".join(out)


def _is_joiner(text: str, i: int) -> bool:
    before, after = text[i - 1 : i], text[i + 1 : i + 2]
    if text[i] == "-":
        return _is_latin_word_char(before) and _is_latin_word_char(after)
    if text[i] == "'":
        return _is_latin_word_char(before) and _is_latin_word_char(after) and (before + after).isalpha()
    return text[i] == "." and before.isdigit() and after.isdigit()


def _is_latin_word_char(char: str) -> bool:
    return char.isalnum() and not _CJK_CHAR.match(char)


# ---------------------------------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------------------------------

BLANK_STD = 5.0  # grey-level std (0-255) below which an image counts as blank; catalog photos have >= 14


def load_image(path: str | Path) -> Image.Image:
    """Open an image file and decode it fully, so a corrupt file fails here and not later."""
    path = _as_path(path, "path")
    if not path.is_file():
        raise FileNotFoundError(f"image file not found: {path}; check the path")
    try:
        with Image.open(path) as image:
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ValueError(
            f"cannot read image file {path}: it is corrupt or not an image ({error}); re-export it as PNG or JPEG, "
            "or remove it"
        ) from error
    return image


def to_rgb(image: Image.Image) -> Image.Image:
    """The image in RGB; transparent parts become white (the catalog's background)."""
    _check_image(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        white = Image.new("RGBA", image.size, "white")
        return Image.alpha_composite(white, image.convert("RGBA")).convert("RGB")
    return image.convert("RGB")


def image_problems(
    image: Image.Image | str | Path, size: tuple[int, int] | None = None, mode: str | None = "RGB",
    min_std: float = BLANK_STD,
) -> list[str]:
    """What is wrong with an image (or image file): unreadable, wrong mode, wrong size, blank. [] if nothing."""
    if isinstance(image, (str, Path)):
        try:
            image = load_image(image)
        except (FileNotFoundError, ValueError) as error:
            return [f"unreadable: {error}"]
    _check_image(image)
    problems = []
    if mode is not None and image.mode != mode:
        problems.append(f"mode {image.mode}, expected {mode}: convert it (to_rgb for RGB)")
    if size is not None and image.size != tuple(size):
        problems.append(f"size {image.size[0]}x{image.size[1]}, expected {size[0]}x{size[1]}: use resize")
    grey_std = float(np.asarray(to_rgb(image).convert("L"), dtype=np.float64).std())
    if grey_std < min_std:
        problems.append(f"blank: grey-level std {grey_std:.1f} < {min_std} (a near-constant image)")
    return problems


def perceptual_hash(image: Image.Image) -> imagehash.ImageHash:
    """64-bit pHash: the signs of the lowest 8x8 frequencies (DCT) of a 32x32 grey copy.

    ``hash_a - hash_b`` is the Hamming distance (0-64). JPEG, mild blur and resizing barely change it (0-2 bits
    on the catalog's 64 px photos), but shifts do: one pixel moves it ~8 bits there. It sees brightness only,
    so two colours of one product can hash alike.
    """
    return imagehash.phash(to_rgb(image))


def find_near_duplicates(
    images: dict[str, Image.Image] | Sequence[Image.Image], max_distance: int = 4
) -> list[tuple[str | int, str | int, int]]:
    """Pairs ``(id_a, id_b, distance)`` whose perceptual hashes differ in at most ``max_distance`` bits.

    Ids are the dict keys (or list positions); distance 0 means the same hash (exact duplicates, and more).
    Pairs come closest first. Every pair is compared: fine for thousands of images, not millions.
    """
    _check_number(max_distance, "max_distance (bits)", 0, 64, whole=True)
    ids = list(images) if isinstance(images, dict) else list(range(len(images)))
    pictures = list(images.values()) if isinstance(images, dict) else list(images)
    for name, picture in zip(ids, pictures):
        _check_image(picture, f"images[{name!r}]")
    if not pictures:
        return []
    bits = np.stack([perceptual_hash(picture).hash.ravel() for picture in pictures]).astype(np.float32)
    ones = bits.sum(axis=1)
    distance = np.rint(ones[:, None] + ones[None, :] - 2 * bits @ bits.T).astype(int)  # |a xor b| = |a|+|b|-2a.b
    first, second = np.triu_indices(len(pictures), k=1)
    close = distance[first, second] <= max_distance
    pairs = [(ids[i], ids[j], int(distance[i, j])) for i, j in zip(first[close], second[close])]
    return sorted(pairs, key=lambda pair: pair[2])


def resize(image: Image.Image, size: int) -> Image.Image:
    """Pad to a square on white (the aspect ratio is kept, nothing is cropped), then scale to size x size."""
    _check_number(size, "size (pixels)", 1, whole=True)
    image = to_rgb(image)
    side = max(image.size)
    square = Image.new("RGB", (side, side), "white")
    square.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
    return square.resize((size, size), Image.Resampling.BICUBIC)


def channel_stats(images: Iterable[Image.Image | np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (R, G, B) mean and std of the pixels, on a 0-1 scale, pooled over all images.

    Compute them on the training split only: they are fitted parameters of the pipeline, like a model's
    weights. Taking them from validation or test images lets those images shape training (leakage), and at
    serving time there is no test set to measure anyway.
    """
    total, total_squares, count = np.zeros(3), np.zeros(3), 0
    for index, image in enumerate(images):
        pixels = _as_unit_rgb(image, f"images[{index}]").reshape(-1, 3)
        total += pixels.sum(axis=0)
        total_squares += (pixels**2).sum(axis=0)
        count += len(pixels)
    if count == 0:
        raise ValueError("images is empty: pass the training images to measure")
    mean = total / count
    return mean, np.sqrt(np.maximum(total_squares / count - mean**2, 0.0))


def standardise(image: Image.Image | np.ndarray, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """``(pixels - mean) / std`` per channel, as float32 in channel-first (3, H, W) layout, as PyTorch expects."""
    mean, std = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)
    if mean.shape != (3,) or std.shape != (3,):
        raise ValueError(f"mean and std need one value per RGB channel (3 each), got shapes {mean.shape}, {std.shape}")
    if not (std > 0).all():
        raise ValueError(f"std must be positive in every channel, got {std}; a zero std means a constant channel")
    pixels = _as_unit_rgb(image, "image")
    return ((pixels - mean) / std).transpose(2, 0, 1).astype(np.float32)


def _as_unit_rgb(image: Image.Image | np.ndarray, name: str) -> np.ndarray:
    """An (H, W, 3) float64 array in [0, 1] from a PIL image, a uint8 array or a float array in [0, 1]."""
    if isinstance(image, Image.Image):
        return np.asarray(to_rgb(image), dtype=np.float64) / 255
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{name} must be a PIL image or a numpy array, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"{name} must have shape (H, W, 3) (channels last, RGB), got {image.shape}")
    if image.dtype == np.uint8:
        return image / 255
    if not np.issubdtype(image.dtype, np.floating):
        raise TypeError(f"{name} must be uint8 (0-255) or float (0-1), got dtype {image.dtype}; convert 0-255 "
                        f"pixels with {name}.astype(np.uint8)")
    if not np.isfinite(image).all() or image.min() < 0 or image.max() > 1:
        raise ValueError(f"{name} is a float array outside [0, 1] (or with NaN); divide 0-255 pixels by 255 first")
    return image.astype(np.float64)


def _check_image(image: object, name: str = "image") -> None:
    if not isinstance(image, Image.Image):
        raise TypeError(f"{name} must be a PIL image, got {type(image).__name__}; open files with load_image(path)")


def _check_number(value: object, name: str, low: float, high: float = np.inf, whole: bool = False) -> None:
    """Raise a clear error unless ``value`` is a (whole) number from ``low`` to ``high``."""
    kind = "a whole number" if whole else "a number"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral if whole else numbers.Real):
        raise TypeError(f"{name} must be {kind}, got {value!r} ({type(value).__name__})")
    if not low <= value <= high:
        allowed = f"at least {low}" if high == np.inf else f"from {low} to {high}"
        raise ValueError(f"{name} must be {allowed}, got {value!r}")


def _as_path(path: object, name: str) -> Path:
    if not isinstance(path, (str, Path)):
        raise TypeError(f"{name} must be a str or pathlib.Path, got {type(path).__name__}")
    return Path(path)


# ---------------------------------------------------------------------------------------------------
# Audio
# ---------------------------------------------------------------------------------------------------

MAX_CHANNELS = 8  # more "channels" than this means the array is probably (channels, samples)
SILENT_RMS = 1e-6  # RMS below this (-120 dBFS, under 16-bit resolution) counts as silence


def load_audio(path: str | Path, target_sr: int = SAMPLE_RATE) -> np.ndarray:
    """Read an audio file (WAV, FLAC, OGG) as a mono float32 waveform at ``target_sr`` Hz."""
    path = _as_path(path, "path")
    if not path.is_file():
        raise FileNotFoundError(f"audio file not found: {path}; check the path")
    if path.stat().st_size == 0:
        raise ValueError(f"audio file {path} is empty (0 bytes); re-record it or remove it")
    try:
        wave, sr = sf.read(path, dtype="float32", always_2d=True)
    except sf.SoundFileError as error:
        raise ValueError(f"cannot read audio file {path} ({error}); is it a valid WAV/FLAC/OGG file?") from error
    if len(wave) == 0:
        raise ValueError(f"audio file {path} has no samples (zero length); re-record it or remove it")
    return resample(to_mono(wave), sr, target_sr)


def to_mono(wave: np.ndarray) -> np.ndarray:
    """Average the channels of a (samples, channels) array (soundfile's layout); a 1-D wave is kept."""
    wave = np.asarray(wave)
    if wave.ndim not in (1, 2):
        raise ValueError(f"wave must be 1-D (samples,) or 2-D (samples, channels), got shape {wave.shape}")
    if wave.ndim == 2 and wave.shape[1] > MAX_CHANNELS:
        raise ValueError(f"wave has shape {wave.shape}: {wave.shape[1]} channels? Pass (samples, channels); "
                         "librosa's (channels, samples) arrays need wave.T")
    if wave.ndim == 2:
        wave = wave.mean(axis=1)
    return check_wave(wave).astype(np.float32)


def resample(wave: np.ndarray, sr: int, target_sr: int = SAMPLE_RATE) -> np.ndarray:
    """Change the sample rate with a high-quality band-limited resampler (soxr); the duration is kept."""
    wave = check_wave(wave).astype(np.float32)
    _check_number(sr, "sr (samples per second)", 1, whole=True)
    _check_number(target_sr, "target_sr (samples per second)", 1, whole=True)
    if sr == target_sr:
        return wave.copy()
    return librosa.resample(wave, orig_sr=int(sr), target_sr=int(target_sr), res_type="soxr_hq").astype(np.float32)


def loudness_dbfs(wave: np.ndarray) -> float:
    """RMS level in dB relative to full scale (a full-scale square wave is 0 dBFS, a full-scale sine -3)."""
    rms = float(np.sqrt(np.mean(check_wave(wave).astype(np.float32).astype(np.float64) ** 2)))
    return 20 * np.log10(max(rms, 1e-12))


def normalize_loudness(wave: np.ndarray, target_dbfs: float = -20.0) -> np.ndarray:
    """Scale the wave so its RMS level is ``target_dbfs``. Peaks are not clipped: keep the target low."""
    wave = check_wave(wave).astype(np.float32)
    _check_number(target_dbfs, "target_dbfs", -100, 0)
    level = loudness_dbfs(wave)
    if level < 20 * np.log10(SILENT_RMS):
        raise ValueError("wave is silent (RMS below -120 dBFS), so it has no loudness to normalise; drop the clip")
    return (wave * 10 ** ((target_dbfs - level) / 20)).astype(np.float32)


def trim_silence(wave: np.ndarray, top_db: float = 30.0) -> np.ndarray:
    """Cut leading and trailing stretches quieter than ``top_db`` below the loudest 25 ms frame.

    Frames are 25 ms with a 10 ms hop at 16 kHz. Under loud background noise nothing is "silent", so
    little is trimmed: that is the honest answer, not a bug.
    """
    wave = check_wave(wave).astype(np.float32)
    _check_number(top_db, "top_db", 1, 120)
    if np.sqrt(np.mean(wave.astype(np.float64) ** 2)) < SILENT_RMS:
        raise ValueError("wave is silent throughout: there is nothing to keep; drop the clip")
    trimmed, _ = librosa.effects.trim(wave, top_db=top_db, frame_length=400, hop_length=160)
    return trimmed


def check_duration(wave: np.ndarray, sr: int = SAMPLE_RATE, min_s: float = 0.2, max_s: float = 10.0) -> list[str]:
    """Problems with the clip's length (too short to hold a word, too long for a query); [] if none."""
    wave = check_wave(wave, min_samples=0).astype(np.float32)
    _check_number(sr, "sr (samples per second)", 1, whole=True)
    _check_number(min_s, "min_s", 0)
    _check_number(max_s, "max_s", 0)
    if not min_s < max_s:
        raise ValueError(f"min_s must be below max_s, got min_s={min_s}, max_s={max_s}")
    seconds = len(wave) / sr
    if seconds < min_s:
        return [f"too short: {seconds:.2f} s < {min_s} s"]
    if seconds > max_s:
        return [f"too long: {seconds:.2f} s > {max_s} s"]
    return []


def prepare_audio(wave: np.ndarray, sr: int) -> np.ndarray:
    """The standard voice-query pipeline: mono -> 16 kHz -> trim silence -> -20 dBFS."""
    return normalize_loudness(trim_silence(resample(to_mono(wave), sr, SAMPLE_RATE)))


# ---------------------------------------------------------------------------------------------------
# Reviews
# ---------------------------------------------------------------------------------------------------

# Spam signals, matched on the case-folded text. Each one alone marks a review as spam.
SPAM_SIGNALS = {
    "link": re.compile(r"https?://|www\.|\b[a-z0-9-]+\.(?:com|net|org|info|biz|io|ly|example)\b"),
    "sales pitch": re.compile(r"\b(?:buy now|order now|click here|free gift|limited offer|discount code|"
                              r"best price guaranteed)\b|\d+ ?% off\b"),
    "stretched letters": re.compile(r"([^\W\d_])\1{3,}"),  # one letter 4+ times: "sooooo"
    "repetition": re.compile(r"\b(\w+(?:\W+\w+){0,2})(?:\W+\1\b){3,}"),  # a 1-3 word phrase 4+ times in a row
}
# Deliberately not signals, because real reviews do them too (counts among the full catalog's 11,255 clean
# reviews): shouting, mostly capitals ("A PIECE OF JUNK ...", 79 reviews), any character 4+ times ("!!!!",
# "....", 443) and a word three times in a row ("beep beep beep", 28).


def spam_signals(text: str) -> list[str]:
    """The names of the ``SPAM_SIGNALS`` that ``text`` shows ([] for an ordinary review)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    folded = text.casefold()
    return [name for name, pattern in SPAM_SIGNALS.items() if pattern.search(folded)]


def clean_reviews(reviews: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split reviews into ``(kept, removed)``; ``removed`` adds ``reason`` and ``detail``.

    Rules, first match wins: "empty" (no words after normalising), "spam" (any of ``SPAM_SIGNALS``; the
    detail names them), "duplicate" (same SKU and same normalised text as an earlier review, which is kept).
    Ground-truth columns such as ``noise`` are carried along untouched, never read.
    """
    _check_columns(reviews, "reviews", ("review_id", "sku_id", "text"))
    texts = reviews["text"].map(lambda text: text if isinstance(text, str) else "")
    normalised = texts.map(lambda text: normalize_text(text) if text.strip() else "")
    reason = pd.Series("", index=reviews.index)
    detail = pd.Series("", index=reviews.index)
    reason[normalised == ""] = "empty"
    signals = texts.map(spam_signals)
    spam = (reason == "") & signals.map(bool)
    reason[spam], detail[spam] = "spam", signals[spam].map(", ".join)
    candidates = reason == ""
    first_id = reviews["review_id"].where(candidates).groupby([reviews["sku_id"], normalised]).transform("first")
    duplicate = candidates & (first_id != reviews["review_id"])
    reason[duplicate], detail[duplicate] = "duplicate", "copy of " + first_id[duplicate]
    return _split(reviews, reason, detail)


# ---------------------------------------------------------------------------------------------------
# Behaviour
# ---------------------------------------------------------------------------------------------------

BOT_CLICKS_PER_MINUTE = 30  # nobody reads and clicks 30 results within one minute (shoppers here peak at 6)


def user_activity(events: pd.DataFrame) -> pd.DataFrame:
    """Per user: sessions, searches, clicks, purchases and ``peak_clicks_per_minute`` (most clicks in any
    60-second window), the evidence the bot rule looks at."""
    _check_columns(events, "events", ("session_id", "user_id", "t", "event"))
    if not pd.api.types.is_numeric_dtype(events["t"]):
        raise TypeError(f"events.t must hold seconds as numbers, got dtype {events['t'].dtype}; convert timestamps "
                        "first, e.g. (time - time.min()).dt.total_seconds()")
    counts = events.groupby("user_id").agg(sessions=("session_id", "nunique"))
    for column, kind in (("searches", "search"), ("clicks", "click"), ("purchases", "purchase")):
        of_kind = events[events["event"] == kind]
        counts[column] = of_kind.groupby("user_id").size().reindex(counts.index, fill_value=0)
    clicks = events[events["event"] == "click"]
    peak = clicks.groupby("user_id")["t"].agg(_most_in_a_minute)
    counts["peak_clicks_per_minute"] = peak.reindex(counts.index, fill_value=0).astype(int)
    return counts.reset_index()


def clean_events(
    events: pd.DataFrame, users: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Split behaviour events into ``(kept, removed, report)``; ``removed`` adds ``reason`` and ``detail``.

    Rules, in order, each on the rows the earlier ones kept:
    "repeated row" (an exact copy of an earlier row: a logging glitch), "unknown user" (not in ``users``),
    "bot" (all events of a user with ``BOT_CLICKS_PER_MINUTE`` or more clicks within a minute), "no results
    logged" (a session with searches but no impressions: its results page was never logged, so it says
    nothing about what shoppers saw). ``report`` is ``cleaning_report(removed)``. Ground-truth columns
    such as ``users.is_bot`` are never read.
    """
    _check_columns(events, "events", ("session_id", "user_id", "t", "event"))
    _check_columns(users, "users", ("user_id",))
    reason = pd.Series("", index=events.index)
    detail = pd.Series("", index=events.index)
    reason[events.duplicated(keep="first")] = "repeated row"
    unknown = (reason == "") & ~events["user_id"].isin(users["user_id"])
    reason[unknown], detail[unknown] = "unknown user", "user_id not in users"

    activity = user_activity(events[reason == ""]).set_index("user_id")["peak_clicks_per_minute"]
    peak = events["user_id"].map(activity)
    bot = (reason == "") & (peak >= BOT_CLICKS_PER_MINUTE)
    reason[bot], detail[bot] = "bot", peak[bot].map(lambda n: f"{n:.0f} clicks within a minute")

    remaining = events[reason == ""]
    kinds = remaining.groupby("session_id")["event"].agg(set)
    blind = kinds[kinds.map(lambda seen: "search" in seen and "impression" not in seen)].index
    no_results = (reason == "") & events["session_id"].isin(blind)
    reason[no_results], detail[no_results] = "no results logged", "session has searches but no impressions"
    kept, removed = _split(events, reason, detail)
    return kept, removed, cleaning_report(removed)


def cleaning_report(removed: pd.DataFrame) -> pd.DataFrame:
    """How many rows each reason removed (and how many distinct sessions and users, where those columns exist)."""
    _check_columns(removed, "removed", ("reason",))
    ids = {"sessions": "session_id", "users": "user_id"}
    aggregations = {"rows": ("reason", "size")} | {
        name: (column, "nunique") for name, column in ids.items() if column in removed.columns}
    report = removed.groupby("reason").agg(**aggregations).reset_index()
    return report.sort_values(["rows", "reason"], ascending=[False, True], ignore_index=True)


def _most_in_a_minute(times: pd.Series) -> int:
    """The largest number of events inside any 60-second window."""
    t = np.sort(times.to_numpy())
    return int((np.searchsorted(t, t + 60, side="left") - np.arange(len(t))).max())


def _split(table: pd.DataFrame, reason: pd.Series, detail: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows with no reason are kept; the rest come back with their reason and detail."""
    removed = reason != ""
    return table[~removed], table[removed].assign(reason=reason[removed], detail=detail[removed])


def _check_columns(table: object, name: str, columns: Sequence[str]) -> None:
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, got {type(table).__name__}")
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise ValueError(f"{name} is missing column(s) {missing}; it has {list(table.columns)}")
