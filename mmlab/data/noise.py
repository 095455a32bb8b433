"""Background noise for spoken queries: four colours of noise, mixed in at an exact signal-to-noise ratio.

``mix_noise`` made the catalog's noisy voice queries; augmentation and the recogniser's training speech use it too.
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy.fft import next_fast_len

from mmlab.data.speech import SAMPLE_RATE
from mmlab.waves import check_wave

NOISE_KINDS = ("white", "pink", "babble", "hum")
MIN_SAMPLES = 16  # 1 ms at 16 kHz; shorter clips have no meaningful SNR
_SILENT_POWER = 1e-12  # mean square below this (RMS < 1e-6, under 16-bit resolution) counts as silence


def _power(wave: np.ndarray) -> float:
    return float(np.mean(wave**2))


def _white(n: int, rng: np.random.Generator) -> np.ndarray:
    """Equal power at every frequency: hiss."""
    return rng.standard_normal(n)


def _pink(n: int, rng: np.random.Generator) -> np.ndarray:
    """Power falling as 1/f (equal power per octave): rumble-plus-hiss, like wind or traffic.

    Shape white noise in the frequency domain: power ~ 1/f means amplitude ~ 1/sqrt(f).
    """
    m = next_fast_len(n)  # FFTs are slow for some lengths (e.g. large primes): make extra, cut to n
    spectrum = np.fft.rfft(rng.standard_normal(m))
    freqs = np.fft.rfftfreq(m, d=1 / SAMPLE_RATE)
    spectrum[1:] /= np.sqrt(freqs[1:])
    spectrum[0] = 0.0  # no DC offset
    return np.fft.irfft(spectrum, m)[:n]


def _babble(n: int, rng: np.random.Generator, talkers: int = 6) -> np.ndarray:
    """A cheap stand-in for a crowd talking in the background.

    Each "talker" is noise limited to the telephone speech band (300-3400 Hz), swelling and fading
    at a syllable-like rate (3-6 per second, random phase). Summing a few gives a busy murmur with
    speech's spectrum and rhythm but no words. (Real babble mixes recorded speech; that is slower.)
    """
    t = np.arange(n) / SAMPLE_RATE
    m = next_fast_len(n)  # as in _pink
    freqs = np.fft.rfftfreq(m, d=1 / SAMPLE_RATE)
    speech_band = (freqs >= 300) & (freqs <= 3400)
    out = np.zeros(n)
    for _ in range(talkers):
        voice = np.fft.irfft(np.fft.rfft(rng.standard_normal(m)) * speech_band, m)[:n]
        syllables_per_s = rng.uniform(3.0, 6.0)
        phase = rng.uniform(0.0, 2 * np.pi)
        envelope = 0.5 * (1.0 + np.sin(2 * np.pi * syllables_per_s * t + phase))  # 0..1
        out += voice * envelope
    return out


def _hum(n: int, rng: np.random.Generator, mains_hz: float = 50.0, harmonics: int = 5) -> np.ndarray:
    """Mains hum: 50 Hz and its first harmonics (amplitude 1/k, random phases) plus faint hiss."""
    t = np.arange(n) / SAMPLE_RATE
    out = np.zeros(n)
    for k in range(1, harmonics + 1):
        out += np.sin(2 * np.pi * k * mains_hz * t + rng.uniform(0.0, 2 * np.pi)) / k
    return out + 0.1 * rng.standard_normal(n)  # hiss about 20 dB below the hum


_NOISE_MAKERS = {"white": _white, "pink": _pink, "babble": _babble, "hum": _hum}


def mix_noise(clean: np.ndarray, snr_db: float, rng: np.random.Generator, kind: str = "white") -> np.ndarray:
    """Add noise of ``kind`` to ``clean`` so that the whole clip's SNR is exactly ``snr_db``.

    SNR (dB) = 10 log10(mean(clean**2) / mean(noise**2)). Kinds: "white", "pink", "babble", "hum".
    The noise depends only on ``rng`` and the clip length, so a seeded ``rng`` repeats exactly.
    Returns float32; the result is not clipped, so at low SNR it can exceed [-1, 1].
    """
    clean = check_wave(clean, "clean", MIN_SAMPLES).astype(np.float64)
    signal_power = _power(clean)
    if signal_power < _SILENT_POWER:
        raise ValueError("clean is silent (all zeros or nearly), so SNR is undefined; pass a clip with sound")
    if isinstance(snr_db, bool) or not isinstance(snr_db, numbers.Real) or not np.isfinite(snr_db):
        raise ValueError(f"snr_db must be a finite number of decibels, e.g. 10, got {snr_db!r}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy Generator, e.g. np.random.default_rng(0), got {type(rng).__name__}")
    if kind not in _NOISE_MAKERS:
        raise ValueError(f"unknown noise kind {kind!r}; use one of {list(NOISE_KINDS)}")

    noise = _NOISE_MAKERS[kind](clean.size, rng)
    target_noise_power = signal_power / 10 ** (snr_db / 10)
    noise *= np.sqrt(target_noise_power / _power(noise))
    return (clean + noise).astype(np.float32)


def snr_db(clean: np.ndarray, noisy: np.ndarray) -> float:
    """Signal-to-noise ratio in dB of ``noisy`` against its ``clean`` source, over the whole clip."""
    clean = check_wave(clean, "clean", MIN_SAMPLES).astype(np.float64)
    noisy = check_wave(noisy, "noisy", MIN_SAMPLES).astype(np.float64)
    if clean.shape != noisy.shape:
        raise ValueError(f"clean and noisy differ in length ({clean.size} vs {noisy.size}); pass matching clips")
    signal_power = _power(clean)
    if signal_power < _SILENT_POWER:
        raise ValueError("clean is silent (all zeros or nearly), so SNR is undefined; pass a clip with sound")
    noise_power = _power(noisy - clean)
    if noise_power == 0.0:
        return float("inf")
    return float(10 * np.log10(signal_power / noise_power))
