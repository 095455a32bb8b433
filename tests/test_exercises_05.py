"""Notebook 05's exercise checks pass a correct answer and fail a wrong one or an unfinished stub."""

from __future__ import annotations

import librosa
import numpy as np
import scipy.fft
import torch

from mmlab.exercises.voice import check_masked_mean_pool, check_mfcc_by_hand


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


def masked_mean(x, lengths):
    mask = (torch.arange(x.shape[2])[None, :] < lengths[:, None]).to(x.dtype)
    return (x * mask[:, None, :]).sum(dim=2) / lengths[:, None]


def test_masked_mean_pool_check():
    assert check_masked_mean_pool(masked_mean)
    assert not check_masked_mean_pool(lambda x, lengths: x.mean(dim=2))
    assert not check_masked_mean_pool(stub)
