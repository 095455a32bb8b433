"""Cleaning and standardisation per modality: examples, invariants, the catalog's injected dirt, bad input."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from PIL import Image, ImageFilter

from mmlab.config import DATA_DIR
from mmlab.data.catalog import load_catalog
from mmlab.data.reviews import SPAM_TEMPLATES, SPAM_URLS
from mmlab.preprocess import (
    channel_stats,
    check_duration,
    clean_events,
    clean_reviews,
    cleaning_report,
    find_near_duplicates,
    image_problems,
    load_audio,
    load_image,
    loudness_dbfs,
    normalize_loudness,
    normalize_text,
    perceptual_hash,
    prepare_audio,
    resample,
    resize,
    spam_signals,
    standardise,
    to_mono,
    tokens,
    trim_silence,
    user_activity,
)

SR = 16_000


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    return load_catalog(fast=True, cache=tmp_path_factory.mktemp("cache"), verbose=False)


def tone(seconds: float, sr: int = SR, amplitude: float = 0.5, hz: float = 440.0) -> np.ndarray:
    t = np.arange(round(seconds * sr)) / sr
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def precision_recall(flagged: pd.Series, truth: pd.Series) -> tuple[float, float]:
    hits = (flagged & truth).sum()
    return hits / max(flagged.sum(), 1), hits / max(truth.sum(), 1)


# --- text ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＲＥＤ　Ｔ－ｓｈｉｒｔ", "red t-shirt"),  # full-width letters, ideographic space, full-width hyphen
        ("红色T恤", "红色 t 恤"),  # a space where Chinese meets Latin, none between Chinese characters
        ("天顶 有机柠檬 500克", "天顶 有机柠檬 500 g"),
        ("规格500克。标签：柑橘、水果！", "规格 500 g 标签 柑橘 水果"),  # Chinese punctuation
        ("1kg", "1 kg"),
        ("1 KG", "1 kg"),
        ("1 公斤", "1 kg"),
        ("1千克装", "1 kg 装"),
        ("500ML", "500 ml"),
        ("330毫升", "330 ml"),
        ("１．５Ｌ", "1.5 l"),
        ("5 great 2 in 1", "5 great 2 in 1"),  # a unit spelling inside a word is left alone
        ("Zenith Organic Lemon (500 g)", "zenith organic lemon 500 g"),
        ("I don't like it — it's 1,000 times worse!!! 3.5 stars...", "i don't like it it's 1000 times worse 3.5 stars"),
        ("e-mail, T-Shirt; $19.99", "e-mail t-shirt 19.99"),
        ("STRASSE Straße", "strasse strasse"),  # case folding, not just lower()
        ("sh\u200birt", "shirt"),  # invisible characters vanish
        ("！！！", ""),
    ],
)
def test_normalize_text_examples(raw, expected):
    assert normalize_text(raw) == expected


def test_normalize_text_is_idempotent(catalog):
    texts = ["ＲＥＤ　Ｔ－ｓｈｉｒｔ，1KG！", "红色T恤 330毫升 (x2)", "v1.5kg -- a-b- 'quoted' it’s", "价格：1,299元【包邮】"]
    texts += catalog.skus.title_zh.tolist() + catalog.skus.description_en.tolist()
    texts += catalog.queries.text[catalog.queries.modality == "text"].tolist()
    for text in texts:
        once = normalize_text(text)
        assert normalize_text(once) == once, text


def test_normalize_text_decodes_utf8_bytes():
    assert normalize_text("红色T恤".encode()) == "红色 t 恤"


def test_tokens_split_chinese_per_character():
    assert tokens("红色T恤 Cotton 1KG") == ["红", "色", "t", "恤", "cotton", "1", "kg"]
    assert tokens("t-shirt, don't") == ["t-shirt", "don't"]


def test_non_utf8_bytes_name_the_offset():
    with pytest.raises(ValueError, match=r"not valid UTF-8.*0xe9 at offset 3.*re-encode"):
        normalize_text("café".encode("latin-1"))


@pytest.mark.parametrize("empty", ["", "   ", "\n\t", b"  "])
def test_empty_text_is_rejected(empty):
    with pytest.raises(ValueError, match="empty or only whitespace"):
        normalize_text(empty)


def test_text_of_wrong_type_is_rejected():
    with pytest.raises(TypeError, match="str or UTF-8 bytes"):
        tokens(42)


# --- images --------------------------------------------------------------------------------------------


def jpeg(image: Image.Image, quality: int = 70) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(buffer).convert("RGB")


def first_sku_per_type(catalog, n: int) -> list[str]:
    return catalog.skus.groupby("type_id").sku_id.first().tolist()[:n]


def test_planted_near_duplicate_is_found_and_other_products_are_not(catalog):
    a, b, c = (catalog.product_image(sku) for sku in first_sku_per_type(catalog, 3))
    copy = jpeg(a.filter(ImageFilter.GaussianBlur(0.6)))
    pairs = find_near_duplicates({"a": a, "b": b, "copy": copy, "c": c, "a again": a.copy()})
    assert {(x, y) for x, y, _ in pairs} == {("a", "copy"), ("a", "a again"), ("copy", "a again")}
    assert ("a", "a again", 0) in pairs
    assert [d for *_, d in pairs] == sorted(d for *_, d in pairs)
    assert perceptual_hash(a) - perceptual_hash(b) > 4


def test_near_duplicates_of_a_list_use_positions_and_check_input():
    image = Image.new("RGB", (8, 8), "white")
    assert find_near_duplicates([image, image]) == [(0, 1, 0)]
    with pytest.raises(TypeError, match=r"images\[1\] must be a PIL image"):
        find_near_duplicates([image, np.zeros((8, 8, 3))])
    with pytest.raises(ValueError, match="max_distance"):
        find_near_duplicates([image], max_distance=65)


def test_image_problems(catalog):
    photo = catalog.product_image(catalog.skus.sku_id.iloc[0])
    assert image_problems(photo, size=(64, 64)) == []
    blank = jpeg(Image.new("RGB", (64, 64), (250, 250, 250)), quality=30)
    assert [p.split(":")[0] for p in image_problems(blank)] == ["blank"]
    problems = image_problems(photo.convert("RGBA").resize((32, 32)), size=(64, 64))
    assert [p.split(" ")[0] for p in problems] == ["mode", "size"]


def test_corrupt_image_file_raises_naming_the_file(tmp_path):
    path = tmp_path / "broken.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    with pytest.raises(ValueError, match=r"broken\.png.*corrupt"):
        load_image(path)
    assert image_problems(path)[0].startswith("unreadable")
    with pytest.raises(FileNotFoundError, match="missing.png"):
        load_image(tmp_path / "missing.png")


def test_load_image_round_trip(tmp_path):
    path = tmp_path / "ok.png"
    Image.new("RGB", (5, 3), "red").save(path)
    assert load_image(path).size == (5, 3)


def test_channel_stats_equal_hand_values():
    first = np.array([[[0, 255, 51], [255, 255, 51]]], dtype=np.uint8)  # 1x2 pixels
    second = Image.fromarray(np.array([[[255, 255, 51]]], dtype=np.uint8))  # 1x1 pixel, PIL
    mean, std = channel_stats([first, second])
    np.testing.assert_allclose(mean, [2 / 3, 1.0, 0.2])
    np.testing.assert_allclose(std, [np.sqrt(2 / 9), 0.0, 0.0], atol=1e-7)
    with pytest.raises(ValueError, match="empty"):
        channel_stats([])


def test_standardise_is_float32_channel_first():
    pixels = np.full((2, 4, 3), 0.75)
    out = standardise(pixels, mean=[0.5, 0.25, 0.75], std=[0.25, 0.5, 1.0])
    assert out.shape == (3, 2, 4) and out.dtype == np.float32
    np.testing.assert_allclose(out[:, 0, 0], [1.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="divide 0-255 pixels by 255"):
        standardise(pixels * 255, [0.5] * 3, [0.25] * 3)
    with pytest.raises(ValueError, match="positive"):
        standardise(pixels, [0.5] * 3, [0.25, 0.0, 0.25])


def test_resize_pads_to_a_white_square_keeping_the_aspect_ratio():
    tall = Image.new("RGB", (30, 60), "black")
    out = np.asarray(resize(tall, 64))
    assert out.shape == (64, 64, 3)
    dark_columns = np.flatnonzero(out[32].mean(axis=1) < 128)
    assert 30 <= len(dark_columns) <= 34 and abs(dark_columns.mean() - 31.5) <= 1
    assert out[0, 0].tolist() == [255, 255, 255]


# --- audio ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "sr"), [(8000, 8000), (12345, 44100), (1001, 22050), (16001, 48000)])
def test_resample_keeps_duration(n, sr):
    wave = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    out = resample(wave, sr, SR)
    assert out.dtype == np.float32
    assert abs(len(out) - n * SR / sr) <= 1


def test_loudness_target_met():
    out = normalize_loudness(tone(0.5, amplitude=0.01), target_dbfs=-23.0)
    assert abs(loudness_dbfs(out) - (-23.0)) < 0.1
    with pytest.raises(ValueError, match="silent"):
        normalize_loudness(np.zeros(1000))


def test_trim_removes_planted_silence():
    speech = tone(1.0)
    wave = np.concatenate([np.zeros(SR // 2), speech, np.zeros(SR // 4)]).astype(np.float32)
    trimmed = trim_silence(wave)
    sound = np.flatnonzero(trimmed)
    assert sound[0] <= 0.025 * SR and len(trimmed) - 1 - sound[-1] <= 0.025 * SR  # at most one 25 ms frame left
    assert len(sound) >= len(speech) - 2  # none of the tone is cut (sin is 0 at its very ends)


def test_stereo_8khz_file_becomes_16khz_mono_of_the_same_duration(tmp_path):
    left = tone(1.25, sr=8000)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, 0.5 * left], axis=1), 8000)
    wave = load_audio(path)
    assert wave.ndim == 1 and wave.dtype == np.float32
    assert abs(len(wave) - 1.25 * SR) <= 1
    assert abs(np.abs(wave).max() - 0.375) < 0.01  # the average of the two channels


def test_bad_audio_files_are_rejected_naming_the_file(tmp_path):
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0), SR)
    with pytest.raises(ValueError, match=r"empty\.wav has no samples"):
        load_audio(empty)
    (tmp_path / "zero.wav").write_bytes(b"")
    with pytest.raises(ValueError, match=r"zero\.wav is empty \(0 bytes\)"):
        load_audio(tmp_path / "zero.wav")
    (tmp_path / "junk.wav").write_bytes(b"RIFF not really a wave file" * 10)
    with pytest.raises(ValueError, match=r"cannot read audio file .*junk\.wav"):
        load_audio(tmp_path / "junk.wav")
    with pytest.raises(FileNotFoundError, match="nowhere.wav"):
        load_audio(tmp_path / "nowhere.wav")


def test_prepare_audio_pipeline():
    stereo = np.stack([tone(1.0, sr=22050, amplitude=0.05)] * 2, axis=1)
    stereo = np.concatenate([np.zeros((11025, 2)), stereo]).astype(np.float32)
    wave = prepare_audio(stereo, 22050)
    assert abs(len(wave) - SR) <= 0.05 * SR
    assert abs(loudness_dbfs(wave) - (-20.0)) < 0.1


def test_to_mono_and_duration_checks():
    with pytest.raises(ValueError, match=r"wave\.T"):
        to_mono(np.zeros((2, 16000)))
    assert check_duration(tone(1.0)) == []
    assert check_duration(tone(0.1))[0].startswith("too short")
    assert check_duration(tone(11.0))[0].startswith("too long")
    with pytest.raises(ValueError, match=r"sr \(samples per second\) must be at least 1, got 0"):
        resample(tone(0.1), 0)
    with pytest.raises(TypeError, match="target_sr"):
        resample(tone(0.1), SR, 16000.5)


# --- reviews -------------------------------------------------------------------------------------------


def test_clean_reviews_recovers_the_injected_dirt(catalog):
    reviews = catalog.reviews
    kept, removed = clean_reviews(reviews.drop(columns="noise"))  # the ground truth is not needed
    assert len(kept) + len(removed) == len(reviews)
    assert set(kept.index).isdisjoint(removed.index)
    assert (removed.reason != "").all() and removed.reason.notna().all()
    reason = pd.Series("", index=reviews.index)
    reason[removed.index] = removed.reason
    for kind in ("empty", "spam"):
        precision, recall = precision_recall(reason == kind, reviews.noise == kind)
        assert precision >= 0.9 and recall >= 0.9, kind
    # A duplicate and its original are identical, so count copies per (SKU, text), not which row is "the copy".
    per_text = pd.DataFrame({"found": reason == "duplicate", "true": reviews.noise == "duplicate"}).groupby(
        [reviews.sku_id, reviews.text]).sum()
    hits = np.minimum(per_text.found, per_text.true).sum()
    assert hits / per_text.found.sum() >= 0.9 and hits / per_text.true.sum() >= 0.9


def test_spam_signals_flag_every_template_and_rarely_real_sentences():
    for template in SPAM_TEMPLATES:
        text = template.format(url=SPAM_URLS[0], pct=50, word="wow ", shout="BEST", o="oooo")
        assert spam_signals(text), text
    items = json.loads((DATA_DIR / "reviews" / "amazon.json").read_text())
    sentences = [item["text"] for item in items if item["text"]]
    flagged = [s for s in sentences if spam_signals(s)]
    assert len(flagged) / len(sentences) < 0.01, flagged[:5]


def test_clean_reviews_explains_duplicates():
    reviews = pd.DataFrame({"review_id": ["R1", "R2", "R3", "R4"], "sku_id": ["A", "A", "B", "A"],
                            "text": ["Great phone!", "great   PHONE", "Great phone!", "  "]})
    kept, removed = clean_reviews(reviews)
    assert kept.review_id.tolist() == ["R1", "R3"]
    assert removed.set_index("review_id")[["reason", "detail"]].to_dict("index") == {
        "R2": {"reason": "duplicate", "detail": "copy of R1"}, "R4": {"reason": "empty", "detail": ""}}
    with pytest.raises(ValueError, match=r"missing column\(s\) \['review_id'\]"):
        clean_reviews(reviews.drop(columns="review_id"))


# --- behaviour -----------------------------------------------------------------------------------------


def test_clean_events_flags_the_bots(catalog):
    events, users = catalog.events, catalog.users
    kept, removed, report = clean_events(events, users.drop(columns="is_bot"))
    assert len(kept) + len(removed) == len(events)
    assert (removed.reason != "").all()
    flagged = users.user_id.isin(removed.user_id[removed.reason == "bot"])
    assert precision_recall(flagged, users.is_bot) == (1.0, 1.0)
    assert (removed.reason == "repeated row").sum() == events.duplicated().sum()
    assert not kept.duplicated().any() and not kept.user_id.isin(users.user_id[users.is_bot]).any()
    assert report.set_index("reason").rows.to_dict() == removed.reason.value_counts().to_dict()


def test_clean_events_rules_on_a_tiny_log():
    def row(session, user, t, event, sku=""):
        return {"session_id": session, "user_id": user, "t": t, "event": event, "sku_id": sku}

    rows = [row("V1", "U1", 0, "search"), row("V1", "U1", 1, "impression", "S1"), row("V1", "U1", 9, "click", "S1")]
    rows += [rows[-1]]  # a repeated row
    rows += [row("V2", "U1", 100, "search")]  # results never logged
    rows += [row("V3", "U9", 5, "search")]  # unknown user
    rows += [row("V4", "U2", 0, "search")] + [row("V4", "U2", t // 2, "click", f"S{t}") for t in range(40)]  # a bot
    events = pd.DataFrame(rows)
    kept, removed, report = clean_events(events, pd.DataFrame({"user_id": ["U1", "U2"]}))
    assert kept.index.tolist() == [0, 1, 2]
    assert report.set_index("reason").rows.to_dict() == {
        "bot": 41, "repeated row": 1, "no results logged": 1, "unknown user": 1}
    assert user_activity(events).set_index("user_id").loc["U2", "peak_clicks_per_minute"] == 40


def test_cleaning_report_needs_reasons():
    report = cleaning_report(pd.DataFrame({"reason": ["spam", "empty", "spam"]}))
    assert report.to_dict("list") == {"reason": ["spam", "empty"], "rows": [2, 1]}
    with pytest.raises(ValueError, match="reason"):
        cleaning_report(pd.DataFrame({"why": ["spam"]}))
