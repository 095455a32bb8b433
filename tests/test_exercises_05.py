"""Notebook 05's exercise checks pass a correct answer and fail a wrong one or an unfinished stub."""

from __future__ import annotations

import librosa
import numpy as np
import scipy.fft

from mmlab.exercises.voice import check_greedy_ctc, check_mfcc_by_hand


def stub(*args):
    raise NotImplementedError


def mfcc_by_hand(wave, ref=np.max):
    power = np.abs(librosa.stft(wave, n_fft=400, hop_length=160)) ** 2
    mel = librosa.filters.mel(sr=16_000, n_fft=400, n_mels=40) @ power
    return scipy.fft.dct(librosa.power_to_db(mel, ref=ref, top_db=80), type=2, norm="ortho", axis=0)[:13]


def mfcc_without_log(wave):
    power = np.abs(librosa.stft(wave, n_fft=400, hop_length=160)) ** 2
    mel = librosa.filters.mel(sr=16_000, n_fft=400, n_mels=40) @ power
    return scipy.fft.dct(mel, type=2, norm="ortho", axis=0)[:13]


def test_mfcc_check():
    assert check_mfcc_by_hand(mfcc_by_hand)
    assert not check_mfcc_by_hand(mfcc_without_log)
    assert not check_mfcc_by_hand(lambda wave: mfcc_by_hand(wave, ref=1.0))  # coefficient 0 differs
    assert not check_mfcc_by_hand(lambda wave: mfcc_by_hand(wave)[:, :-1])  # a frame short
    assert not check_mfcc_by_hand(stub)


def greedy(path):
    return [c for i, c in enumerate(path) if c != 0 and (i == 0 or c != path[i - 1])]


def test_greedy_ctc_check():
    assert check_greedy_ctc(greedy)
    assert not check_greedy_ctc(lambda path: greedy([c for c in path if c != 0]))  # blanks dropped first
    assert not check_greedy_ctc(lambda path: [c for c in path if c != 0])  # repeats kept
    assert not check_greedy_ctc(stub)
