"""A speech recogniser learned from scratch: log-mel frames -> phonemes (CTC) -> catalog words -> the text space.

Why phonemes. Learning whole queries (a clip vector pulled towards its text vector) needs many recordings of every
word, and MiniMart's ~2,700 training sentences hold ~2,800 different words: an encoder trained that way memorises
its sentences (notebook 05: 0.009 test NDCG@10, random level). Sounds are shared: some forty English phonemes and a
hundred-odd toned Mandarin syllable parts make up every word, so a recogniser of sounds trained on a few thousand
clips hears words it has never heard in training. This is the wav2vec 2.0 recipe at laptop scale: a strided
convolutional feature encoder, a context network and a CTC head over phonemes (as in wav2vec2-xlsr-53-espeak-cv-ft,
whose labels also come from espeak-ng), here trained from scratch on log-mel frames instead of pre-trained on raw
audio (there is no unlabelled speech corpus offline).

Pipeline for one clip:

    wave --log_mel--> (40, T) --SpeechCTC--> (T/3, classes) --greedy CTC--> phonemes
         --LexiconDecoder (both languages' lexicons; the cheaper wins)--> "buy red cotton t-shirt" / "想买红色T恤"
         --text encoder (notebook 03)--> a unit vector in the products' space

``phonemize``      espeak-ng's own phonemes of a text (its C API ``espeak_TextToPhonemes`` through ctypes): the
                   exact sounds the synthesiser makes for that text, so labels and audio always agree.
``SpeechCTC``      Conv1d(k=5, strided: 10 ms -> 30 or 40 ms frames) and Conv1d(k=5), then a bidirectional GRU and
                   a linear layer to one score per phoneme and the CTC blank. The model, its loss step ``ctc_loss``
                   and ``greedy_ids`` are written and explained in notebook 05 (``mmlab.models.speech``); this
                   module trains and runs them.
``LexiconDecoder`` turns heard phonemes into phrases of a lexicon built from TRAIN text only (product names and
                   keywords of the training types, SKU attributes, words and carrier phrases of training queries):
                   a dynamic program (compiled with numba) splits the phonemes into the entries with the smallest
                   total edit distance, ignoring word breaks, and may drop phonemes it cannot match (noise).

Training data (TRAIN split only, ``training_jobs``): every training typed query without a typo, and the lexicon's
phrases three at a time, spoken by the catalog's espeak-ng voices at random rates and pitches with the catalog's
noises at random SNRs; plus the catalog's own TRAIN voice recordings. Val/test/zero-shot text is never spoken for
training; VAL recordings choose the epoch. Synthesis runs in two processes and is cached (``cached_features``).

Public API::

    recogniser, summary = trained_recogniser(catalog, seed=0)    # zoo-cached; trains once
    trained_recogniser(catalog, model_class=MySpeechCTC)         # your own model class (retrains when its code changes)
    recogniser.transcribe(waves)                                 # ["buy red t-shirt", "想买红色T恤", ...]
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import multiprocessing
import os
import re
import time
import types
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass

import numba
import numpy as np
import pandas as pd
import torch
from torch import nn

from mmlab import zoo
from mmlab.augment import spec_augment
from mmlab.config import cache_dir
from mmlab.data import speech
from mmlab.data.catalog import Catalog
from mmlab.encoders.asr import carrier_phrases, words
from mmlab.encoders.audio import N_MELS, SNRS_DB, log_mel, pad_features, standardise
from mmlab.models.speech import CTCBatch, SpeechCTC, ctc_loss, greedy_ids, valid_mask
from mmlab.train import fit, summary

BLANK = "<blank>"
_PHONEME_MODE = 0x02 | (ord("_") << 8)  # IPA, with "_" between phonemes (espeak_TextToPhonemes's phonememode)
_TONE = re.compile(r"[0-9]|(?<=.)ɜ$")  # espeak-ng's cmn voice writes the tone on the vowel: "iɑ2", "aɜ", "o-5"
_SWITCH = re.compile(r"\([a-z]+\)")  # "(en)...(cmn)" language switches inside a phoneme string
FEATURES_VERSION = 2  # bump when the synthesis or feature code changes what cached features hold
ZH_CARRIERS_MIN = 3  # a Chinese carrier phrase (想买, 推荐) must wrap at least this many training queries

# ---------------------------------------------------------------------------------------------------
# Phonemes from espeak-ng
# ---------------------------------------------------------------------------------------------------

_PHONEME_CACHE: dict[tuple[str, str], tuple[tuple[str, ...], ...]] = {}


def _split_words(raw: str) -> list[tuple[str, ...]]:
    """espeak's "b_ˈaɪ_ ɡ_ɹ_ˈiː_n" -> [("b", "aɪ"), ("ɡ", "ɹ", "iː", "n")]: stress and switches dropped."""
    words = []
    for word in raw.split():
        tokens = tuple(t for t in _SWITCH.sub("", word).replace("ˈ", "").replace("ˌ", "").split("_") if t)
        if tokens:
            words.append(tokens)
    return words


def phonemize(texts: Sequence[str], lang: str) -> list[tuple[tuple[str, ...], ...]]:
    """espeak-ng's phonemes of each text as words of phoneme tokens (the language's first voice; variants, rate
    and pitch do not change phonemes). One library load for the whole list; results are memoised."""
    if lang not in speech.VOICES:
        raise ValueError(f"unknown lang {lang!r}; use one of {sorted(speech.VOICES)}")
    todo = [t for t in dict.fromkeys(texts) if (lang, t) not in _PHONEME_CACHE]
    if todo:
        with speech._LOCK, speech._fresh_espeak() as lib:
            lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
            lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int]
            lib.espeak_SetVoiceByName(speech.VOICES[lang][0].encode())
            for text in todo:
                buffer = ctypes.create_string_buffer(text.encode() + b"\0")
                pointer = ctypes.c_void_p(ctypes.addressof(buffer))  # espeak advances it clause by clause
                words = []
                while pointer.value:
                    words += _split_words(lib.espeak_TextToPhonemes(ctypes.byref(pointer), 1, _PHONEME_MODE).decode())
                _PHONEME_CACHE[lang, text] = tuple(words)
    return [_PHONEME_CACHE[lang, t] for t in texts]


# ---------------------------------------------------------------------------------------------------
# Phoneme vocabulary
# ---------------------------------------------------------------------------------------------------


class PhonemeVocab:
    """Phoneme tokens <-> ids: 0 is the CTC blank, then every token seen in training text.

    Targets carry no word breaks: espeak-ng runs words together, the decoder does not trust breaks anyway, and
    leaving them out gave a better VAL score for the same training time (0.839 against 0.794 NDCG@10).
    """

    def __init__(self, tokens: Sequence[str]) -> None:
        self.tokens = [BLANK] + sorted(set(tokens) - {BLANK})
        self.index = {t: i for i, t in enumerate(self.tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, words: Sequence[Sequence[str]]) -> list[int]:
        """Words of tokens -> one id sequence; tokens never seen in training are skipped."""
        return [self.index[t] for word in words for t in word if t in self.index]

    def decode(self, ids: Sequence[int]) -> list[str]:
        """Ids (blanks already removed) -> tokens."""
        return [self.tokens[i] for i in ids if i > 0]


# ---------------------------------------------------------------------------------------------------
# Lexicon and decoding
# ---------------------------------------------------------------------------------------------------


def edit_distances(query: np.ndarray, entries: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Levenshtein distance between one id sequence and each padded row of ``entries`` (N, L), all at once.

    Row by row over the query; within a row the insertion chain is a running minimum (cummin of D - k, + k).
    """
    n, width = entries.shape
    positions = np.arange(width + 1)
    previous = np.broadcast_to(positions, (n, width + 1)).astype(np.int32)
    for i, token in enumerate(query, start=1):
        current = np.empty_like(previous)
        current[:, 0] = i
        current[:, 1:] = np.minimum(previous[:, 1:] + 1, previous[:, :-1] + (entries != token))
        current = np.minimum.accumulate(current - positions, axis=1) + positions
        previous = current
    return previous[np.arange(n), lengths]


@numba.njit(cache=True)
def _segment(hyp: np.ndarray, entries: np.ndarray, lengths: np.ndarray, substitution: np.ndarray,
             entry_cost: float, drop_cost: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best split of ``hyp`` into lexicon entries by phoneme edit distance (compiled with numba).

    best[j] = the cheapest explanation of hyp[:j]: either hyp[j-1] dropped (``drop_cost``), or an entry e matched
    to hyp[i:j] at its edit distance + ``entry_cost`` (insertions and deletions cost 1, substituting a for b
    ``substitution[a, b]``). For each start i and entry e one small edit-distance table
    gives the cost of every end j at once (ends within 3 phonemes of the entry's length).
    """
    n, width = len(hyp), entries.shape[1]
    best = np.full(n + 1, np.inf)
    best[0] = 0.0
    start_of = np.full(n + 1, -1, dtype=np.int64)
    entry_of = np.full(n + 1, -1, dtype=np.int64)
    previous = np.empty(width + 4, dtype=np.float64)
    current = np.empty(width + 4, dtype=np.float64)
    for i in range(n):
        if best[i] + drop_cost < best[i + 1]:
            best[i + 1], start_of[i + 1], entry_of[i + 1] = best[i] + drop_cost, i, -1
        for e in range(len(lengths)):
            size = lengths[e]
            span = min(n - i, size + 3)
            for j in range(span + 1):
                previous[j] = j
            for k in range(1, size + 1):
                current[0] = k
                token = entries[e, k - 1]
                for j in range(1, span + 1):
                    cost = previous[j - 1] + substitution[hyp[i + j - 1], token]
                    cost = min(cost, previous[j] + 1.0, current[j - 1] + 1.0)
                    current[j] = cost
                for j in range(span + 1):
                    previous[j] = current[j]
            for j in range(max(1, size - 3), span + 1):
                total = best[i] + previous[j] + entry_cost
                if total < best[i + j]:
                    best[i + j], start_of[i + j], entry_of[i + j] = total, i, e
    return best, start_of, entry_of


class LexiconDecoder:
    """Heard phonemes -> the lexicon phrases that explain them best (a segmentation by dynamic programming).

    Word breaks are not trusted (espeak-ng runs words together, and so does the recogniser): any stretch of heard
    phonemes may match an entry, at its phoneme edit distance plus ``entry_cost``; dropping a heard phoneme costs
    ``drop_cost`` (noise heard as speech). The cheapest split wins (``_segment``). Hearing the right Mandarin
    vowel with the wrong tone costs ``tone_cost`` instead of a full substitution.
    """

    def __init__(self, lexicon: dict[str, list[str]], vocab: PhonemeVocab, entry_cost: float = 1.0,
                 drop_cost: float = 1.0, tone_cost: float = 0.1) -> None:
        self.vocab, self.entry_cost, self.drop_cost = vocab, entry_cost, drop_cost
        base = [_TONE.sub("", t) for t in vocab.tokens]
        self.substitution = np.array([[0.0 if a == b else tone_cost if base[i] == base[j] else 1.0
                                       for j, b in enumerate(vocab.tokens)] for i, a in enumerate(vocab.tokens)])
        self.tables: dict[str, tuple[list[str], np.ndarray, np.ndarray]] = {}
        for lang, phrases in lexicon.items():
            items = []
            for text, phrase_words in zip(phrases, phonemize(phrases, lang)):
                ids = [vocab.index[t] for w in phrase_words for t in w if t in vocab.index]
                if ids:
                    items.append((text, ids))
            padded = np.full((len(items), max(len(ids) for _, ids in items)), -1, dtype=np.int64)
            for row, (_, ids) in enumerate(items):
                padded[row, :len(ids)] = ids
            self.tables[lang] = ([t for t, _ in items], padded, np.array([len(i) for _, i in items], dtype=np.int64))

    def segment(self, ids: Sequence[int], lang: str) -> tuple[list[str], float]:
        """The lexicon phrases, in order, that best explain the heard ids (blanks ignored), and their total cost."""
        if lang not in self.tables:
            raise ValueError(f"unknown lang {lang!r}; the lexicon has {sorted(self.tables)}: pass one of them, or "
                             "lang=None to pick the best")
        hyp = np.array([i for i in ids if i > 0], dtype=np.int64)
        if not len(hyp):
            return [], 0.0
        texts, entries, lengths = self.tables[lang]
        best, start_of, entry_of = _segment(hyp, entries, lengths, self.substitution, self.entry_cost,
                                            self.drop_cost)
        phrases, end = [], len(hyp)
        while end > 0:
            if entry_of[end] >= 0:
                phrases.append(texts[entry_of[end]])
            end = start_of[end]
        return phrases[::-1], float(best[-1])

    def decode(self, ids: Sequence[int], lang: str | None = None) -> str:
        """Greedy-decoded ids of one clip -> text ("" if nothing matched): words joined by spaces in English, run
        together in Chinese. Without ``lang``, the language whose lexicon explains the phonemes more cheaply."""
        return self.decode_with_language(ids, lang)[0]

    def decode_with_language(self, ids: Sequence[int], lang: str | None = None) -> tuple[str, str]:
        """(text, language): as ``decode``, and which lexicon was used."""
        langs = [lang] if lang else list(self.tables)
        decoded = {lang: self.segment(ids, lang) for lang in langs}
        chosen = min(langs, key=lambda lang: decoded[lang][1])
        return ("" if chosen == "zh" else " ").join(decoded[chosen][0]), chosen


# ---------------------------------------------------------------------------------------------------
# TRAIN-only text: the lexicon and what to speak
# ---------------------------------------------------------------------------------------------------


def training_types(catalog: Catalog) -> pd.DataFrame:
    return catalog.types[~catalog.types.zero_shot]


def train_queries(catalog: Catalog, lang: str | None = None) -> pd.DataFrame:
    """TRAIN typed queries without typos (a typo is spoken as written: not a word the shop sells)."""
    q = catalog.queries
    chosen = (q.modality == "text") & (q.split == "train") & ~q.has_typo
    return q[chosen & (q.lang == lang)] if lang else q[chosen]


def catalog_phrases(catalog: Catalog, lang: str) -> set[str]:
    """Product names and keywords of the training types, and the attributes of their SKUs."""
    types = training_types(catalog)
    skus = catalog.skus[catalog.skus.type_id.isin(types.type_id)]
    suffix = "en" if lang == "en" else "zh"
    phrases = {p.strip() for column in (f"name_{suffix}", f"keywords_{suffix}") for v in types[column]
               for p in v.split("|")}
    attributes = ("brand", "colour", "material") if lang == "en" else ("brand_zh", "colour_zh", "material_zh")
    phrases |= {v.strip() for column in attributes for v in skus[column]}
    if lang == "en":
        phrases = {p.lower() for p in phrases}
    return {p for p in phrases if p and re.search(r"\w", p)}


def zh_carriers(texts: Sequence[str], phrases: set[str]) -> set[str]:
    """The Chinese carrier phrases (想买, 推荐, 求, 哪个好): what is left of training queries once the longest
    catalog phrases are cut out, kept if it wraps at least ZH_CARRIERS_MIN queries."""
    counts: dict[str, int] = {}
    ordered = sorted((p for p in phrases if len(p) > 1), key=len, reverse=True)
    for text in texts:
        for phrase in ordered:
            text = text.replace(phrase, "\0")
        for piece in set(text.split("\0")) - {""}:
            counts[piece] = counts.get(piece, 0) + 1
    return {p for p, n in counts.items() if n >= ZH_CARRIERS_MIN}


def build_lexicon(catalog: Catalog) -> dict[str, list[str]]:
    """Per language, every phrase the decoder may output, from TRAIN text only: catalog phrases, their single
    words (English), the words of training queries (English) and the carrier phrases (both)."""
    lexicon = {}
    for lang in ("en", "zh"):
        phrases = catalog_phrases(catalog, lang)
        texts = train_queries(catalog, lang).text.tolist()
        if lang == "en":
            phrases |= {w for p in list(phrases) for w in p.split()}
            phrases |= {w for t in texts for w in words(t)}
            catalog_words = {w for p in catalog_phrases(catalog, "en") for w in p.split()}
            prefixes, suffixes = carrier_phrases(texts, catalog_words)
            phrases |= set(prefixes) | set(suffixes)
        else:
            phrases |= zh_carriers(texts, phrases)
        lexicon[lang] = sorted(phrases)
    return lexicon


# ---------------------------------------------------------------------------------------------------
# Training speech: synthesised in two processes, cached on disk
# ---------------------------------------------------------------------------------------------------


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
                     int(rng.integers(30, 70)), str(rng.choice(speech.NOISE_KINDS)), float(rng.choice(SNRS_DB)),
                     int(rng.integers(2**31)))


def job_features(job: SpeechJob) -> np.ndarray:
    """The standardised log-mel spectrogram (N_MELS, frames) of one synthesised, noisy clip, as float16."""
    clean = speech.synthesize(job.text, job.lang, job.voice, job.rate, job.pitch)
    noisy = speech.mix_noise(clean, job.snr_db, np.random.default_rng(job.seed), job.noise)
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


# ---------------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------------

VERSION = 2  # part of the checkpoint key: bump when a code change alters what training produces


@dataclass(frozen=True)
class CTCConfig:
    """Everything that decides the trained weights (the zoo keys checkpoints by it)."""

    channels: int = 128
    hidden: int = 128
    layers: int = 1
    stride: int = 4  # 10 ms log-mel frames -> 40 ms: a quarter of the GRU steps, still more frames than phonemes
    phrases_per_clip: int = 3
    epochs: int = 6
    batch_size: int = 16  # more, smaller steps: CTC leaves its "all blank" start within the first epoch
    lr: float = 5e-3  # the peak of a one-cycle schedule
    clip_norm: float = 5.0


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


@torch.no_grad()
def heard_ids(model: SpeechCTC, specs: Sequence[np.ndarray], batch_size: int = 64) -> list[list[int]]:
    """Greedy CTC ids of each spectrogram (eval mode, clips of similar length batched together)."""
    model.eval()
    order = np.argsort([s.shape[1] for s in specs], kind="stable")
    out: list[list[int]] = [[] for _ in specs]
    for start in range(0, len(specs), batch_size):
        rows = order[start:start + batch_size]
        log_probs, lengths = model(*pad_features([np.asarray(specs[i], dtype=np.float32) for i in rows]))
        for row, ids in zip(rows, greedy_ids(log_probs, lengths)):
            out[row] = ids
    return out


def edit_distance(a: Sequence[int], b: Sequence[int]) -> int:
    """Levenshtein distance of two id sequences."""
    if not b:
        return len(a)
    return int(edit_distances(np.asarray(a, dtype=np.int32), np.asarray([b], dtype=np.int32),
                              np.array([len(b)]))[0])


def phoneme_error_rate(model: SpeechCTC, specs: Sequence[np.ndarray], targets: Sequence[Sequence[int]]) -> float:
    """Edit distance between heard and true phonemes, over the true length."""
    heard = heard_ids(model, specs)
    return sum(edit_distance(h, t) for h, t in zip(heard, targets)) / max(1, sum(len(t) for t in targets))


def voice_split(catalog: Catalog, split: str) -> pd.DataFrame:
    q = catalog.queries
    return q[(q.modality == "voice") & (q.split == split)]


def build_vocab(catalog: Catalog, lexicon: dict[str, list[str]]) -> PhonemeVocab:
    """Every phoneme token of the TRAIN text the recogniser is trained on (queries and lexicon)."""
    tokens = set()
    for lang, phrases in lexicon.items():
        texts = phrases + train_queries(catalog, lang).text.tolist()
        tokens |= {t for words in phonemize(texts, lang) for w in words for t in w}
    return PhonemeVocab(sorted(tokens))


def phoneme_targets(vocab: PhonemeVocab, texts: Sequence[str], langs: Sequence[str]) -> list[list[int]]:
    """The phoneme ids of each text (one espeak-ng session per language, not one per text)."""
    for lang in set(langs):
        phonemize([t for t, lang_ in zip(texts, langs) if lang_ == lang], lang)  # fills the memo in one go
    return [vocab.encode(phonemize([t], lang)[0]) for t, lang in zip(texts, langs)]


def training_data(catalog: Catalog, vocab: PhonemeVocab, config: CTCConfig, seed: int,
                  workers: int = 2) -> SpeechData:
    """Synthesised TRAIN speech (cached) and the catalog's TRAIN voice recordings, with phoneme targets."""
    jobs = training_jobs(catalog, seed, config.phrases_per_clip)
    specs = cached_features(catalog, jobs, workers)
    texts, langs = [j.text for j in jobs], [j.lang for j in jobs]
    recorded = voice_split(catalog, "train")
    specs += [standardise(log_mel(catalog.query_audio(q))).astype(np.float16) for q in recorded.query_id]
    texts += recorded.text.tolist()
    langs += recorded.lang.tolist()
    targets = phoneme_targets(vocab, texts, langs)
    keep = [i for i, t in enumerate(targets) if t and (specs[i].shape[1] - 1) // config.stride + 1 >= len(t)]
    return SpeechData([specs[i] for i in keep], [targets[i] for i in keep])


def train_recogniser(model: nn.Module, catalog: Catalog, vocab: PhonemeVocab, config: CTCConfig, seed: int = 0,
                     progress: bool = True, workers: int = 2,
                     loss_step: Callable[[nn.Module, CTCBatch], torch.Tensor] | None = None) -> dict:
    """Fit ``model`` with CTC on TRAIN speech (AdamW, one-cycle learning rate, gradients clipped); keep the epoch
    with the lowest phoneme error rate on the VAL voice queries. ``loss_step(model, batch)`` is one batch's loss
    (``ctc_loss`` by default). Returns a JSON-able summary."""
    loss_step = loss_step or ctc_loss
    start = time.perf_counter()
    data = training_data(catalog, vocab, config, seed, workers)
    prepared = time.perf_counter() - start
    val = voice_split(catalog, "val")
    val_specs = [standardise(log_mel(catalog.query_audio(q))) for q in val.query_id]
    val_targets = phoneme_targets(vocab, val.text.tolist(), val.lang.tolist())
    sampler = CTCSampler(data, config.batch_size, seed)
    steps = config.epochs * -(-len(data.specs) // config.batch_size)
    history = fit(model, sampler, loss_step, epochs=config.epochs, lr=config.lr, weight_decay=0.01,  # AdamW's own
                  evaluate=lambda: -phoneme_error_rate(model, val_specs, val_targets), progress=progress,
                  clip_norm=config.clip_norm, schedule=lambda optimiser: torch.optim.lr_scheduler.OneCycleLR(
                      optimiser, max_lr=config.lr, total_steps=steps, pct_start=0.15))
    val_per = [-score for score in history.val]  # fit keeps the highest score: the lowest phoneme error rate
    return summary(history, "per", val=val_per, clips=len(data.specs), data_seconds=round(prepared, 2),
                   audio_hours=sum(s.shape[1] for s in data.specs) / 100 / 3600,
                   parameters=sum(p.numel() for p in model.parameters()))


class Recogniser:
    """A trained ``SpeechCTC``, its phoneme vocabulary and its lexicon decoder: clips in, catalog words out."""

    def __init__(self, model: SpeechCTC, vocab: PhonemeVocab, decoder: LexiconDecoder) -> None:
        self.model, self.vocab, self.decoder = model, vocab, decoder

    def phonemes(self, specs: Sequence[np.ndarray]) -> list[list[int]]:
        """Greedy CTC phoneme ids of each standardised log-mel spectrogram."""
        return heard_ids(self.model, specs)

    @torch.no_grad()
    def phoneme_bags(self, specs: Sequence[np.ndarray], batch_size: int = 64) -> np.ndarray:
        """(n, classes) the phoneme posteriors averaged over each clip's frames: which sounds were heard, in no
        order (a "direct head" input: notebook 05 maps it linearly into the text space)."""
        self.model.eval()
        out = []
        for start in range(0, len(specs), batch_size):
            batch = [np.asarray(s, dtype=np.float32) for s in specs[start:start + batch_size]]
            log_probs, lengths = self.model(*pad_features(batch))
            mask = valid_mask(lengths, log_probs.shape[1])[:, :, None].to(log_probs.dtype)
            out.append(((log_probs.exp() * mask).sum(dim=1) / mask.sum(dim=1)).numpy())
        return np.concatenate(out)

    def transcribe_features(self, specs: Sequence[np.ndarray], langs: Sequence[str] | None = None) -> list[str]:
        """Transcripts of standardised log-mel spectrograms; the language is the one whose lexicon explains the
        phonemes best, unless ``langs`` is given."""
        heard = self.phonemes(specs)
        return [self.decoder.decode(ids, lang) for ids, lang in zip(heard, langs or [None] * len(heard))]

    def transcribe(self, waves: Sequence[np.ndarray], langs: Sequence[str] | None = None) -> list[str]:
        """Transcripts of 16 kHz mono clips ("" when nothing in the lexicon was heard)."""
        if isinstance(waves, np.ndarray) and waves.ndim == 1 or not len(waves):
            raise TypeError("waves must be a non-empty list of 1-D waveforms; wrap a single clip in a list: [wave]")
        return self.transcribe_features([standardise(log_mel(w)) for w in waves], langs)


def _hash(items: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(items).encode()).hexdigest()[:16]


def default_config(fast: bool) -> CTCConfig:
    """The notebook's settings. FAST mode has ~10x less speech: batches of 8 and a higher peak learning rate give
    CTC enough updates to leave its "all blank" start within the minute."""
    return CTCConfig(epochs=6, batch_size=8, lr=5e-3) if fast else CTCConfig()


def trained_recogniser(catalog: Catalog, seed: int = 0, progress: bool = True, workers: int = 2,
                       config: CTCConfig | None = None, model_class: type[nn.Module] = SpeechCTC,
                       loss: Callable[[nn.Module, CTCBatch], torch.Tensor] = ctc_loss) -> tuple[Recogniser, dict]:
    """The learned recogniser for ``catalog``, from the zoo if trained before: ``(recogniser, summary)``.

    ``model_class`` is built as ``model_class(classes, n_mels=, channels=, hidden=, layers=, stride=)`` and trained
    with ``loss(model, batch)``: ``SpeechCTC`` and ``ctc_loss`` of ``mmlab.models.speech`` by default; notebook 05
    passes the ones it writes. The checkpoint is keyed by the config, the seed, the catalog's fingerprint, the
    phoneme vocabulary, the lexicon and the code of the model, its loss and the training loop, so an edited model
    retrains and an unchanged one loads; the training speech is cached separately (``cached_features``)."""
    if not (isinstance(model_class, type) and issubclass(model_class, nn.Module)):
        raise TypeError(f"model_class must be a torch.nn.Module class such as SpeechCTC, got {model_class!r}; "
                        "pass the class itself, not an instance")
    if not isinstance(loss, types.FunctionType):
        raise TypeError(f"loss must be a function loss(model, batch) -> tensor such as ctc_loss, got {loss!r}")
    config = config or default_config(catalog.fast)
    lexicon = build_lexicon(catalog)
    vocab = build_vocab(catalog, lexicon)
    key = asdict(config) | {"vocab": _hash(vocab.tokens), "lexicon": _hash([w for ws in lexicon.values() for w in ws]),
                            "seed": seed, "version": VERSION, "features": FEATURES_VERSION,
                            "code": zoo.code_fingerprint(model_class, loss, train_recogniser)}
    model, summary = zoo.trained(
        "speech-ctc", key, catalog.fingerprint(),
        build=lambda: model_class(len(vocab), n_mels=N_MELS, channels=config.channels, hidden=config.hidden,
                                  layers=config.layers, stride=config.stride),
        train=lambda m: train_recogniser(m, catalog, vocab, config, seed, progress, workers, loss), seed=seed)
    return Recogniser(model, vocab, LexiconDecoder(lexicon, vocab)), summary
