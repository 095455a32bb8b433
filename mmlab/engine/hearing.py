"""The models of notebook 11 · Capstone: one search engine for every kind of query.

Written, explained and trained in notebooks/11_capstone_search_engine.ipynb. Generated from that notebook's cells marked ``#@save``
(``python -m tools.saved_cells``): edit the notebook, not this file.
"""

from collections.abc import Sequence

import numba
import numpy as np

from mmlab.encoders.speech_ctc import Recogniser, clip_features

WORD_COST = 5.0  # log-probability a word costs on top of its frames': the best on MiniMart's validation recordings


@numba.njit(cache=True)
def lexicon_viterbi(log_probs: np.ndarray, entries: np.ndarray, lengths: np.ndarray, word_cost: float
                    ) -> tuple[float, np.ndarray]:
    """The most probable path of one clip's frames through a lexicon: its log-probability and its entries in order.

    ``log_probs`` (frames, classes) with the CTC blank at 0; ``entries`` (n, width) each entry's phoneme ids, padded;
    ``lengths`` (n,). An entry of L phonemes is 2L - 1 CTC states (phoneme, blank, phoneme, ..., phoneme). At each
    frame a path stays in its state, moves to the next, or skips the blank between two different phonemes, and adds
    the frame's log-probability of its state. Between words a path rests in a blank state; starting a word costs
    ``word_cost``. The best word ending at each frame is kept with the word before it, to read the path back.
    """
    n_frames, (n_entries, width) = log_probs.shape[0], entries.shape
    score = np.full((n_entries, 2 * width - 1), -np.inf)  # the best path in each state after this frame
    before = np.full((n_entries, 2 * width - 1), -1)      # its last finished word: a row of `ended` (-1: none)
    ended = np.full((n_frames, 2), -1)                    # per frame: the best word ending there, its `before`
    rest, rest_before = 0.0, -1                           # the best path resting between words
    finished, finished_before = -np.inf, -1               # the best path that has just finished a word
    for t in range(n_frames):
        start, start_before = (finished, finished_before) if finished > rest else (rest, rest_before)
        best_end, best_entry = -np.inf, -1
        for e in range(n_entries):
            for s in range(2 * lengths[e] - 2, -1, -1):  # last state first: each reads the previous frame's
                phoneme = entries[e, s // 2]
                best, came = score[e, s], before[e, s]
                if s >= 1 and score[e, s - 1] > best:
                    best, came = score[e, s - 1], before[e, s - 1]
                if s % 2 == 0 and s >= 2 and phoneme != entries[e, s // 2 - 1] and score[e, s - 2] > best:
                    best, came = score[e, s - 2], before[e, s - 2]
                if s == 0 and start - word_cost > best:
                    best, came = start - word_cost, start_before
                score[e, s] = best + log_probs[t, phoneme if s % 2 == 0 else 0]
                before[e, s] = came
            last = 2 * lengths[e] - 2
            if score[e, last] > best_end:
                best_end, best_entry = score[e, last], e
        if best_entry >= 0:
            ended[t, 0], ended[t, 1] = best_entry, before[best_entry, 2 * lengths[best_entry] - 2]
        rest, rest_before = start + log_probs[t, 0], start_before
        finished, finished_before = best_end, t
    total, at = (finished, finished_before) if finished > rest else (rest, rest_before)
    words = []
    while at >= 0:
        words.append(ended[at, 0])
        at = ended[at, 1]
    return total, np.array(words[::-1], dtype=np.int64)


class ViterbiHearing:
    """Clips -> catalog words by the lexicon's most probable path through the recogniser's frame probabilities
    (each language's lexicon; the more probable path wins), instead of the words closest to its greedy phonemes."""

    def __init__(self, recogniser: Recogniser, word_cost: float = WORD_COST) -> None:
        self.recogniser, self.word_cost = recogniser, word_cost

    def decode(self, log_probs: np.ndarray) -> str:
        """One clip's (frames, classes) log-probabilities -> its words ("" when no word was heard)."""
        best, text = -np.inf, ""
        for lang, (phrases, entries, lengths) in self.recogniser.decoder.tables.items():
            total, path = lexicon_viterbi(log_probs, entries, lengths, self.word_cost)
            if total > best:
                best, text = total, ("" if lang == "zh" else " ").join(phrases[i] for i in path)
        return text

    def transcribe(self, waves: Sequence[np.ndarray]) -> list[str]:
        """Transcripts of 16 kHz mono clips (a list of waveforms)."""
        return [self.decode(log_probs) for log_probs in self.recogniser.log_probs(clip_features(waves))]
