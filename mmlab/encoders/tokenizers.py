"""Tokenisers: text -> token ids, the first step of every text encoder. Two of them, side by side.

Word-level  ``WordVocab``: one id per whole word of ``preprocess.tokens`` (Latin words whole, each Chinese
            character alone). Simple and readable, but a word never seen when the vocabulary was built, a typo
            included, becomes ``<unk>``: the encoder learns nothing from it.
WordPiece   ``WordPiece``: the BERT scheme, learned by ``mmlab.encoders.wordpiece`` and run by Hugging Face
            ``tokenizers``. Frequent words stay whole, rarer ones are split into pieces (``skaetboard`` ->
            ``sk ##a ##et ##board``), so a typo or a new word still shares most of its pieces with known words.
            Chinese characters are split one by one before the WordPiece model runs, as BERT does for Chinese.

Both normalise with ``preprocess.normalize_text`` first, reserve id 0 for padding and id 1 for unknowns, and share
one interface: ``tokenize``, ``encode``, ``decode``, ``vocab_size``. ``pad_batch`` turns a list of texts into the
``(ids, mask)`` tensors the encoders take.

Round trip: ``decode(encode(text))`` gives back ``normalize_text(text)`` whenever no token is unknown, except for
spaces between two Chinese characters, which splitting into characters forgets ("卢米奥 红色" -> "卢米奥红色").
Unknown tokens come back as ``<unk>`` from the word level and are dropped by WordPiece's decoder.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Protocol

import torch
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

from mmlab.encoders.wordpiece import learn_pieces
from mmlab.preprocess import CJK, normalize_text, tokens

PAD_ID, UNK_ID = 0, 1
SPECIAL_TOKENS = ("[PAD]", "[UNK]")  # WordPiece's ids 0 and 1
MAX_LEN = 64  # tokens kept per text: a product passage has 20-50, a query 2-12
_CJK_PAIR_SPACE = re.compile(f"(?<=[{CJK}]) (?=[{CJK}])")


class TextTokenizer(Protocol):
    """What an encoder needs from a tokeniser."""

    vocab_size: int

    def tokenize(self, text: str) -> list[str]: ...

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: Sequence[int]) -> str: ...


def _join(pieces: Sequence[str]) -> str:
    """Tokens back to normalised text: a space between tokens, none between two Chinese characters."""
    return _CJK_PAIR_SPACE.sub("", " ".join(pieces))


class WordVocab:
    """A word-level vocabulary: ``<pad>`` = 0, ``<unk>`` = 1, then every word seen ``min_count`` times."""

    def __init__(self, words: Sequence[str]) -> None:
        self.itos = ["<pad>", "<unk>", *words]
        self.stoi = {word: i for i, word in enumerate(self.itos)}
        self.vocab_size = len(self.itos)

    @classmethod
    def fit(cls, texts: Iterable[str], min_count: int = 1) -> WordVocab:
        """Count the words of ``texts`` and keep those seen at least ``min_count`` times (most frequent first)."""
        counts = Counter(word for text in texts for word in tokens(text))
        if not counts:
            raise ValueError("no words to learn from: pass the training texts (non-empty strings)")
        return cls([w for w, n in sorted(counts.items(), key=lambda wn: (-wn[1], wn[0])) if n >= min_count])

    def tokenize(self, text: str) -> list[str]:
        """The words of ``text``, unknown ones as ``<unk>``."""
        return [word if word in self.stoi else "<unk>" for word in tokens(text)]

    def encode(self, text: str) -> list[int]:
        return [self.stoi.get(word, UNK_ID) for word in tokens(text)]

    def decode(self, ids: Sequence[int]) -> str:
        return _join([self.itos[i] for i in ids if i != PAD_ID])


class WordPiece:
    """A WordPiece tokeniser (Hugging Face ``tokenizers``): ``[PAD]`` = 0, ``[UNK]`` = 1, pieces after ``##``."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.hf = tokenizer
        self.vocab_size = tokenizer.get_vocab_size()

    @classmethod
    def fit(cls, texts: Iterable[str], vocab_size: int = 3000) -> WordPiece:
        """Learn a vocabulary of at most ``vocab_size`` pieces from ``texts`` (``mmlab.encoders.wordpiece``).

        The pre-tokeniser splits at spaces and isolates every Chinese character; punctuation is already gone
        (``normalize_text``), and the hyphens it keeps inside words ("t-shirt") stay part of the word.
        The same texts always give the same vocabulary.
        """
        if vocab_size < len(SPECIAL_TOKENS) + 1:
            raise ValueError(f"vocab_size must be at least {len(SPECIAL_TOKENS) + 1}, got {vocab_size}; "
                             "use e.g. 3000 (the default)")
        pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Split(Regex(f"[{CJK}]"), "isolated")])
        words = Counter(word for text in texts for word, _ in pre_tokenizer.pre_tokenize_str(normalize_text(text)))
        if not words:
            raise ValueError("no words to learn from: pass the training texts (non-empty strings)")
        pieces = [*SPECIAL_TOKENS, *learn_pieces(words, vocab_size - len(SPECIAL_TOKENS))]
        hf = Tokenizer(models.WordPiece({piece: i for i, piece in enumerate(pieces)}, unk_token="[UNK]"))
        hf.pre_tokenizer = pre_tokenizer
        hf.decoder = decoders.WordPiece(prefix="##", cleanup=False)
        return cls(hf)

    def tokenize(self, text: str) -> list[str]:
        """The pieces of ``text``: ``["sk", "##a", "##et", "##board"]``."""
        return self.hf.encode(normalize_text(text)).tokens

    def encode(self, text: str) -> list[int]:
        return self.hf.encode(normalize_text(text)).ids

    def decode(self, ids: Sequence[int]) -> str:
        return _CJK_PAIR_SPACE.sub("", self.hf.decode(list(ids)))


def pad_ids(id_lists: Sequence[Sequence[int]], max_len: int = MAX_LEN) -> tuple[torch.Tensor, torch.Tensor]:
    """Token id lists -> ids ``(B, L)`` padded with 0 to the longest (at most ``max_len``), and the mask ``(B, L)``
    that is True on real tokens. An empty list (every token dropped) keeps one ``[UNK]``: no text is empty."""
    if len(id_lists) == 0:
        raise ValueError("nothing to pad: pass at least one text")
    clipped = [list(token_ids[:max_len]) or [UNK_ID] for token_ids in id_lists]
    ids = torch.zeros(len(clipped), max(len(token_ids) for token_ids in clipped), dtype=torch.long)
    for row, token_ids in enumerate(clipped):
        ids[row, : len(token_ids)] = torch.tensor(token_ids)
    return ids, ids != PAD_ID


def pad_batch(tokenizer: TextTokenizer, texts: Sequence[str],
              max_len: int = MAX_LEN) -> tuple[torch.Tensor, torch.Tensor]:
    """Tokenise ``texts`` and pad them: ``(ids, mask)``, both ``(B, L)`` (see ``pad_ids``)."""
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise TypeError(f"texts must be a list of str, got {type(texts).__name__}; wrap one text in a list")
    return pad_ids([tokenizer.encode(text) for text in texts], max_len)
