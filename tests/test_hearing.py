"""The Viterbi decoder of notebook 11: the exact best path of a clip's frames through a lexicon's CTC states,
checked against brute force over every frame labelling, on clean frames and word costs, and on the FAST catalog's
validation recordings against notebook 05's greedy decode."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mmlab.engine.hearing import ViterbiHearing, lexicon_viterbi
from mmlab.engine.upstream import upstream_encoders


def padded(entries: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    table = np.full((len(entries), max(map(len, entries))), -1, dtype=np.int64)
    for row, ids in enumerate(entries):
        table[row, :len(ids)] = ids
    return table, np.array([len(ids) for ids in entries], dtype=np.int64)


def collapse(labels) -> list[int]:
    """CTC: merge repeats, then drop blanks."""
    return [c for i, c in enumerate(labels) if c != 0 and (i == 0 or c != labels[i - 1])]


def brute_force(log_probs: np.ndarray, entries: list[list[int]], word_cost: float) -> tuple[float, list[int]]:
    """Every labelling of the frames, each split into resting blanks and words (a word's frames start and end on
    its first and last phoneme and collapse to it): the best total and its words."""
    n_frames, classes = log_probs.shape
    best = (-np.inf, [])
    for labels in itertools.product(range(classes), repeat=n_frames):
        frame = log_probs[np.arange(n_frames), labels]
        split = [(0.0, [])] + [(-np.inf, [])] * n_frames  # best explanation of the first j frames
        for j in range(1, n_frames + 1):
            if labels[j - 1] == 0:
                split[j] = max(split[j], (split[j - 1][0] + frame[j - 1], split[j - 1][1]), key=lambda s: s[0])
            for i in range(j):
                span = labels[i:j]
                for e, ids in enumerate(entries):
                    if span[0] == ids[0] and span[-1] == ids[-1] and collapse(span) == ids:
                        option = (split[i][0] + frame[i:j].sum() - word_cost, split[i][1] + [e])
                        split[j] = max(split[j], option, key=lambda s: s[0])
        best = max(best, split[-1], key=lambda s: s[0])
    return best


@pytest.mark.parametrize("seed", range(4))
def test_viterbi_finds_the_brute_force_best_path(seed) -> None:
    rng = np.random.default_rng(seed)
    entries = [[1, 2], [2], [3, 1, 3], [1, 1]]  # [1, 1] needs a blank between its phonemes
    log_probs = np.log(rng.dirichlet(np.ones(4), size=6))
    table, lengths = padded(entries)
    total, path = lexicon_viterbi(log_probs, table, lengths, 1.5)
    want_total, want_path = brute_force(log_probs, entries, 1.5)
    assert total == pytest.approx(want_total) and list(path) == want_path


def clean_frames(labels: list[int], classes: int = 4, sure: float = 0.97) -> np.ndarray:
    probs = np.full((len(labels), classes), (1 - sure) / (classes - 1))
    probs[np.arange(len(labels)), labels] = sure
    return np.log(probs)


def test_clean_frames_decode_to_their_words_and_silence_to_none() -> None:
    table, lengths = padded([[1, 2], [3], [2, 3, 1]])
    _, path = lexicon_viterbi(clean_frames([0, 2, 3, 3, 1, 0, 0, 1, 1, 0, 2, 0]), table, lengths, 2.0)
    assert list(path) == [2, 0]  # "2 3 1" then "1 2": repeats merged, blanks rest
    total, path = lexicon_viterbi(clean_frames([0, 0, 0]), table, lengths, 2.0)
    assert len(path) == 0 and total == pytest.approx(3 * np.log(0.97))


def test_the_word_cost_keeps_noise_from_becoming_words() -> None:
    """The second frame is nearly as likely silence as "2": free words take it as a word, a cost leaves it out."""
    table, lengths = padded([[1], [2]])
    log_probs = np.log(np.array([[0.01, 0.97, 0.01, 0.01], [0.45, 0.02, 0.5, 0.03]]))
    assert list(lexicon_viterbi(log_probs, table, lengths, 0.0)[1]) == [0, 1]
    assert list(lexicon_viterbi(log_probs, table, lengths, 1.0)[1]) == [0]


def exactly(transcripts: list[str], said: list[str]) -> int:
    return sum(a.lower().replace(" ", "") == b.lower().replace(" ", "") for a, b in zip(transcripts, said))


def test_the_engine_hears_more_validation_queries_exactly_than_greedy_decoding(fast_engine) -> None:
    catalog, engine = fast_engine
    assert getattr(engine.encoders.hear, "__self__", None).__class__ is ViterbiHearing
    q = catalog.queries
    val = q[(q.split == "val") & (q.modality == "voice")]
    said = q.set_index("query_id").text[val.text_query_id].tolist()
    clips = [catalog.query_audio(i) for i in val.query_id]
    greedy = upstream_encoders(catalog, decoder="greedy").hear(clips)
    assert exactly(engine.encoders.hear(clips), said) > exactly(greedy, said)
    with pytest.raises(TypeError, match="wrap a single clip"):
        engine.encoders.hear(clips[0])


def test_an_unknown_decoder_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="greedy"):
        upstream_encoders(None, decoder="beam")
