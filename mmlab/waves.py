"""The one check every waveform passes on its way into mmlab: mono, numeric, finite and long enough."""

from __future__ import annotations

import numpy as np


def check_wave(wave: object, name: str = "wave", min_samples: int = 1, integers: bool = True) -> np.ndarray:
    """``wave`` as a 1-D NumPy array of finite numbers (its dtype kept), or an error that names the problem and
    the fix. ``integers=False`` also refuses integer (PCM) samples: audio features expect floats in [-1, 1]."""
    array = np.asarray(wave)
    if array.ndim == 2:
        raise ValueError(f"{name} has shape {array.shape}: that is several channels, not a 1-D mono waveform; mix "
                         f"down to mono first: mmlab.preprocess.to_mono({name}) for a (samples, channels) array")
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D mono waveform, got shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise TypeError(f"{name} must hold numbers, got dtype {array.dtype}")
    if not integers and np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{name} holds integers ({array.dtype}); scale to floats in [-1, 1] first, e.g. "
                        f"{name} / 32768 for int16")
    if array.size < min_samples:
        raise ValueError(f"{name} has {array.size} samples; it needs at least {min_samples}")
    if not np.isfinite(array).all():
        first = int(np.flatnonzero(~np.isfinite(array))[0])
        raise ValueError(f"{name} contains NaN or infinite values (first at sample {first}); fix or drop the clip")
    return array
