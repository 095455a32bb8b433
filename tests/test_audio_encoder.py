"""Voice features and baselines: audio features have the documented shapes, bad clips and wrong sample rates fail
clearly, the MFCC-mean baseline maps into the text space, pocketsphinx with the catalog grammar decodes a
synthesised catalog query exactly (also in a background process), and embed_voice_queries checks its inputs."""

from __future__ import annotations

import librosa
import numpy as np
import pytest

from mmlab.data import speech
from mmlab.data.catalog import load_catalog
from mmlab.encoders import audio, voice
from mmlab.encoders.asr import CatalogRecogniser, catalog_grammar, pronunciation, transcribe_in_background


@pytest.fixture(scope="module")
def wave() -> np.ndarray:
    return speech.synthesize("green apple", "en")


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(fast=True, verbose=False)


def test_feature_shapes(wave: np.ndarray) -> None:
    frames = 1 + len(wave) // audio.HOP
    assert audio.log_mel(wave).shape == (audio.N_MELS, frames)
    assert audio.mfcc(wave).shape == (audio.N_MFCC, frames)
    spec = audio.standardise(audio.log_mel(wave))
    assert spec.shape == (audio.N_MELS, frames) and spec.dtype == np.float32
    assert audio.mfcc_stats(audio.log_mel(wave)).shape == (2 * audio.N_MFCC,)


def test_log_mel_is_in_db_below_the_peak(wave: np.ndarray) -> None:
    spec = audio.log_mel(wave)
    assert spec.max() == pytest.approx(0.0) and spec.min() >= -audio.TOP_DB - 1e-3


def test_mfcc_matches_librosa_except_the_loudness_coefficient(wave: np.ndarray) -> None:
    reference = librosa.feature.mfcc(y=wave, sr=speech.SAMPLE_RATE, n_mfcc=audio.N_MFCC, n_fft=audio.N_FFT,
                                     hop_length=audio.HOP, n_mels=audio.N_MELS)
    np.testing.assert_allclose(audio.mfcc(wave)[1:], reference[1:], atol=1e-3)


@pytest.mark.parametrize("bad, message", [
    (np.zeros(0, dtype=np.float32), "empty or too short"),
    (np.zeros(800, dtype=np.float32), "empty or too short"),
    (np.zeros((16_000, 2), dtype=np.float32), "mono"),
    (np.zeros(16_000, dtype=np.int16), "floats"),
    (np.full(16_000, np.nan, dtype=np.float32), "NaN"),
])
def test_bad_clips_fail_clearly(bad: np.ndarray, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        audio.log_mel(bad)


def test_wrong_sample_rate_names_the_fix(wave: np.ndarray) -> None:
    with pytest.raises(ValueError, match="resample"):
        audio.log_mel(wave, sr=44_100)
    with pytest.raises(ValueError, match="resample"):
        CatalogRecogniser.transcribe(None, wave, sr=8_000)  # the check runs before the decoder is touched


def test_pad_features_pads_with_zeros_and_keeps_lengths() -> None:
    specs = [np.ones((audio.N_MELS, n), dtype=np.float32) for n in (3, 7)]
    batch, lengths = audio.pad_features(specs)
    assert batch.shape == (2, audio.N_MELS, 7) and lengths.tolist() == [3, 7]
    assert float(batch[0, :, 3:].abs().sum()) == 0.0
    with pytest.raises(ValueError, match="empty"):
        audio.pad_features([])


def test_mfcc_baseline_maps_into_the_text_space() -> None:
    rng = np.random.default_rng(0)
    stats, targets = rng.normal(size=(40, 26)), rng.normal(size=(40, 8))
    vectors = audio.MfccMeanBaseline().fit(stats, targets).embed(stats[:5])
    assert vectors.shape == (5, 8)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_pronunciations_from_parts_and_brands() -> None:
    assert pronunciation("sugar-free") == f"{pronunciation('sugar')} {pronunciation('free')}"
    assert pronunciation("northwind") == f"{pronunciation('north')} {pronunciation('wind')}"
    assert pronunciation("aurelle") and pronunciation("zzqx") is None


def test_grammar_carriers_come_from_training_queries(catalog) -> None:
    grammar = catalog_grammar(catalog)
    train = catalog.queries[(catalog.queries.split == "train") & (catalog.queries.lang == "en")]
    assert grammar.slots["prefix"] and all(train.text.str.contains(p, regex=False).any()
                                           for p in grammar.slots["prefix"])
    assert "#JSGF" in grammar.jsgf() and "<product>" in grammar.jsgf()


def test_pocketsphinx_decodes_a_catalog_query_exactly(catalog) -> None:
    recogniser = CatalogRecogniser(catalog)
    assert "apple" in recogniser.grammar.slots["product"]
    assert recogniser.transcribe(speech.synthesize("green apple", "en")) == "green apple"
    transcripts, seconds = transcribe_in_background(recogniser.grammar, [speech.synthesize("green apple", "en")]
                                                    ).result(timeout=60)
    assert transcripts == ["green apple"] and seconds > 0


def test_embed_voice_queries_checks_its_inputs(catalog) -> None:
    spoken = catalog.queries[catalog.queries.modality == "voice"]
    with pytest.raises(ValueError, match="fast"):
        voice.embed_voice_queries(catalog, spoken.head(2), fast=False)
    with pytest.raises(ValueError, match="not voice"):
        voice.embed_voice_queries(catalog, catalog.queries.head(2), fast=True)
    with pytest.raises(ValueError, match="query_id"):
        voice.embed_voice_queries(catalog, spoken[["text"]], fast=True)
