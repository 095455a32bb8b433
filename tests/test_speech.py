"""Tests for mmlab.data.speech: espeak-ng synthesis, noise mixing at a target SNR, WAV helpers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from mmlab.data import noise, speech
from mmlab.data.noise import NOISE_KINDS, mix_noise, snr_db
from mmlab.data.speech import SAMPLE_RATE, VOICES, read_wav, synthesize, write_wav

EN_QUERY = "red cotton running shoes"
ZH_QUERY = "红色的运动鞋"


@pytest.fixture(scope="module")
def en_wave() -> np.ndarray:
    return synthesize(EN_QUERY, "en")


@pytest.fixture(scope="module")
def zh_wave() -> np.ndarray:
    return synthesize(ZH_QUERY, "zh")


def rms(wave: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.asarray(wave, dtype=np.float64) ** 2)))


# --- synthesis -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["en_wave", "zh_wave"])
def test_output_format_duration_and_loudness(fixture: str, request: pytest.FixtureRequest) -> None:
    wave = request.getfixturevalue(fixture)
    assert SAMPLE_RATE == 16_000
    assert isinstance(wave, np.ndarray) and wave.ndim == 1 and wave.dtype == np.float32
    assert 0.4 <= wave.size / SAMPLE_RATE <= 5.0  # a short query takes about 1-2 s
    assert np.all(np.isfinite(wave)) and np.abs(wave).max() <= 1.0
    assert rms(wave) > 0.02  # clearly not silence (espeak speech is around 0.1)


def test_resampled_to_16k_keeps_duration() -> None:
    raw = speech._espeak(EN_QUERY, VOICES["en"][0], 160, 50)  # 22,050 Hz straight from espeak
    wave = synthesize(EN_QUERY, "en")
    assert raw.dtype == np.int16
    assert wave.size == pytest.approx(raw.size * SAMPLE_RATE / speech.ESPEAK_SAMPLE_RATE, abs=2)


def test_longer_text_and_slower_rate_take_longer(en_wave: np.ndarray) -> None:
    longer = synthesize(EN_QUERY + " for women size nine", "en")
    slower = synthesize(EN_QUERY, "en", rate=100)
    faster = synthesize(EN_QUERY, "en", rate=300)
    assert longer.size > 1.3 * en_wave.size
    assert slower.size > en_wave.size > faster.size


@pytest.mark.parametrize("lang", sorted(VOICES))
def test_same_arguments_give_identical_samples(lang: str) -> None:
    text = EN_QUERY if lang == "en" else ZH_QUERY
    for voice in range(len(VOICES[lang])):
        first = synthesize(text, lang, voice)
        synthesize("something else entirely", "en", 1, rate=200, pitch=80)  # espeak has hidden state
        again = synthesize(text, lang, voice)
        assert first.tobytes() == again.tobytes(), VOICES[lang][voice]


def test_concurrent_calls_match_serial_calls() -> None:
    jobs = [(EN_QUERY, "en", 0), (ZH_QUERY, "zh", 1), (EN_QUERY, "en", 2), (ZH_QUERY, "zh", 3)]
    serial = [synthesize(*job).tobytes() for job in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = [wave.tobytes() for wave in pool.map(lambda job: synthesize(*job), jobs)]
    assert parallel == serial


@pytest.mark.parametrize("lang", sorted(VOICES))
def test_every_voice_sounds_different(lang: str) -> None:
    text = EN_QUERY if lang == "en" else ZH_QUERY
    waves = [synthesize(text, lang, voice).tobytes() for voice in range(len(VOICES[lang]))]
    assert len(set(waves)) == len(waves)  # espeak silently ignores unknown "+variant" names


def test_voice_variants_exist_in_bundled_data() -> None:
    import espeakng_loader

    variants = Path(espeakng_loader.get_data_path()) / "voices" / "!v"
    for names in VOICES.values():
        for name in names:
            if "+" in name:
                assert (variants / name.split("+")[1]).is_file(), name


def median_f0(wave: np.ndarray, frame: int = 640) -> float:
    """Median voice pitch (Hz) over loud 40 ms frames, from the autocorrelation peak in 60-400 Hz."""
    lo, hi = SAMPLE_RATE // 400, SAMPLE_RATE // 60
    f0s = []
    for start in range(0, wave.size - frame, frame):
        x = wave[start : start + frame].astype(np.float64)
        if rms(x) < 0.05:
            continue
        x -= x.mean()
        autocorr = np.correlate(x, x, "full")[frame - 1 :]
        f0s.append(SAMPLE_RATE / (lo + np.argmax(autocorr[lo:hi])))
    return float(np.median(f0s))


@pytest.mark.parametrize("lang", sorted(VOICES))
def test_pitch_and_female_variants_raise_the_voice(lang: str) -> None:
    text = EN_QUERY if lang == "en" else ZH_QUERY
    low, normal, high = (median_f0(synthesize(text, lang, pitch=p)) for p in (10, 50, 90))
    assert low < normal < high and high > 1.5 * low  # measured: ~70, ~95, ~150 Hz
    female = [i for i, name in enumerate(VOICES[lang]) if "+f" in name]
    assert female and all(median_f0(synthesize(text, lang, i)) > 1.4 * normal for i in female)


def test_mandarin_voice_reads_mixed_latin_and_hanzi() -> None:
    mandarin = synthesize("T-shirt 红色", "zh")  # the Mandarin voice reads Latin words as English
    assert 0.4 <= mandarin.size / SAMPLE_RATE <= 5.0


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"text": ""}, ValueError, "text is empty"),
        ({"text": "   "}, ValueError, "text is empty"),
        ({"text": b"shoes"}, TypeError, "text must be a str"),
        ({"text": "a\0b"}, ValueError, "NUL character"),
        ({"text": "...", "lang": "en"}, ValueError, "produced no sound"),
        ({"text": "shoes", "lang": "fr"}, ValueError, r"unknown lang 'fr'; use one of \['en', 'zh'\]"),
        ({"text": "红色", "lang": "en"}, ValueError, "use lang='zh'"),
        ({"text": "shoes", "voice": 4}, ValueError, r"voice=4 is outside 0-3; pick an index into VOICES"),
        ({"text": "shoes", "voice": -1}, ValueError, "voice=-1 is outside"),
        ({"text": "shoes", "voice": 1.0}, TypeError, "voice must be an int"),
        ({"text": "shoes", "rate": 79}, ValueError, "rate=79 is outside 80-450"),
        ({"text": "shoes", "rate": 451}, ValueError, "rate=451 is outside 80-450"),
        ({"text": "shoes", "pitch": 100}, ValueError, "pitch=100 is outside 0-99"),
        ({"text": "shoes", "pitch": -1}, ValueError, "pitch=-1 is outside 0-99"),
    ],
)
def test_synthesize_rejects_bad_input(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        synthesize(**kwargs)


def test_range_limits_are_accepted() -> None:
    for kwargs in ({"rate": 80}, {"rate": 450}, {"pitch": 0}, {"pitch": 99}, {"voice": np.int64(3)}):
        assert synthesize("shoes", "en", **kwargs).size > 0


# --- noise -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", NOISE_KINDS)
@pytest.mark.parametrize("target", [0, 5, 10, 20])
def test_mix_noise_hits_requested_snr(en_wave: np.ndarray, kind: str, target: float) -> None:
    noisy = mix_noise(en_wave, target, np.random.default_rng(target), kind)
    assert noisy.shape == en_wave.shape and noisy.dtype == np.float32
    assert snr_db(en_wave, noisy) == pytest.approx(target, abs=0.5)
    # and independently of snr_db(): signal power / noise power
    noise = noisy.astype(np.float64) - en_wave
    measured = 10 * np.log10(np.mean(en_wave.astype(np.float64) ** 2) / np.mean(noise**2))
    assert measured == pytest.approx(target, abs=0.01)


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_mix_noise_is_deterministic_given_the_seed(en_wave: np.ndarray, kind: str) -> None:
    first = mix_noise(en_wave, 5, np.random.default_rng(7), kind)
    again = mix_noise(en_wave, 5, np.random.default_rng(7), kind)
    other = mix_noise(en_wave, 5, np.random.default_rng(8), kind)
    assert first.tobytes() == again.tobytes()
    assert not np.array_equal(first, other)


def test_noise_kinds_have_their_spectra() -> None:
    n, rng = 4 * SAMPLE_RATE, np.random.default_rng(0)
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)

    def band_db(kind: str, low: float, high: float) -> float:
        power = np.abs(np.fft.rfft(noise._NOISE_MAKERS[kind](n, rng))) ** 2
        return float(10 * np.log10(power[(freqs >= low) & (freqs < high)].mean()))

    assert abs(band_db("white", 100, 200) - band_db("white", 4000, 8000)) < 1  # flat
    assert band_db("pink", 100, 200) - band_db("pink", 1000, 2000) == pytest.approx(10, abs=1.5)  # 1/f
    assert band_db("babble", 500, 3000) - band_db("babble", 4000, 8000) > 40  # speech band only
    assert band_db("hum", 45, 55) - band_db("hum", 1000, 2000) > 30  # 50 Hz line


def test_snr_db_of_identical_clips_is_infinite(en_wave: np.ndarray) -> None:
    assert snr_db(en_wave, en_wave.copy()) == float("inf")


def _rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda w: mix_noise(np.zeros(1000), 5, _rng()), ValueError, "clean is silent"),
        (lambda w: mix_noise(np.full(1000, np.nan), 5, _rng()), ValueError, "NaN or infinite"),
        (lambda w: mix_noise(np.ones((1000, 2)), 5, _rng()), ValueError,
         r"clean has shape \(1000, 2\): that is several channels, not a 1-D mono waveform; mix down"),
        (lambda w: mix_noise(np.array([]), 5, _rng()), ValueError, "clean has 0 samples; it needs at least 16"),
        (lambda w: mix_noise(w, float("nan"), _rng()), ValueError, "snr_db must be a finite number"),
        (lambda w: mix_noise(w, 5, _rng(), kind="brown"), ValueError, "unknown noise kind 'brown'; use one of"),
        (lambda w: mix_noise(w, 5, 0), TypeError, "rng must be a numpy Generator"),
    ],
)
def test_mix_noise_rejects_bad_input(en_wave: np.ndarray, call, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        call(en_wave)


def test_snr_db_rejects_mismatched_or_silent(en_wave: np.ndarray) -> None:
    with pytest.raises(ValueError, match="differ in length"):
        snr_db(en_wave, en_wave[:-1])
    with pytest.raises(ValueError, match="clean is silent"):
        snr_db(np.zeros(100), np.ones(100))


# --- WAV files -------------------------------------------------------------------------------------


def test_wav_round_trip(tmp_path: Path, en_wave: np.ndarray) -> None:
    path = write_wav(tmp_path / "sub" / "query.wav", en_wave)
    wave, sample_rate = read_wav(path)
    assert sample_rate == SAMPLE_RATE and wave.dtype == np.float32 and wave.shape == en_wave.shape
    assert np.abs(wave - en_wave).max() < 1 / 2**14  # 16-bit PCM


def test_write_wav_clips_instead_of_wrapping(tmp_path: Path) -> None:
    loud = np.array([0.5, 1.5, -2.0, 0.0] * 10)
    wave, _ = read_wav(write_wav(tmp_path / "loud.wav", loud))
    assert wave[1] == pytest.approx(1.0, abs=1e-3) and wave[2] == pytest.approx(-1.0, abs=1e-3)


def test_read_wav_mixes_stereo_down(tmp_path: Path) -> None:
    import soundfile as sf

    stereo = np.stack([np.full(100, 0.5), np.full(100, -0.25)], axis=1)
    sf.write(tmp_path / "stereo.wav", stereo, 8000, subtype="PCM_16")
    wave, sample_rate = read_wav(tmp_path / "stereo.wav")
    assert sample_rate == 8000 and wave.shape == (100,)
    assert wave.mean() == pytest.approx(0.125, abs=1e-3)


def test_read_wav_reports_missing_and_corrupt_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="audio file not found"):
        read_wav(tmp_path / "missing.wav")
    (tmp_path / "bad.wav").write_text("not audio")
    with pytest.raises(ValueError, match="cannot read audio file .*bad.wav"):
        read_wav(tmp_path / "bad.wav")
