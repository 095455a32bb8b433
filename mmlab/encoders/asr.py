"""The ASR baseline for voice queries: speech -> words with pocketsphinx -> the text encoder.

pocketsphinx is a classic (HMM + Gaussian mixture) offline recogniser whose wheel ships a US-English acoustic
model and the CMU pronouncing dictionary. No Mandarin model ships with it or exists offline here, so this
baseline is English only.

A general English recogniser knows 130,000 words and guesses among all of them. A shop knows what people ask
for, so we constrain the search with a JSGF grammar built from the catalog:

    <query> = [<prefix>] [<brand>] [<colour>] [<material>] <product> [<suffix>];

``<product>`` lists every product name and keyword of the catalog, ``<brand>``, ``<colour>`` and
``<material>`` the SKUs' attributes, and ``<prefix>``/``<suffix>`` the carrier phrases ("buy", "for sale")
that TRAIN queries wrap around catalog words. No val or test query text is looked at.

Words the dictionary lacks get a pronunciation from their parts ("sugar-free", "northwind" = north + wind),
or from a small hand-written table of the fictional brand names, as a real shop adds its brands to the
lexicon; phrases with a word still unknown are left out of the grammar (``Grammar.dropped``).

    recogniser = CatalogRecogniser(catalog)
    recogniser.transcribe(wave)        # "buy red t-shirt"
    job = transcribe_in_background(recogniser.grammar, waves)   # decode on the other core meanwhile
    transcripts, seconds_per_clip = job.result()
"""

from __future__ import annotations

import functools
import multiprocessing
import re
import tempfile
import time
from concurrent.futures import Future, ProcessPoolExecutor
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pocketsphinx

from mmlab.data.catalog import Catalog
from mmlab.encoders.audio import check_wave

# Fictional brands of MiniMart that the CMU dictionary does not know, in its ARPAbet phone set.
BRAND_PRONUNCIATIONS = {
    "aurelle": "AO R EH L",
    "hallmarq": "HH AO L M AA R K",
    "kestrel": "K EH S T R AH L",
    "lumio": "L UW M IY OW",
    "orbita": "AO R B IY T AH",
    "pipit": "P IH P IH T",
}
MIN_CARRIER_SHARE = 0.02  # a carrier phrase must wrap at least 2 % of the training queries
BEAM, WORD_BEAM = 1e-30, 1e-20  # narrower than pocketsphinx's defaults: 5-10x faster, as accurate here
_WORD = re.compile(r"[a-z0-9]+(?:['\-][a-z0-9]+)*")


def words(text: str) -> list[str]:
    """Lower-case words as the dictionary spells them: accents dropped, curly apostrophes straightened."""
    plain = unicodedata.normalize("NFKD", text.lower().replace("’", "'")).encode("ascii", "ignore").decode()
    return _WORD.findall(plain)


@functools.cache
def known_words() -> dict[str, str]:
    """{word: phones}: the CMU dictionary in the pocketsphinx wheel (first pronunciation of each word) and the
    brands."""
    table: dict[str, str] = {}
    for line in Path(pocketsphinx.get_model_path("en-us/cmudict-en-us.dict")).read_text().splitlines():
        word, *phones = line.split()
        if "(" not in word:  # "word(2)" lines are alternative pronunciations
            table.setdefault(word, " ".join(phones))
    return table | BRAND_PRONUNCIATIONS


def pronunciation(word: str) -> str | None:
    """ARPAbet phones for ``word``: the dictionary's, a brand's, or its parts' joined; None if unknown."""
    known = known_words()
    if word in known:
        return known[word]
    parts = [p for p in re.split(r"[-']", word) if p]
    if len(parts) == 1:  # a compound without a hyphen: try every split into two known words
        parts = next(([word[:i], word[i:]] for i in range(3, len(word) - 2)
                      if word[:i] in known and word[i:] in known), parts)
    if len(parts) > 1 and all(p in known for p in parts):
        return " ".join(known[p] for p in parts)
    return None


def carrier_phrases(texts: list[str], catalog_words: set[str]) -> tuple[list[str], list[str]]:
    """The (prefixes, suffixes) that queries wrap around catalog words: the runs of non-catalog words at their
    start and end, kept if they wrap at least MIN_CARRIER_SHARE of ``texts``."""
    starts, ends = Counter(), Counter()
    for text in texts:
        tokens = words(text)
        inside = [i for i, w in enumerate(tokens) if w in catalog_words]
        if inside:
            starts[" ".join(tokens[:inside[0]])] += 1
            ends[" ".join(tokens[inside[-1] + 1:])] += 1
    keep = lambda counts: sorted(p for p, n in counts.items() if p and n >= MIN_CARRIER_SHARE * len(texts))
    return keep(starts), keep(ends)


@dataclass
class Grammar:
    """The catalog grammar: phrases per slot, the pronunciation of every word in them, what had to be left out."""

    slots: dict[str, list[str]]
    lexicon: dict[str, str]
    dropped: list[str] = field(default_factory=list)

    def jsgf(self) -> str:
        """The grammar in JSGF, the format pocketsphinx reads."""
        rules = "".join(f"<{slot}> = {' | '.join(phrases)};\n" for slot, phrases in self.slots.items())
        return ("#JSGF V1.0;\ngrammar catalog;\n"
                "public <query> = [<prefix>] [<brand>] [<colour>] [<material>] <product> [<suffix>];\n" + rules)

    def dictionary(self) -> str:
        return "".join(f"{word} {phones}\n" for word, phones in sorted(self.lexicon.items()))


def catalog_grammar(catalog: Catalog) -> Grammar:
    """The JSGF grammar of a catalog's English queries (product names and attributes, training carrier phrases)."""
    types, skus = catalog.types, catalog.skus
    phrase = lambda text: " ".join(words(text))
    products = {phrase(p) for column in ("name_en", "keywords_en") for names in types[column] for p in names.split("|")}
    slots = {"brand": {phrase(b) for b in skus.brand}, "colour": {phrase(c) for c in skus.colour},
             "material": {phrase(m) for m in skus.material}, "product": products}
    catalog_words = {w for phrases in slots.values() for p in phrases for w in p.split()}
    queries = catalog.queries
    train = queries[(queries.modality == "text") & (queries.split == "train") & (queries.lang == "en")
                    & ~queries.has_typo]
    prefixes, suffixes = carrier_phrases(train.text.tolist(), catalog_words)
    slots = {"prefix": set(prefixes), "suffix": set(suffixes)} | slots
    lexicon = {w: pronunciation(w) for phrases in slots.values() for p in phrases for w in p.split()}
    known = lambda p: p and all(lexicon[w] for w in p.split())
    dropped = sorted(p for phrases in slots.values() for p in phrases if p and not known(p))
    return Grammar({slot: sorted(filter(known, phrases)) for slot, phrases in slots.items()},
                   {w: phones for w, phones in lexicon.items() if phones}, dropped)


class CatalogRecogniser:
    """pocketsphinx's US-English acoustic model, searching only the sentences of the catalog grammar."""

    def __init__(self, catalog: Catalog | Grammar) -> None:
        self.grammar = catalog if isinstance(catalog, Grammar) else catalog_grammar(catalog)
        folder = Path(tempfile.mkdtemp(prefix="mmlab-asr-"))
        (folder / "catalog.dict").write_text(self.grammar.dictionary())
        (folder / "catalog.jsgf").write_text(self.grammar.jsgf())
        self.decoder = pocketsphinx.Decoder(hmm=pocketsphinx.get_model_path("en-us/en-us"),
                                            dict=str(folder / "catalog.dict"), jsgf=str(folder / "catalog.jsgf"),
                                            samprate=16_000, beam=BEAM, wbeam=WORD_BEAM, loglevel="FATAL")

    def transcribe(self, wave: np.ndarray, sr: int = 16_000) -> str:
        """The words heard in a 16 kHz mono clip ("" if the decoder found no sentence of the grammar)."""
        samples = (np.clip(check_wave(wave, sr), -1.0, 1.0) * 32767).astype(np.int16)
        self.decoder.start_utt()
        self.decoder.process_raw(samples.tobytes(), no_search=False, full_utt=True)
        self.decoder.end_utt()
        hypothesis = self.decoder.hyp()
        return hypothesis.hypstr if hypothesis else ""


def _transcribe_all(grammar: Grammar, waves: list[np.ndarray]) -> tuple[list[str], float]:
    recogniser = CatalogRecogniser(grammar)
    start = time.perf_counter()
    transcripts = [recogniser.transcribe(wave) for wave in waves]
    return transcripts, (time.perf_counter() - start) / max(1, len(waves))


def transcribe_in_background(grammar: Grammar, waves: list[np.ndarray]) -> Future:
    """Decode ``waves`` with the grammar in a second process, while this one does other work (2 cores).

    Returns a Future whose ``result()`` is ``(transcripts, seconds_per_clip)``. Where processes cannot be forked
    (Windows, macOS default) the work is done at once and a finished Future is returned.
    """
    waves = [check_wave(w) for w in waves]
    if "fork" not in multiprocessing.get_all_start_methods():
        future: Future = Future()
        future.set_result(_transcribe_all(grammar, waves))
        return future
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
    future = pool.submit(_transcribe_all, grammar, waves)
    pool.shutdown(wait=False)  # the worker exits once the job is done
    return future
