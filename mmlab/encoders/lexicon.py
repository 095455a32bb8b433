"""From heard phonemes to catalog words: the decoder's lexicon (TRAIN text only) and its dynamic program.

``LexiconDecoder`` turns heard phonemes into phrases of a lexicon built from TRAIN text only (product names and
keywords of the training types, SKU attributes, words and carrier phrases of training queries): a dynamic program
(compiled with numba) splits the phonemes into the entries with the smallest total edit distance, ignoring word
breaks, and may drop phonemes it cannot match (noise).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numba
import numpy as np
import pandas as pd

from mmlab.data.catalog import Catalog
from mmlab.encoders.asr import carrier_phrases, words
from mmlab.encoders.phonemes import _TONE, PhonemeVocab, phonemize

ZH_CARRIERS_MIN = 3  # a Chinese carrier phrase (想买, 推荐) must wrap at least this many training queries


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
