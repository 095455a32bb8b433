"""Checks for the exercises of Notebook 05 (voice queries)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from mmlab.exercises.common import attempt, speech_like_signal, verdict


def check_mfcc_by_hand(my_mfcc: Callable[[np.ndarray], np.ndarray]) -> bool:
    """05, exercise 1: ``my_mfcc(wave)`` -> (13, frames) MFCCs built by hand (|STFT|² -> mel filterbank -> dB
    relative to the peak -> DCT-II), equal to :func:`mmlab.encoders.audio.mfcc` on speech-like test clips."""
    from mmlab.encoders.audio import mfcc

    rng = np.random.default_rng(5)
    for seconds in (0.5, 1.3):
        n = int(16_000 * seconds)
        wave = speech_like_signal(n, rng) + rng.normal(0, 0.01, n).astype(np.float32)
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


def check_greedy_ctc(decode: Callable[[list[int]], list[int]]) -> bool:
    """05, exercise 2: ``decode(path)`` -> labels: the greedy CTC decode of a best path (one class id per frame,
    0 = blank): merge runs of the same id, then drop the blanks. Compared with mmlab's on hand-made paths."""
    from mmlab.models.speech import greedy_ids

    cases = [[0, 0, 5, 5, 0, 5, 7, 7, 0], [3, 3, 3], [0, 0, 0], [4, 0, 4, 4, 2, 0, 0, 2], [1, 2, 3], []]
    for path in cases:
        want = greedy_ids(torch.nn.functional.one_hot(torch.tensor([path or [0]]), 8).float(),
                          torch.tensor([len(path)]))[0]
        ok, got = attempt(decode, list(path))
        if not ok:
            return verdict(False, "", got)
        got = [int(g) for g in got] if isinstance(got, (list, tuple, np.ndarray, torch.Tensor)) else got
        if got != want:
            hint = ("drop the blanks AFTER merging repeats: a blank between two equal ids is how CTC spells a "
                    "double letter" if [c for c in path if c] == got else
                    "merge each run of equal ids into one, then remove the 0s")
            return verdict(False, "", f"for the path {path} expected {want}, got {got}; {hint}")
    return verdict(True, "your greedy CTC decode matches mmlab's: repeats merged, then blanks dropped", "")
