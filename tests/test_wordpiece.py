"""Learning WordPiece pieces by merging the most frequent pair (mmlab.encoders.wordpiece)."""

from __future__ import annotations

from collections import Counter

from mmlab.encoders.wordpiece import alphabet, characters, learn_pieces, merge_pair


def test_characters_mark_continuations():
    assert characters("red") == ["r", "##e", "##d"]
    assert characters("x") == ["x"]


def test_alphabet_has_each_character_in_the_positions_it_was_seen():
    assert alphabet(["ab", "b", "红"]) == ["a", "b", "红", "##b"]


def test_merge_pair_replaces_left_to_right_without_overlap():
    assert merge_pair(["a", "##a", "##a", "##a"], ("##a", "##a"), "##aa") == ["a", "##aa", "##a"]
    assert merge_pair(["r", "##e", "##d"], ("##e", "##d"), "##ed") == ["r", "##ed"]


def test_most_frequent_pair_is_merged_first():
    """'##e ##d' occurs 5 + 3 = 8 times, more than any other pair, so '##ed' is the first piece learned."""
    pieces = learn_pieces(Counter({"red": 5, "bed": 3, "bat": 1}), vocab_size=100)
    first_merge = pieces[len(alphabet(["red", "bed", "bat"]))]
    assert first_merge == "##ed"
    assert {"red", "bed", "bat"} <= set(pieces)  # enough room: every word ends up whole


def test_ties_go_to_the_alphabetically_first_pair_whatever_the_word_order():
    counts = {"ab": 2, "cd": 2}
    forward = learn_pieces(Counter(counts), vocab_size=5)
    backward = learn_pieces(Counter(dict(reversed(counts.items()))), vocab_size=5)
    assert forward == backward and forward[-1] == "ab"  # 4 symbols, then one merge, then one merge: the tie goes to "ab"


def test_vocabulary_size_is_a_ceiling_and_merging_stops_when_nothing_is_left():
    assert len(learn_pieces(Counter({"abcdef": 4}), vocab_size=8)) == 8
    every_word_whole = learn_pieces(Counter({"abc": 1}), vocab_size=1000)
    assert every_word_whole[-1] == "abc" and len(every_word_whole) == 3 + 2


def test_pair_counts_are_weighted_by_word_frequency():
    """'xy' is one word seen 10 times; 'ab' appears in two words seen once each: 'xy' wins."""
    pieces = learn_pieces(Counter({"xy": 10, "ab": 1, "abz": 1}), vocab_size=len(alphabet(["xy", "ab", "abz"])) + 1)
    assert pieces[-1] == "xy"
