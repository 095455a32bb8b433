"""Learning a WordPiece vocabulary: start from single characters and repeatedly merge the most frequent pair.

This is the training half of BERT's WordPiece (the frequency-count variant Hugging Face's ``WordPieceTrainer``
uses). A word starts as its characters, every one after the first marked as a continuation: ``red`` ->
``r ##e ##d``. Each step counts adjacent pairs over all words (weighted by how often the word occurs), merges
the most frequent pair everywhere (``##e ##d`` -> ``##ed``) and adds the result to the vocabulary, until the
vocabulary is full or nothing is left to merge.

Hugging Face's trainer breaks ties between equally frequent pairs in hash-map order, which changes from one
process to the next, so two runs learn slightly different vocabularies. Here ties go to the pair of the oldest
pieces (alphabet order, then merge order): the same words always give the same vocabulary. Encoding with the
learned pieces (greedy longest match) stays with Hugging Face ``tokenizers`` (``mmlab.encoders.tokenizers.WordPiece``).
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Sequence

PREFIX = "##"
Pair = tuple[str, str]


def characters(word: str) -> list[str]:
    """A word as its first character and continuation characters: ``"red"`` -> ``["r", "##e", "##d"]``."""
    return [word[0], *(PREFIX + c for c in word[1:])]


def alphabet(words: Sequence[str]) -> list[str]:
    """The symbols words start from: every character seen at a word start, then every one seen as a
    continuation (``##`` form), each group sorted. A Chinese character, always a word of its own after
    pre-tokenisation, takes one place, not two."""
    starts = sorted({word[0] for word in words if word})
    continuations = sorted({PREFIX + c for word in words for c in word[1:]})
    return starts + continuations


def merge_pair(symbols: list[str], pair: Pair, merged: str) -> list[str]:
    """``symbols`` with every occurrence of ``pair`` (left to right, not overlapping) replaced by ``merged``."""
    out, i = [], 0
    while i < len(symbols):
        if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
            out.append(merged)
            i += 2
        else:
            out.append(symbols[i])
            i += 1
    return out


def learn_pieces(word_counts: Counter[str], vocab_size: int) -> list[str]:
    """The alphabet, then merged pieces in the order they were learned, at most ``vocab_size`` in all.
    Equally frequent pairs are merged oldest pieces first (alphabet order, then merge order).

    Pair counts are updated only for the words a merge touches, and a heap (with stale entries skipped)
    finds the most frequent pair, so a catalog's few thousand distinct words train in under a second.
    """
    words = [characters(word) for word in word_counts if word]
    weights = [word_counts[word] for word in word_counts if word]
    pieces = alphabet(list(word_counts))[:vocab_size]
    pair_counts: Counter[Pair] = Counter()
    words_with: defaultdict[Pair, set[int]] = defaultdict(set)
    for index, (symbols, weight) in enumerate(zip(words, weights)):
        for pair in zip(symbols, symbols[1:]):
            pair_counts[pair] += weight
            words_with[pair].add(index)
    age = {piece: i for i, piece in enumerate(pieces)}  # ties go to pairs of older pieces, as in Hugging Face
    heap = [(-count, age[pair[0]], age[pair[1]], pair) for pair, count in pair_counts.items()]
    heapq.heapify(heap)
    while len(pieces) < vocab_size and heap:
        count, _, _, pair = heapq.heappop(heap)
        if -count != pair_counts.get(pair):  # stale: the pair's count changed since it was pushed
            continue
        merged = pair[0] + pair[1].removeprefix(PREFIX)
        if merged not in age:
            age[merged] = len(pieces)
            pieces.append(merged)
        for index in sorted(words_with.pop(pair)):
            before, weight = words[index], weights[index]
            after = merge_pair(before, pair, merged)
            words[index] = after
            pair_counts.subtract(_pair_weights(before, weight))
            pair_counts.update(_pair_weights(after, weight))
            for touched in set(zip(before, before[1:])) | set(zip(after, after[1:])):
                if pair_counts[touched] > 0:
                    words_with[touched].add(index)
                    heapq.heappush(heap, (-pair_counts[touched], age[touched[0]], age[touched[1]], touched))
        del pair_counts[pair]
    return pieces


def _pair_weights(symbols: list[str], weight: int) -> Counter[Pair]:
    """The adjacent pairs of one word, each counted ``weight`` times per occurrence."""
    counts: Counter[Pair] = Counter()
    for pair in zip(symbols, symbols[1:]):
        counts[pair] += weight
    return counts
