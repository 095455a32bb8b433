"""Voice queries: from a waveform to a vector in the text encoder's space, so speech can search the catalog.

Features (librosa), one column per 10 ms frame:

    log_mel(wave)   (N_MELS, frames)  log-mel spectrogram in dB: |STFT|² -> mel filterbank -> log
    mfcc(wave)      (N_MFCC, frames)  MFCCs: the DCT of the log-mel columns, first N_MFCC coefficients
    mfcc_stats(wave) (2 * N_MFCC,)    MFCC mean and standard deviation over time: one vector per clip

Two ways to put a clip into the text-embedding space (a third, ASR -> text, is in ``mmlab.encoders.asr``):

``MfccMeanBaseline``  the seed's MFCC-mean vector and a linear map to the text space, fitted by ridge
                      regression on the training utterances. Averaging over time throws away word order and
                      most of what was said: an honest floor, not a contender.
``AudioEncoder``      a small CNN over log-mel frames: a strided 1-D conv front end (as in wav2vec 2.0, but on
                      log-mel frames instead of raw samples) and masked mean + max pooling over the valid frames,
                      so clips of any length work and padding never changes a clip's vector. Trained with InfoNCE
                      to land near the FROZEN text-encoder vector of the typed text it speaks; since the text
                      encoder puts that text near its SKU, the spoken query lands near the SKU too.

Training data (TRAIN split only): the catalog's training voice queries, plus every training typed query (no
typos) spoken once more by espeak-ng with a random voice, rate and pitch and mixed with noise at a random SNR,
the way the catalog made its voice queries. Val/test/zero-shot texts are never spoken for training.

Public API::

    model, summary = trained_audio_encoder(catalog)             # cached in the zoo; trains the text encoder if needed
    vectors = voice_embeddings(model, catalog, query_ids)       # (n, dim) unit rows in the text space
    vectors = encode_waves(model, [wave, ...])                  # the same for your own 16 kHz mono clips
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass

import librosa
import numpy as np
import pandas as pd
import scipy.fft
import torch
import torch.nn.functional as F
from torch import nn

from mmlab import zoo
from mmlab.augment import spec_augment
from mmlab.data import speech
from mmlab.data.catalog import Catalog
from mmlab.data.speech import SAMPLE_RATE
from mmlab.encoders.text import TextEncoder, encode_texts, product_text_embeddings, trained_text_encoder
from mmlab.losses import InfoNCELoss
from mmlab.metrics import ndcg_at_k
from mmlab.retrieval import rank_ids
from mmlab.train import fit

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
    array = np.asarray(wave)
    if array.ndim == 2:
        raise ValueError(f"wave has shape {array.shape}: that is several channels; mix down to mono first: "
                         "mmlab.preprocess.to_mono(wave) for a (samples, channels) array")
    if array.ndim != 1:
        raise ValueError(f"wave must be a 1-D mono waveform, got shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise TypeError(f"wave must hold numbers, got dtype {array.dtype}")
    if np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"wave holds integers ({array.dtype}); scale to floats in [-1, 1] first, e.g. wave / 32768")
    if array.size < MIN_SECONDS * SAMPLE_RATE:
        raise ValueError(f"the clip is empty or too short ({array.size} samples, {array.size / SAMPLE_RATE:.3f} s); "
                         f"a spoken query needs at least {MIN_SECONDS} s ({int(MIN_SECONDS * SAMPLE_RATE)} samples)")
    if not np.isfinite(array).all():
        raise ValueError("wave contains NaN or infinite samples; fix or drop the clip")
    return array.astype(np.float32)


@functools.cache
def mel_filterbank(n_mels: int = N_MELS) -> np.ndarray:
    """The (n_mels, N_FFT // 2 + 1) matrix of triangular mel filters (librosa's Slaney-style filters)."""
    return librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=n_mels)


def log_mel(wave: np.ndarray, sr: int = SAMPLE_RATE, n_mels: int = N_MELS) -> np.ndarray:
    """Log-mel spectrogram, shape (n_mels, frames), in dB below the clip's loudest bin (0 to -TOP_DB).

    frames = 1 + len(wave) // HOP (librosa centres the windows, padding half a window at each end).
    """
    power = np.abs(librosa.stft(check_wave(wave, sr), n_fft=N_FFT, hop_length=HOP)) ** 2
    return librosa.power_to_db(mel_filterbank(n_mels) @ power, ref=np.max, top_db=TOP_DB)


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


def clip_features(wave: np.ndarray, sr: int = SAMPLE_RATE) -> tuple[np.ndarray, np.ndarray]:
    """Both models' inputs from one log-mel pass: (standardised log-mel (N_MELS, frames), MFCC stats (2 * N_MFCC,))."""
    spec = log_mel(wave, sr)
    return standardise(spec), mfcc_stats(spec)


def pad_features(specs: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack (n_mels, frames_i) spectrograms into a zero-padded (B, n_mels, max_frames) batch and their lengths."""
    if not specs:
        raise ValueError("specs is empty; pass at least one spectrogram")
    lengths = torch.tensor([s.shape[1] for s in specs])
    batch = torch.zeros(len(specs), specs[0].shape[0], int(lengths.max()))
    for i, spec in enumerate(specs):
        batch[i, :, :spec.shape[1]] = torch.from_numpy(spec)
    return batch, lengths


# ---------------------------------------------------------------------------------------------------
# The learned encoder
# ---------------------------------------------------------------------------------------------------


def valid_mask(lengths: torch.Tensor, frames: int) -> torch.Tensor:
    """(B, frames) True on the first ``lengths[i]`` frames of row i: the real frames, not the padding."""
    return torch.arange(frames)[None, :] < lengths[:, None]


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over the valid frames only: ``x`` (B, C, T), ``mask`` (B, T) -> (B, C)."""
    weights = mask[:, None, :].to(x.dtype)
    return (x * weights).sum(dim=2) / weights.sum(dim=2).clamp(min=1.0)


def masked_max(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Maximum over the valid frames only: ``x`` (B, C, T), ``mask`` (B, T) -> (B, C)."""
    return x.masked_fill(~mask[:, None, :], float("-inf")).amax(dim=2)


class ConvBlock(nn.Module):
    """Conv1d over time -> LayerNorm over channels -> GELU, then padded frames reset to zero.

    LayerNorm normalises each frame on its own (BatchNorm would mix padding into its statistics), and zeroing
    the padding after every block means a clip gives the same output alone or padded in a batch.
    """

    def __init__(self, channels_in: int, channels_out: int, kernel: int, stride: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(channels_in, channels_out, kernel, stride=stride, padding=kernel // 2)
        self.norm = nn.LayerNorm(channels_out)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.conv(x)
        lengths = (lengths + 2 * self.conv.padding[0] - self.conv.kernel_size[0]) // self.conv.stride[0] + 1
        x = F.gelu(self.norm(x.transpose(1, 2)).transpose(1, 2))
        return x * valid_mask(lengths, x.shape[2])[:, None, :], lengths


class AudioEncoder(nn.Module):
    """Log-mel frames (B, n_mels, T) and their lengths (B,) -> (B, dim) unit vectors.

    Two strided blocks shorten time 4x (10 ms -> 40 ms frames, like wav2vec's conv front end shortens raw
    samples), then ``depth`` more blocks widen the view to about half a second (a word or two); the vector is
    the masked mean and max over the valid frames, projected to the text encoder's ``dim``.
    """

    def __init__(self, n_mels: int = N_MELS, dim: int = 128, channels: int = 128, depth: int = 2) -> None:
        super().__init__()
        self.blocks = nn.ModuleList([ConvBlock(n_mels, channels, 5, 2), ConvBlock(channels, channels, 5, 2)]
                                    + [ConvBlock(channels, channels, 3, 1) for _ in range(depth)])
        self.out = nn.Linear(2 * channels, dim)

    def forward(self, specs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if specs.ndim != 3 or lengths.shape != specs.shape[:1]:
            raise ValueError(f"specs must be (batch, n_mels, frames) with one length per clip, got "
                             f"{tuple(specs.shape)} and {tuple(lengths.shape)}; build them with pad_features")
        x = specs
        for block in self.blocks:
            x, lengths = block(x, lengths)
        mask = valid_mask(lengths, x.shape[2])
        return F.normalize(self.out(torch.cat([masked_mean(x, mask), masked_max(x, mask)], dim=1)), dim=-1)


@torch.no_grad()
def embed_features(model: AudioEncoder, specs: Sequence[np.ndarray], batch_size: int = 128) -> np.ndarray:
    """Encode spectrograms (from ``standardise(log_mel(wave))``): (n, dim) float32 unit rows, eval mode."""
    model.eval()
    order = np.argsort([s.shape[1] for s in specs])  # similar lengths together: less padding to compute
    out = np.zeros((len(specs), model.out.out_features), dtype=np.float32)
    for start in range(0, len(specs), batch_size):
        rows = order[start:start + batch_size]
        out[rows] = model(*pad_features([specs[i] for i in rows])).numpy()
    return out


def encode_waves(model: AudioEncoder, waves: Sequence[np.ndarray]) -> np.ndarray:
    """Encode 16 kHz mono clips: (len(waves), dim) float32 unit rows in the text encoder's space."""
    if not isinstance(model, AudioEncoder):
        raise TypeError(f"model must be an AudioEncoder (from trained_audio_encoder), got {type(model).__name__}")
    if isinstance(waves, np.ndarray) and waves.ndim == 1 or not len(waves):
        raise TypeError("waves must be a non-empty list of 1-D waveforms; wrap a single clip in a list: [wave]")
    return embed_features(model, [standardise(log_mel(w)) for w in waves])


# ---------------------------------------------------------------------------------------------------
# Training data: the TRAIN split, spoken
# ---------------------------------------------------------------------------------------------------


@dataclass
class Utterances:
    """Clips ready for the encoder: their features, the typed text each speaks, and its language."""

    specs: list[np.ndarray]
    stats: np.ndarray
    texts: list[str]
    langs: list[str]


def voice_queries(catalog: Catalog, split: str) -> pd.DataFrame:
    """The catalog's voice queries of one split."""
    queries = catalog.queries[(catalog.queries.modality == "voice") & (catalog.queries.split == split)]
    if queries.empty:
        raise ValueError(f"no voice queries in split {split!r}; splits are {sorted(catalog.queries.split.unique())}")
    return queries


def speak(text: str, lang: str, rng: np.random.Generator) -> np.ndarray:
    """``text`` spoken by a random espeak-ng voice at a random rate and pitch, with noise at a random SNR.

    The ranges are those of the catalog's own voice queries (``mmlab.data.queries.voice_queries``).
    """
    clean = speech.synthesize(text, lang, voice=int(rng.integers(len(speech.VOICES[lang]))),
                              rate=int(rng.integers(130, 200)), pitch=int(rng.integers(30, 70)))
    kind = speech.NOISE_KINDS[rng.integers(len(speech.NOISE_KINDS))]
    return speech.mix_noise(clean, float(rng.choice(SNRS_DB)), rng, kind)


def training_utterances(catalog: Catalog, extra_per_text: int, seed: int) -> Utterances:
    """The catalog's TRAIN voice queries, plus ``extra_per_text`` new recordings of every TRAIN typed query
    without a typo (no val, test or zero-shot text is ever spoken here)."""
    rng = np.random.default_rng(seed)
    recorded = voice_queries(catalog, "train")
    typed = catalog.queries[(catalog.queries.modality == "text") & (catalog.queries.split == "train")
                            & ~catalog.queries.has_typo]
    features = [clip_features(catalog.query_audio(q)) for q in recorded.query_id]
    texts, langs = recorded.text.tolist(), recorded.lang.tolist()
    for _ in range(extra_per_text):
        features += [clip_features(speak(t, lang, rng)) for t, lang in zip(typed.text, typed.lang)]
        texts += typed.text.tolist()
        langs += typed.lang.tolist()
    return Utterances([spec for spec, _ in features], np.stack([stats for _, stats in features]), texts, langs)


# ---------------------------------------------------------------------------------------------------
# Baseline: MFCC mean -> linear map to the text space
# ---------------------------------------------------------------------------------------------------


class MfccMeanBaseline:
    """The seed's MFCC-mean vector, standardised, mapped linearly into the text space (ridge regression).

    ``fit`` solves ``W = (XᵀX + ridge·I)⁻¹ XᵀY`` in closed form: X the training clips' MFCC stats (plus a bias
    column), Y the text vectors of what they say. Nothing is learned about words, only which voices, lengths
    and sound colours go with which region of the text space.
    """

    def __init__(self, ridge: float = 1.0) -> None:
        self.ridge = ridge

    def _design(self, stats: np.ndarray) -> np.ndarray:
        standard = (stats - self.mean) / self.std
        return np.hstack([standard, np.ones((len(stats), 1), dtype=np.float32)])

    def fit(self, stats: np.ndarray, targets: np.ndarray) -> MfccMeanBaseline:
        self.mean, self.std = stats.mean(axis=0), stats.std(axis=0) + 1e-6
        x = self._design(stats)
        self.weights = np.linalg.solve(x.T @ x + self.ridge * np.eye(x.shape[1]), x.T @ targets)
        return self

    def embed(self, stats: np.ndarray) -> np.ndarray:
        """(n, dim) unit rows in the text space for MFCC stats (n, 2 * N_MFCC)."""
        vectors = self._design(stats) @ self.weights
        return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)

    def embed_waves(self, waves: Sequence[np.ndarray]) -> np.ndarray:
        return self.embed(np.stack([mfcc_stats(log_mel(w)) for w in waves]))


# ---------------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------------

TEXT_KIND = "mean"  # the text encoder whose space voice joins: the cheapest to train (see notebook 05)


@dataclass(frozen=True)
class AudioConfig:
    """Everything that decides the trained weights (the zoo keys checkpoints by it)."""

    text_kind: str = TEXT_KIND
    channels: int = 128
    depth: int = 2
    extra_per_text: int = 1  # new recordings of each training typed query
    epochs: int = 6  # more epochs only memorise the training clips better (see notebook 05)
    batch_size: int = 128
    lr: float = 2e-3
    temperature: float = 0.05
    patience: int = 3


@dataclass
class ClipBatch:
    specs: torch.Tensor
    lengths: torch.Tensor
    targets: torch.Tensor
    positives: torch.Tensor


class ClipSampler:
    """Shuffled batches of training clips, SpecAugmented afresh every epoch, with their text vectors.

    ``positives`` marks clips in a batch that say the same text (a catalog recording and our new one): they
    are not each other's negatives.
    """

    def __init__(self, data: Utterances, targets: np.ndarray, batch_size: int, seed: int) -> None:
        self.data, self.targets, self.batch_size, self.seed = data, torch.from_numpy(targets), batch_size, seed
        self.text_ids = torch.from_numpy(np.unique(data.texts, return_inverse=True)[1])

    def __call__(self, epoch: int) -> Iterator[ClipBatch]:
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(len(self.data.specs))
        for start in range(0, len(order) - 1, self.batch_size):  # a last batch of one has no negatives
            rows = order[start:start + self.batch_size]
            specs, lengths = pad_features([spec_augment(self.data.specs[i], rng, time_width=8) for i in rows])
            ids = self.text_ids[rows]
            yield ClipBatch(specs, lengths, self.targets[rows], ids[:, None] == ids[None, :])


def val_ndcg(model: AudioEncoder, catalog: Catalog, products: np.ndarray) -> Callable[[], float]:
    """The score training tracks: NDCG@10 of the VAL voice queries against the whole catalog."""
    queries = voice_queries(catalog, "val")
    specs = [standardise(log_mel(catalog.query_audio(q))) for q in queries.query_id]
    relevance = catalog.relevance(queries.query_id)
    grades = [relevance[q] for q in queries.query_id]

    def score() -> float:
        ranked = rank_ids(embed_features(model, specs), products, catalog.skus.sku_id, 10)
        return ndcg_at_k(ranked, grades, 10)

    return score


def train_audio_encoder(model: AudioEncoder, catalog: Catalog, text_model: TextEncoder, config: AudioConfig,
                        seed: int = 0, progress: bool = True) -> dict:
    """Fit ``model`` with InfoNCE against the frozen text vectors of the training clips; keep the best epoch on
    VAL. Returns a JSON-able summary."""
    start = time.perf_counter()
    data = training_utterances(catalog, config.extra_per_text, seed)
    targets = encode_texts(text_model, data.texts)
    prepared = time.perf_counter() - start
    sampler = ClipSampler(data, targets, config.batch_size, seed)
    loss = InfoNCELoss(config.temperature, learnable=False)
    history = fit(model, sampler, lambda m, b: loss(m(b.specs, b.lengths), b.targets, b.positives),
                  epochs=config.epochs, lr=config.lr, evaluate=val_ndcg(model, catalog,
                                                                         product_text_embeddings(text_model, catalog)),
                  patience=config.patience, progress=progress)
    return {"loss": history.loss, "val_ndcg10": history.val, "best_epoch": history.best_epoch,
            "clips": len(data.specs), "data_seconds": prepared, "train_seconds": history.seconds,
            "seconds": time.perf_counter() - start, "parameters": sum(p.numel() for p in model.parameters())}


def weights_hash(model: nn.Module) -> str:
    """A short hash of a model's weights: the identity of the frozen text encoder an audio encoder was fitted to."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode() + tensor.detach().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


def trained_audio_encoder(catalog: Catalog, seed: int = 0, text_model: TextEncoder | None = None,
                          progress: bool = True) -> tuple[AudioEncoder, dict]:
    """The learned audio encoder for ``catalog``, from the zoo if trained before: ``(model, summary)``.

    ``text_model`` is the frozen text encoder whose space the voice vectors join (default: the zoo's
    ``TEXT_KIND`` encoder, trained first if needed). The checkpoint is keyed by the config, the seed, the
    catalog's fingerprint and the text encoder's weights.
    """
    config = AudioConfig(epochs=4) if catalog.fast else AudioConfig()
    if text_model is None:
        text_model, _ = trained_text_encoder(catalog, kind=config.text_kind, seed=seed, progress=progress)
    key = asdict(config) | {"text_model": weights_hash(text_model), "seed": seed}
    dim = encode_texts(text_model, ["dim"]).shape[1]
    return zoo.trained("audio-cnn", key, catalog.fingerprint(),
                       build=lambda: AudioEncoder(dim=dim, channels=config.channels, depth=config.depth),
                       train=lambda m: train_audio_encoder(m, catalog, text_model, config, seed, progress), seed=seed)


def voice_embeddings(model: AudioEncoder, catalog: Catalog, query_ids: Sequence[str]) -> np.ndarray:
    """The catalog's voice queries ``query_ids`` encoded: (n, dim) unit rows in the text space."""
    return encode_waves(model, [catalog.query_audio(q) for q in query_ids])


def embed_voice_queries(catalog: Catalog, queries: pd.DataFrame, *, fast: bool, seed: int = 0) -> np.ndarray:
    """Voice queries as (len(queries), dim) float32 unit rows in notebook 03's text-query space.

    ``queries`` are rows of ``catalog.queries`` with ``modality == "voice"`` (column ``query_id``); ``fast`` must
    match the catalog's mode. The text encoder is the zoo's ``TEXT_KIND`` encoder of notebook 03 (loaded, or
    trained once and cached); the voice model is the best learned pipeline, from the zoo or trained once.
    """
    if bool(fast) != bool(catalog.fast):
        raise ValueError(f"fast={fast} but the catalog was loaded with fast={catalog.fast}; load_catalog(fast={fast})")
    if "query_id" not in queries:
        raise ValueError("queries must have a query_id column (rows of catalog.queries)")
    text_model, _ = trained_text_encoder(catalog, kind=TEXT_KIND, seed=seed, progress=False)
    model, _ = trained_audio_encoder(catalog, seed=seed, text_model=text_model, progress=False)
    if queries.empty:
        return np.zeros((0, model.out.out_features), dtype=np.float32)
    return voice_embeddings(model, catalog, queries.query_id.tolist())
