"""Voice queries: from a waveform to a vector in the text encoder's space, so speech can search the catalog.

Features (librosa), one column per 10 ms frame:

    log_mel(wave)   (N_MELS, frames)  log-mel spectrogram in dB: |STFT|² -> mel filterbank -> log
    mfcc(wave)      (N_MFCC, frames)  MFCCs: the DCT of the log-mel columns, first N_MFCC coefficients
    mfcc_stats(spec) (2 * N_MFCC,)    MFCC mean and standard deviation over time: one vector per clip

Ways to put a clip into the text-embedding space of notebook 03:

``MfccMeanBaseline``   (here) the seed's MFCC-mean vector and a linear map to the text space (``RidgeMap``, ridge
                       regression on the training recordings). Averaging over time throws away the order of the
                       sounds, where the words are: an honest floor.
learned recogniser     (``mmlab.encoders.speech_ctc``) a strided conv + BiGRU network trained with CTC to hear
                       phonemes, a lexicon decoder from TRAIN text, then the text encoder: the best pipeline
                       (``mmlab.encoders.voice.embed_voice_queries``).
ASR baseline           (``mmlab.encoders.asr``) pocketsphinx with a catalog grammar, English only.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import librosa
import numpy as np
import pandas as pd
import scipy.fft
import torch

from mmlab import waves
from mmlab.data.catalog import Catalog
from mmlab.data.speech import SAMPLE_RATE

N_FFT = 400  # 25 ms analysis window at 16 kHz
HOP = 160  # 10 ms between frames: 100 frames per second
N_MELS = 40  # mel bands
N_MFCC = 13  # cepstral coefficients kept
TOP_DB = 80.0  # dynamic range kept below each clip's loudest bin
MIN_SECONDS = 0.1  # shorter clips cannot hold a word
SNRS_DB = (5, 10, 15, 20, 30)  # the signal-to-noise ratios of the catalog's voice queries

# ---------------------------------------------------------------------------------------------------
# Input checks and features
# ---------------------------------------------------------------------------------------------------


def check_wave(wave: object, sr: int = SAMPLE_RATE) -> np.ndarray:
    """``wave`` as a 1-D float32 array at 16 kHz, or an error that names the problem and the fix."""
    if sr != SAMPLE_RATE:
        raise ValueError(f"sample rate is {sr!r} Hz but voice features need {SAMPLE_RATE} Hz; resample first: "
                         f"mmlab.preprocess.resample(wave, sr={sr!r})")
    array = waves.check_wave(wave, min_samples=0, integers=False)  # too short: the message below says how long
    if array.size < MIN_SECONDS * SAMPLE_RATE:
        raise ValueError(f"the clip is empty or too short ({array.size} samples, {array.size / SAMPLE_RATE:.3f} s); "
                         f"a spoken query needs at least {MIN_SECONDS} s ({int(MIN_SECONDS * SAMPLE_RATE)} samples)")
    return array.astype(np.float32)


@functools.cache
def mel_filterbank(n_mels: int = N_MELS) -> np.ndarray:
    """The (n_mels, N_FFT // 2 + 1) matrix of triangular mel filters (librosa's Slaney-style filters)."""
    return librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=n_mels)


def log_mel(wave: np.ndarray, sr: int = SAMPLE_RATE, n_mels: int = N_MELS) -> np.ndarray:
    """Log-mel spectrogram, shape (n_mels, frames), in dB below the clip's loudest bin (0 to -TOP_DB).

    frames = 1 + len(wave) // HOP (librosa centres the windows, padding half a window at each end). The filter
    product runs in float64 and is rounded to float32: float32 BLAS kernels differ between CPUs in the last bit,
    float64 ones far below what float32 keeps, so every machine gets the same spectrogram.
    """
    power = np.abs(librosa.stft(check_wave(wave, sr), n_fft=N_FFT, hop_length=HOP)).astype(np.float64) ** 2
    mel = (mel_filterbank(n_mels).astype(np.float64) @ power).astype(np.float32)
    return librosa.power_to_db(mel, ref=np.max, top_db=TOP_DB)


def cepstrum(spec: np.ndarray, n_mfcc: int = N_MFCC) -> np.ndarray:
    """MFCCs of a log-mel spectrogram: the orthonormal DCT-II of each column, first ``n_mfcc`` rows."""
    return scipy.fft.dct(spec, type=2, norm="ortho", axis=0)[:n_mfcc]


def mfcc(wave: np.ndarray, sr: int = SAMPLE_RATE, n_mfcc: int = N_MFCC) -> np.ndarray:
    """MFCCs, shape (n_mfcc, frames).

    The same numbers as ``librosa.feature.mfcc(y=wave, sr=sr, n_mfcc=n_mfcc, n_fft=N_FFT, hop_length=HOP,
    n_mels=N_MELS)`` except coefficient 0, which depends on the dB reference (librosa: 1.0; here: the peak).
    """
    return cepstrum(log_mel(wave, sr), n_mfcc)


def mfcc_stats(spec: np.ndarray) -> np.ndarray:
    """The seed's clip vector from a log-mel spectrogram: MFCC mean and std over time, shape (2 * N_MFCC,)."""
    coefficients = cepstrum(spec)
    return np.concatenate([coefficients.mean(axis=1), coefficients.std(axis=1)]).astype(np.float32)


def standardise(spec: np.ndarray) -> np.ndarray:
    """What the learned encoder reads: a log-mel spectrogram standardised per clip, (N_MELS, frames) float32.

    Each mel band minus its mean over the clip (cancels the channel and the voice's average colour), divided by
    the clip's overall standard deviation (cancels loudness and the noise floor's spread).
    """
    spec = spec - spec.mean(axis=1, keepdims=True)
    return (spec / max(float(spec.std()), 1e-3)).astype(np.float32)


def pad_features(specs: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack (n_mels, frames_i) spectrograms into a zero-padded (B, n_mels, max_frames) batch and their lengths."""
    if not specs:
        raise ValueError("specs is empty; pass at least one spectrogram")
    for i, spec in enumerate(specs):
        if np.ndim(spec) != 2 or spec.shape[0] != specs[0].shape[0]:
            raise ValueError(f"specs[{i}] has shape {np.shape(spec)} but specs[0] {np.shape(specs[0])}; compute every "
                             "spectrogram with the same n_mels, each as (n_mels, frames)")
    lengths = torch.tensor([s.shape[1] for s in specs])
    batch = torch.zeros(len(specs), specs[0].shape[0], int(lengths.max()))
    for i, spec in enumerate(specs):
        batch[i, :, :spec.shape[1]] = torch.from_numpy(spec)
    return batch, lengths


# ---------------------------------------------------------------------------------------------------
# Baseline: MFCC mean -> linear map to the text space
# ---------------------------------------------------------------------------------------------------


class RidgeMap:
    """A linear map from clip vectors to text vectors, fitted by ridge regression in closed form.

    ``fit`` solves ``W = (XᵀX + ridge·I)⁻¹ XᵀY``: X the training clips' vectors (standardised, plus a bias
    column), Y the text vectors of what they say; ``embed`` returns unit rows in the text space.
    """

    def __init__(self, ridge: float = 1.0) -> None:
        self.ridge = ridge

    def _design(self, features: np.ndarray) -> np.ndarray:
        standard = (features - self.mean) / self.std
        return np.hstack([standard, np.ones((len(features), 1), dtype=np.float32)])

    def fit(self, features: np.ndarray, targets: np.ndarray) -> RidgeMap:
        self.mean, self.std = features.mean(axis=0), features.std(axis=0) + 1e-6
        x = self._design(features)
        self.weights = np.linalg.solve(x.T @ x + self.ridge * np.eye(x.shape[1]), x.T @ targets)
        return self

    def embed(self, features: np.ndarray) -> np.ndarray:
        """(n, dim) unit rows in the text space."""
        vectors = self._design(features) @ self.weights
        return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


class MfccMeanBaseline(RidgeMap):
    """The seed's MFCC-mean vector (MFCC mean and std over time, ``mfcc_stats``) mapped linearly into the text space.

    Nothing is learned about words, only which voices, lengths and sound colours go with which region of the text
    space: averaging over time throws the order of the sounds away.
    """

    def embed_waves(self, waves: Sequence[np.ndarray]) -> np.ndarray:
        return self.embed(np.stack([mfcc_stats(log_mel(w)) for w in waves]))


# ---------------------------------------------------------------------------------------------------
# The public entry point: voice queries -> the text space
# ---------------------------------------------------------------------------------------------------


def voice_queries(catalog: Catalog, split: str) -> pd.DataFrame:
    """The catalog's voice queries of one split."""
    queries = catalog.queries[(catalog.queries.modality == "voice") & (catalog.queries.split == split)]
    if queries.empty:
        raise ValueError(f"no voice queries in split {split!r}; splits are {sorted(catalog.queries.split.unique())}")
    return queries
