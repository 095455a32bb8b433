"""Audio preparation: any file or array to a 16 kHz mono clip, trimmed and at one loudness."""

from __future__ import annotations

from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

from mmlab.data.speech import SAMPLE_RATE
from mmlab.preprocess.checks import as_path, check_number
from mmlab.waves import check_wave


MAX_CHANNELS = 8  # more "channels" than this means the array is probably (channels, samples)
SILENT_RMS = 1e-6  # RMS below this (-120 dBFS, under 16-bit resolution) counts as silence


def load_audio(path: str | Path, target_sr: int = SAMPLE_RATE) -> np.ndarray:
    """Read an audio file (WAV, FLAC, OGG) as a mono float32 waveform at ``target_sr`` Hz."""
    path = as_path(path, "path")
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
    check_number(sr, "sr (samples per second)", 1, whole=True)
    check_number(target_sr, "target_sr (samples per second)", 1, whole=True)
    if sr == target_sr:
        return wave.copy()
    return librosa.resample(wave, orig_sr=int(sr), target_sr=int(target_sr), res_type="soxr_hq").astype(np.float32)


def loudness_dbfs(wave: np.ndarray) -> float:
    """RMS level in dB relative to full scale (a full-scale square wave is 0 dBFS, a full-scale sine -3)."""
    samples = check_wave(wave).astype(np.float32)  # the float32 clip every step here works on
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))  # summed in float64
    return 20 * np.log10(max(rms, 1e-12))


def normalize_loudness(wave: np.ndarray, target_dbfs: float = -20.0) -> np.ndarray:
    """Scale the wave so its RMS level is ``target_dbfs``. Peaks are not clipped: keep the target low."""
    wave = check_wave(wave).astype(np.float32)
    check_number(target_dbfs, "target_dbfs", -100, 0)
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
    check_number(top_db, "top_db", 1, 120)
    if np.sqrt(np.mean(wave.astype(np.float64) ** 2)) < SILENT_RMS:
        raise ValueError("wave is silent throughout: there is nothing to keep; drop the clip")
    trimmed, _ = librosa.effects.trim(wave, top_db=top_db, frame_length=400, hop_length=160)
    return trimmed


def check_duration(wave: np.ndarray, sr: int = SAMPLE_RATE, min_s: float = 0.2, max_s: float = 10.0) -> list[str]:
    """Problems with the clip's length (too short to hold a word, too long for a query); [] if none."""
    wave = check_wave(wave, min_samples=0).astype(np.float32)
    check_number(sr, "sr (samples per second)", 1, whole=True)
    check_number(min_s, "min_s", 0)
    check_number(max_s, "max_s", 0)
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
