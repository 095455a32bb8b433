"""The recogniser's training speech: TRAIN text spoken by espeak-ng with the catalog's noises, as features.

Every training typed query without a typo, and the lexicon's phrases three at a time, spoken by the catalog's
espeak-ng voices at random rates and pitches with the catalog's noises at random SNRs. Val/test/zero-shot text is
never spoken for training. Synthesis runs in two processes and is cached (``cached_features``); ``CTCSampler``
batches the clips for training.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass

import numpy as np
import torch

from mmlab.augment import spec_augment
from mmlab.config import cache_dir
from mmlab.data import noise, speech
from mmlab.data.catalog import Catalog
from mmlab.encoders.audio import N_MELS, SNRS_DB, log_mel, pad_features, standardise
from mmlab.encoders.lexicon import build_lexicon, train_queries
from mmlab.models.speech import CTCBatch

FEATURES_VERSION = 2  # bump when the synthesis or feature code changes what cached features hold


@dataclass(frozen=True)
class SpeechJob:
    """One clip to synthesise: text, language, voice settings and noise, and the seed of its noise."""

    text: str
    lang: str
    voice: int
    rate: int
    pitch: int
    noise: str
    snr_db: float
    seed: int


def random_job(text: str, lang: str, rng: np.random.Generator) -> SpeechJob:
    """The catalog's voice-query recipe (``mmlab.data.queries.voice_queries``) for a new text."""
    return SpeechJob(text, lang, int(rng.integers(len(speech.VOICES[lang]))), int(rng.integers(130, 200)),
                     int(rng.integers(30, 70)), str(rng.choice(noise.NOISE_KINDS)), float(rng.choice(SNRS_DB)),
                     int(rng.integers(2**31)))


def job_features(job: SpeechJob) -> np.ndarray:
    """The standardised log-mel spectrogram (N_MELS, frames) of one synthesised, noisy clip, as float16."""
    clean = speech.synthesize(job.text, job.lang, job.voice, job.rate, job.pitch)
    noisy = noise.mix_noise(clean, job.snr_db, np.random.default_rng(job.seed), job.noise)
    return standardise(log_mel(noisy)).astype(np.float16)


def _features_chunk(jobs: list[SpeechJob]) -> list[np.ndarray]:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # tiny FFTs and products: extra threads per process only fight over the cores
        return [job_features(job) for job in jobs]


def synthesise_features(jobs: Sequence[SpeechJob], workers: int = 2) -> list[np.ndarray]:
    """``job_features`` of every job, in ``workers`` forked processes (results in job order, deterministic)."""
    jobs = list(jobs)
    if workers <= 1 or len(jobs) < 50 or "fork" not in multiprocessing.get_all_start_methods():
        return _features_chunk(jobs)
    chunks = [jobs[i:i + 100] for i in range(0, len(jobs), 100)]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        return [spec for chunk in pool.map(_features_chunk, chunks) for spec in chunk]


def training_jobs(catalog: Catalog, seed: int, phrases_per_clip: int = 3) -> list[SpeechJob]:
    """What to speak for training, from TRAIN text only: each training query once, and the lexicon phrases
    ``phrases_per_clip`` at a time (so every word the decoder knows has been heard at least once)."""
    rng = np.random.default_rng(seed)
    jobs = [random_job(t, lang, rng) for t, lang in zip(*train_queries(catalog)[["text", "lang"]].T.to_numpy())]
    for lang, phrases in build_lexicon(catalog).items():
        order = rng.permutation(len(phrases))
        joiner = " " if lang == "en" else ""
        for start in range(0, len(order), phrases_per_clip):
            text = joiner.join(phrases[i] for i in order[start:start + phrases_per_clip])
            jobs.append(random_job(text, lang, rng))
    return jobs


def cached_features(catalog: Catalog, jobs: Sequence[SpeechJob], workers: int = 2) -> list[np.ndarray]:
    """``synthesise_features(jobs)``, stored in the zoo folder keyed by the jobs and the feature code version; a
    stale or damaged file is rebuilt."""
    payload = json.dumps([asdict(j) for j in jobs] + [FEATURES_VERSION, N_MELS], sort_keys=True)
    key = hashlib.sha256(payload.encode()).hexdigest()[:16]
    path = cache_dir() / "zoo" / f"speech-features-{key}.npz"
    if path.exists():
        with contextlib.suppress(Exception), np.load(path) as stored:
            lengths, flat = stored["lengths"], stored["flat"]
            if len(lengths) == len(jobs):
                return np.split(flat, np.cumsum(lengths)[:-1], axis=1)
    specs = synthesise_features(jobs, workers)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")  # two notebooks may build it at once
    np.savez(temporary, lengths=np.array([s.shape[1] for s in specs]), flat=np.concatenate(specs, axis=1))
    temporary.replace(path)
    return specs


@dataclass
class SpeechData:
    """Training clips as standardised log-mel spectrograms (float16) and their phoneme id targets."""

    specs: list[np.ndarray]
    targets: list[list[int]]


class CTCSampler:
    """Batches of clips of similar length (less padding to compute), SpecAugmented afresh every epoch."""

    def __init__(self, data: SpeechData, batch_size: int, seed: int) -> None:
        self.data, self.batch_size, self.seed = data, batch_size, seed
        self.frames = np.array([s.shape[1] for s in data.specs])

    def __call__(self, epoch: int) -> Iterator[CTCBatch]:
        rng = np.random.default_rng([self.seed, epoch])
        order = np.argsort(self.frames + rng.uniform(0, 30, len(self.frames)), kind="stable")
        batches = [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        for b in rng.permutation(len(batches)):
            rows = batches[b]
            specs = [spec_augment(self.data.specs[i].astype(np.float32), rng, freq_width=6, time_width=6)
                     for i in rows]
            padded, lengths = pad_features(specs)
            targets = [self.data.targets[i] for i in rows]
            yield CTCBatch(padded, lengths, torch.tensor([t for ts in targets for t in ts]),
                           torch.tensor([len(t) for t in targets]))
