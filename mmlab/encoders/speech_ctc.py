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

``phonemize``      espeak-ng's own phonemes of a text, so labels and audio always agree (:mod:`.phonemes`).
``SpeechCTC``      Conv1d(k=5, strided: 10 ms -> 30 or 40 ms frames) and Conv1d(k=5), then a bidirectional GRU and
                   a linear layer to one score per phoneme and the CTC blank. The model, its loss step ``ctc_loss``
                   and ``greedy_ids`` are written and explained in notebook 05 (``mmlab.models.speech``); this
                   module trains and runs them.
``LexiconDecoder`` turns heard phonemes into phrases of a lexicon built from TRAIN text only, by a dynamic
                   program over phoneme edit distances (:mod:`.lexicon`).

Training data (TRAIN split only, ``training_jobs``): every training typed query without a typo, and the lexicon's
phrases three at a time, spoken by the catalog's espeak-ng voices at random rates and pitches with the catalog's
noises at random SNRs (:mod:`.speech_data`); plus the catalog's own TRAIN voice recordings. Val/test/zero-shot
text is never spoken for training; VAL recordings choose the epoch.

Public API::

    recogniser, summary = trained_recogniser(catalog, seed=0)    # zoo-cached; trains once
    trained_recogniser(catalog, model_class=MySpeechCTC)         # your own model class (retrains when its code changes)
    recogniser.transcribe(waves)                                 # ["buy red t-shirt", "想买红色T恤", ...]
"""

from __future__ import annotations

import hashlib
import time
import types
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from mmlab import zoo
from mmlab.data.catalog import Catalog
from mmlab.encoders.audio import N_MELS, log_mel, pad_features, standardise
from mmlab.encoders.lexicon import LexiconDecoder, build_lexicon, edit_distances, train_queries
from mmlab.encoders.phonemes import PhonemeVocab, phonemize
from mmlab.encoders.speech_data import FEATURES_VERSION, CTCSampler, SpeechData, cached_features, training_jobs
from mmlab.models.speech import CTCBatch, SpeechCTC, ctc_loss, greedy_ids, valid_mask
from mmlab.train import fit, summary

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




@torch.no_grad()
def _batched(model: SpeechCTC, specs: Sequence[np.ndarray], batch_size: int
             ) -> Iterator[tuple[np.ndarray, torch.Tensor, torch.Tensor]]:
    """(rows, log-probabilities, lengths) per batch, in eval mode, clips of similar length batched together."""
    model.eval()
    order = np.argsort([s.shape[1] for s in specs], kind="stable")
    for start in range(0, len(specs), batch_size):
        rows = order[start:start + batch_size]
        yield rows, *model(*pad_features([np.asarray(specs[i], dtype=np.float32) for i in rows]))


def heard_ids(model: SpeechCTC, specs: Sequence[np.ndarray], batch_size: int = 64) -> list[list[int]]:
    """Greedy CTC ids of each spectrogram."""
    out: list[list[int]] = [[] for _ in specs]
    for rows, log_probs, lengths in _batched(model, specs, batch_size):
        for row, ids in zip(rows, greedy_ids(log_probs, lengths)):
            out[row] = ids
    return out


def frame_log_probs(model: SpeechCTC, specs: Sequence[np.ndarray], batch_size: int = 64) -> list[np.ndarray]:
    """Each spectrogram's (frames, classes) float64 log-probabilities, its real frames only."""
    out: list[np.ndarray] = [np.empty(0) for _ in specs]
    for rows, log_probs, lengths in _batched(model, specs, batch_size):
        for row, scores, n in zip(rows, log_probs, lengths.tolist()):
            out[row] = scores[:n].double().numpy()
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

    def log_probs(self, specs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Each standardised log-mel spectrogram's (frames, classes) phoneme log-probabilities (0: the blank)."""
        return frame_log_probs(self.model, specs)

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
        return self.transcribe_features(clip_features(waves), langs)


def clip_features(waves: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The standardised log-mel spectrogram of each 16 kHz mono clip of a non-empty list."""
    if isinstance(waves, np.ndarray) and waves.ndim == 1 or not len(waves):
        raise TypeError("waves must be a non-empty list of 1-D waveforms; wrap a single clip in a list: [wave]")
    return [standardise(log_mel(w)) for w in waves]


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
