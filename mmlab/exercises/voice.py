"""Checks for the exercises of Notebook 05 (voice queries)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from mmlab.exercises.common import attempt, same_tensor, speech_like_signal, verdict


def check_mfcc_by_hand(my_mfcc: Callable[[np.ndarray], np.ndarray]) -> bool:
    """05, exercise 1: ``my_mfcc(wave)`` -> (13, frames) MFCCs built by hand (|STFT|² -> mel filterbank -> dB
    relative to the peak -> DCT-II), equal to :func:`mmlab.encoders.audio.mfcc` on speech-like test clips."""
    from mmlab.encoders.audio import mfcc

    rng = np.random.default_rng(5)
    for seconds in (0.5, 1.3):
        wave = speech_like_signal(int(16_000 * seconds), rng) + rng.normal(0, 0.01, int(16_000 * seconds)).astype(np.float32)
        ok, got = attempt(my_mfcc, wave.copy())
        if not ok:
            return verdict(False, "", got)
        want = mfcc(wave)
        got = np.asarray(got)
        if got.shape != want.shape:
            return verdict(False, "", f"for a {seconds} s clip expected shape {want.shape} (n_mfcc, frames), got "
                           f"{got.shape}. Frames = 1 + len(wave) // 160; keep the first 13 DCT rows.")
        if not np.allclose(got[1:], want[1:], atol=1e-3):
            return verdict(False, "", "coefficients 1-12 differ from the reference. Check each step: power = "
                           "|STFT|**2 (n_fft=400, hop=160), mel = filterbank @ power, librosa.power_to_db(mel, "
                           "ref=np.max, top_db=80), then scipy.fft.dct(..., type=2, norm='ortho', axis=0)[:13].")
        if not np.allclose(got[0], want[0], atol=1e-3):
            return verdict(False, "", "coefficients 1-12 match but coefficient 0 (overall loudness) does not: use "
                           "ref=np.max in power_to_db, so 0 dB is the clip's loudest bin")
    return verdict(True, "your MFCCs match mmlab's (and so librosa's) on two test clips", "")


def check_masked_mean_pool(pool: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> bool:
    """05, exercise 2: ``pool(x, lengths)`` -> (B, C): the mean of ``x`` (B, C, T) over each clip's first
    ``lengths[i]`` frames only, compared with :func:`mmlab.encoders.audio.masked_mean`; garbage in the padding
    must not change it."""
    from mmlab.encoders.audio import masked_mean, valid_mask

    generator = torch.Generator().manual_seed(0)
    x, lengths = torch.randn(4, 3, 9, generator=generator), torch.tensor([9, 5, 1, 7])
    want = masked_mean(x, valid_mask(lengths, 9))
    ok, got = attempt(pool, x.clone(), lengths.clone())
    if not ok:
        return verdict(False, "", got)
    if not same_tensor(got, want):
        return verdict(False, "", f"expected a (4, 3) tensor starting {want[0].numpy().round(3).tolist()}, got "
                       f"something else. Hint: mask = torch.arange(T) < lengths[:, None]; sum x * mask over time, "
                       "divide by lengths.")
    noisy = x.clone()
    noisy[~valid_mask(lengths, 9)[:, None, :].expand_as(x)] = 1e3
    ok, again = attempt(pool, noisy, lengths.clone())
    if not ok or not same_tensor(again, want):
        return verdict(False, "", "garbage in the padded frames changed your result: multiply by the mask before "
                       "summing (x.mean(dim=2) averages the padding too)")
    return verdict(True, "your pooling averages only the real frames: padding cannot move a clip's vector", "")
