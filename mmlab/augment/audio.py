"""Audio augmentation: background noise, time stretch, pitch shift and SpecAugment masks, seeded."""

from __future__ import annotations

import numbers

import librosa
import numpy as np

from mmlab.augment.checks import check_int, check_rng
from mmlab.data.noise import MIN_SAMPLES, mix_noise
from mmlab.data.speech import SAMPLE_RATE
from mmlab.waves import check_wave


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
    check_rng(rng)
    out = array.copy()
    fill = float(array.mean())
    _mask_bands(out, 0, check_int("n_freq_masks", n_freq_masks), check_int("freq_width", freq_width), fill, rng)
    _mask_bands(out, 1, check_int("n_time_masks", n_time_masks), check_int("time_width", time_width), fill, rng)
    return out

