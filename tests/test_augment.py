"""Tests for mmlab.augment: seeded image, text and audio augmentation that keeps what matters."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from mmlab import augment
from mmlab.data.noise import snr_db
from mmlab.data.speech import SAMPLE_RATE

SR = SAMPLE_RATE


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    """A red disc with a blue bar on white: asymmetric, so rotations and crops show."""
    pixels = np.full((64, 64, 3), 255, dtype=np.uint8)
    yy, xx = np.mgrid[:64, :64]
    pixels[(yy - 32) ** 2 + (xx - 28) ** 2 < 18**2] = (220, 30, 30)
    pixels[10:16, 40:60] = (20, 40, 200)
    return Image.fromarray(pixels, "RGB")


SKU = pd.Series({"name_en": "t-shirt", "name_zh": "T恤", "colour": "red", "colour_zh": "红色", "material": "cotton",
                 "material_zh": "纯棉", "brand": "Lumio", "brand_zh": "卢米奥", "size": "M", "size_zh": "M码",
                 "price": 19.5})


def tone(freq: float = 440.0, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_hz(wave: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(wave.size)))
    return float(np.fft.rfftfreq(wave.size, 1 / SR)[np.argmax(spectrum)])


# --- images ----------------------------------------------------------------------------------------


def test_image_augmentation_is_seeded_and_keeps_format(photo: Image.Image) -> None:
    a, b = augment.augment_image(photo, seed=3), augment.augment_image(photo, seed=3)
    c = augment.augment_image(photo, seed=4)
    assert a.size == (64, 64) and a.mode == "RGB"
    assert np.array_equal(np.asarray(a), np.asarray(b))
    assert not np.array_equal(np.asarray(a), np.asarray(c))
    assert not np.array_equal(np.asarray(a), np.asarray(photo))


def test_augment_image_leaves_global_torch_rng_alone(photo: Image.Image) -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    augment.augment_image(photo, seed=0, strength="strong")
    assert torch.equal(torch.rand(3), expected)


def test_augmented_views_are_reproducible_and_distinct(photo: Image.Image) -> None:
    views = augment.augmented_views(photo, n=4, seed=1)
    again = augment.augmented_views(photo, n=4, seed=1)
    arrays = [np.asarray(v) for v in views]
    assert all(np.array_equal(x, np.asarray(y)) for x, y in zip(arrays, again))
    assert len({x.tobytes() for x in arrays}) == 4


def test_hue_stays_unless_asked(photo: Image.Image) -> None:
    """Default jitter keeps the disc red; hue jitter may turn it any colour (the relevance attribute)."""
    def red_share(image: Image.Image) -> float:
        hsv = np.asarray(image.convert("HSV"), dtype=float)
        vivid = hsv[..., 1] > 100
        hue = hsv[..., 0][vivid] * 360 / 256
        return float(np.mean((hue < 20) | (hue > 340)))

    assert min(red_share(v) for v in augment.augmented_views(photo, 8, seed=0)) > 0.7
    assert min(red_share(v) for v in augment.augmented_views(photo, 8, seed=0, hue=0.5)) < 0.3


def test_image_bad_input() -> None:
    with pytest.raises(ValueError, match="strength"):
        augment.image_augmenter("extreme")
    with pytest.raises(TypeError, match="PIL image"):
        augment.augment_image(np.zeros((64, 64, 3)), seed=0)
    with pytest.raises(ValueError, match="seed"):
        augment.augment_image(Image.new("RGB", (64, 64)), seed=-1)


# --- text ------------------------------------------------------------------------------------------


def test_tokens_are_chinese_characters_and_whole_latin_words() -> None:
    assert augment.tokenize("卢米奥 红色T恤, t-shirt men's 1.5 kg！") == \
        ["卢", "米", "奥", "红", "色", "T", "恤", "t-shirt", "men's", "1.5", "kg"]
    assert augment.detokenize(["红", "色", "T", "恤", "red", "t-shirt", "M", "码"]) == "红色T恤red t-shirt M码"


def test_text_ops_are_seeded() -> None:
    tokens = augment.tokenize("lumio red cotton t-shirt size m 卢米奥红色纯棉T恤")
    for op in (lambda r: augment.random_deletion(tokens, r, 0.3), lambda r: augment.random_swap(tokens, r, 3),
               lambda r: augment.synonym_swap("red t-shirt", {"t-shirt": ["tee", "top"]}, r, 0.5),
               lambda r: augment.expand_sentence(SKU, r, "zh")):
        assert op(np.random.default_rng(7)) == op(np.random.default_rng(7))


def test_synonym_swap_only_uses_listed_synonyms() -> None:
    table = {"t-shirt": ["tee", "top"], "T恤": ["短袖"]}
    rng = np.random.default_rng(0)
    outputs = {augment.synonym_swap("Red T-Shirt and T恤, not t-shirts", table, rng, p=1.0) for _ in range(30)}
    allowed = {f"Red {en} and {zh}, not t-shirts" for en in ("tee", "top") for zh in ("短袖",)}
    assert outputs == allowed
    assert augment.synonym_swap("red t-shirt", table, rng, p=0.0) == "red t-shirt"


def test_synonym_table_from_catalog_types() -> None:
    types = pd.DataFrame({"type_id": [1, 2], "name_en": ["lemon", "trumpet"], "name_zh": ["柠檬", "小号"],
                          "keywords_en": ["citrus|fruit|sour|red", "brass|fruit|music"],
                          "keywords_zh": ["柑橘|水果", "乐器|水果"]})
    table = augment.synonym_table(types)
    # shared ("fruit"), colour ("red") and material ("brass") keywords go, and so does "小号", also a size
    assert table == {"lemon": ["citrus", "sour"], "trumpet": ["music"], "柠檬": ["柑橘"]}


def test_random_deletion_never_empties() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        assert len(augment.random_deletion(["red", "shoe", "鞋"], rng, p=1.0)) == 1
    assert augment.random_deletion(["a", "b"], rng, p=0.0) == ["a", "b"]


def test_random_swap_keeps_the_tokens() -> None:
    tokens = augment.tokenize("zenith organic lemon 500 g 天顶有机柠檬")
    swapped = augment.random_swap(tokens, np.random.default_rng(1), n=4)
    assert Counter(swapped) == Counter(tokens) and swapped != tokens


@pytest.mark.parametrize("lang,colour,name", [("en", "red", "t-shirt"), ("zh", "红色", "T恤")])
def test_expand_sentence_names_colour_and_product(lang: str, colour: str, name: str) -> None:
    rng = np.random.default_rng(0)
    sentences = {augment.expand_sentence(SKU, rng, lang) for _ in range(40)}
    assert len(sentences) == len(augment.EXPAND_EN if lang == "en" else augment.EXPAND_ZH)
    assert all(colour in s and name in s and ("Lumio" in s or "卢米奥" in s) for s in sentences)


def test_expand_sentence_without_colour_reads_well() -> None:
    lemon = SKU.copy()
    lemon[["name_en", "colour", "colour_zh", "material"]] = ["lemon", "", "", "organic"]
    sentences = {augment.expand_sentence(lemon, np.random.default_rng(s), "en") for s in range(20)}
    assert "an organic lemon by Lumio, size M" in sentences
    assert not any("  " in s for s in sentences)


def test_text_bad_input() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="empty"):
        augment.synonym_swap("  ", {"a": ["b"]}, rng)
    with pytest.raises(ValueError, match="empty"):
        augment.tokenize("")
    with pytest.raises(ValueError, match="no words"):
        augment.tokenize("!!! ……")
    with pytest.raises(ValueError, match="empty"):
        augment.random_deletion([], rng, 0.1)
    with pytest.raises(ValueError, match="probability"):
        augment.random_deletion(["a"], rng, 1.5)
    with pytest.raises(TypeError, match="Generator"):
        augment.random_swap(["a", "b"], 0, 1)
    with pytest.raises(ValueError, match="lang"):
        augment.expand_sentence(SKU, rng, "fr")
    with pytest.raises(ValueError, match="colour_zh"):
        augment.expand_sentence(SKU.drop("colour_zh"), rng, "zh")


# --- audio -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [0.8, 1.25])
def test_time_stretch_changes_duration(rate: float) -> None:
    wave = tone()
    stretched = augment.time_stretch(wave, rate)
    assert stretched.dtype == np.float32
    assert stretched.size / wave.size == pytest.approx(1 / rate, rel=0.02)
    assert peak_hz(stretched) == pytest.approx(440, abs=10)  # same pitch


def test_pitch_shift_keeps_length_and_moves_pitch() -> None:
    wave = tone(440)
    shifted = augment.pitch_shift(wave, 12)  # one octave up
    assert shifted.size == wave.size and shifted.dtype == np.float32
    assert peak_hz(shifted) == pytest.approx(880, abs=15)


@pytest.mark.parametrize("kind", ["white", "babble"])
def test_add_noise_hits_the_snr(kind: str) -> None:
    wave = tone()
    noisy = augment.add_noise(wave, 5.0, np.random.default_rng(0), kind)
    assert abs(snr_db(wave, noisy) - 5.0) < 0.5
    assert np.array_equal(noisy, augment.add_noise(wave, 5.0, np.random.default_rng(0), kind))


def test_spec_augment_masks_within_widths() -> None:
    spec = np.random.default_rng(0).normal(-40, 10, size=(64, 100)).astype(np.float32)
    for seed in range(20):
        out = augment.spec_augment(spec, np.random.default_rng(seed), n_freq_masks=2, freq_width=8,
                                   n_time_masks=2, time_width=10)
        assert out.shape == spec.shape and out.dtype == spec.dtype
        changed = out != spec
        rows, cols = changed.all(axis=1), changed.all(axis=0)
        assert np.array_equal(changed, rows[:, None] | cols[None, :])  # only whole bands and whole frames
        assert rows.sum() <= 2 * 8 and cols.sum() <= 2 * 10
        assert np.allclose(out[changed], spec.mean())
    assert np.array_equal(spec, augment.spec_augment(spec, np.random.default_rng(0), 0, 8, 0, 10))


def test_spec_augment_single_mask_is_one_band() -> None:
    spec = np.random.default_rng(1).random((40, 50))
    widths = []
    for seed in range(30):
        out = augment.spec_augment(spec, np.random.default_rng(seed), n_freq_masks=1, freq_width=6, n_time_masks=0)
        masked = np.flatnonzero((out != spec).all(axis=1))
        assert masked.size <= 6 and np.all(np.diff(masked) == 1)
        widths.append(masked.size)
    assert max(widths) == 6  # the full width is reachable


def test_audio_bad_input() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="16000 Hz"):
        augment.pitch_shift(tone(), 2, sr=8000)
    with pytest.raises(ValueError, match="resample"):
        augment.add_noise(tone(), 10, rng, sr=44100)
    with pytest.raises(ValueError, match="1-D mono"):
        augment.time_stretch(np.stack([tone(), tone()], axis=1), 1.1)
    with pytest.raises(ValueError, match="rate"):
        augment.time_stretch(tone(), 0)
    with pytest.raises(ValueError, match="n_mels, frames"):
        augment.spec_augment(np.zeros((2, 64, 100), np.float32), rng)
    with pytest.raises(ValueError, match="n_mels, frames"):
        augment.spec_augment(np.zeros((64, 100), np.int16), rng)
    with pytest.raises(ValueError, match="larger than"):
        augment.spec_augment(np.zeros((100, 5), np.float32), rng, time_width=10)
