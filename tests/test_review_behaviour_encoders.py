"""Skip-gram word embeddings, the review encoder and behaviour embeddings (item2vec, matrix factorisation)."""

from __future__ import annotations

import dataclasses
import socket

import numpy as np
import pandas as pd
import pytest
import torch

from mmlab.data.catalog import load_catalog
from mmlab.encoders import behaviour, embeddings, review
from mmlab.encoders.pretrained import load_wordllama
from mmlab.encoders.embeddings import (Embeddings, SkipGramConfig, Vocabulary, neighbour_agreement, skipgram_pairs,
                                       train_skipgram, wordllama_vectors)
from mmlab.encoders.review import ReviewConfig, linear_probe
from mmlab.models.reviews import AttentionPooling, ReviewEncoder, SkipGram, masked_softmax, negative_sampling_loss

TINY_WORDS = SkipGramConfig(dim=16, epochs=1, batches_per_epoch=5)
TINY_REVIEWS = ReviewConfig(hidden=16, dim=16, epochs=2, words=TINY_WORDS)
TINY_ITEM2VEC = dataclasses.replace(behaviour.ITEM2VEC, epochs=1, batches_per_epoch=2)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    """The FAST catalog, with the model zoo in a temporary folder too."""
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MMLAB_CACHE", str(cache))
        yield load_catalog(fast=True, cache=cache, verbose=False)


# --- skip-gram -------------------------------------------------------------------------------------------------


def planted_corpus(n_sentences: int = 400, seed: int = 0) -> tuple[list[list[str]], dict[str, int]]:
    """Sentences whose words all come from one of 6 topics (5 words each): words of a topic co-occur."""
    rng = np.random.default_rng(seed)
    topic_of = {f"t{topic}w{word}": topic for topic in range(6) for word in range(5)}
    words = np.array(list(topic_of))
    sentences = [list(rng.choice(words[5 * (i % 6):5 * (i % 6) + 5], size=6)) for i in range(n_sentences)]
    return sentences, topic_of


def test_skipgram_loss_decreases_and_cooccurring_words_end_up_closer_than_random_pairs():
    sentences, topic_of = planted_corpus()
    config = SkipGramConfig(dim=16, window=2, min_count=1, subsample=None, epochs=6, batches_per_epoch=20, lr=0.02)
    vocab = Vocabulary.build(sentences, config.min_count)
    torch.manual_seed(0)
    model = SkipGram(len(vocab), config.dim)
    summary = train_skipgram(model, sentences, vocab, config, seed=0)
    assert summary["loss"][-1] < 0.8 * summary["loss"][0]
    vectors = embeddings.unit_rows(model.centre.weight.detach().numpy())
    topics = np.array([topic_of[word] for word in vocab.tokens])
    similarity = vectors @ vectors.T
    same = (topics[:, None] == topics[None, :]) & ~np.eye(len(topics), dtype=bool)
    assert similarity[same].mean() > similarity[~same & ~np.eye(len(topics), dtype=bool)].mean() + 0.3
    share, chance = neighbour_agreement(vectors, topics, k=4)
    assert share > 0.9 and chance == pytest.approx(4 / 29)


def test_pairs_stay_inside_the_window_and_the_sequence():
    centres, contexts = skipgram_pairs([np.array([0, 1, 2]), np.array([5, 6])], window=1)
    assert sorted(zip(centres.tolist(), contexts.tolist())) == [(0, 1), (1, 0), (1, 2), (2, 1), (5, 6), (6, 5)]


def test_negative_sampling_loss_matches_the_formula():
    torch.manual_seed(0)
    u, v, n = torch.randn(3, 4), torch.randn(3, 4), torch.randn(3, 2, 4)
    by_hand = -(torch.log(torch.sigmoid((u * v).sum(1)))
                + torch.log(torch.sigmoid(-torch.einsum("bkd,bd->bk", n, u))).sum(1)).mean()
    assert torch.allclose(negative_sampling_loss(u, v, n), by_hand, atol=1e-6)


def test_nearest_and_mean_vectors():
    table = Embeddings(Vocabulary(["a", "b", "c"], np.ones(3)), np.array([[1, 0], [0.9, 0.1], [0, 1]], np.float32))
    assert [word for word, _ in table.nearest("a", k=2)] == ["b", "c"]
    assert np.allclose(table.mean_vectors([["a", "c", "unknown"], ["unknown"]]), [[0.5, 0.5], [0, 0]])


def test_wordllama_loads_with_the_network_unavailable(monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    load_wordllama.cache_clear()
    table = wordllama_vectors(["shoe", "boot", "lemon"])
    assert table.vectors.shape == (3, 256)
    assert table.nearest("shoe", k=1)[0][0] == "boot"


# --- the review encoder --------------------------------------------------------------------------------------


def test_attention_weights_sum_to_one_and_padded_reviews_get_zero_weight():
    torch.manual_seed(0)
    pool = AttentionPooling(dim=6, hidden=4)
    x = torch.randn(3, 5, 6)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [0, 0, 1, 0, 0]], dtype=torch.bool)
    pooled, weights = pool(x, mask)
    assert torch.allclose(weights.sum(dim=1), torch.ones(3))
    assert (weights[~mask] == 0).all() and (weights[mask] > 0).all()
    assert torch.allclose(pooled[2], x[2, 2])  # one real review: the pooled vector is that review
    changed = x.clone()
    changed[~mask] = 100.0
    assert torch.allclose(pool(changed, mask)[0], pooled)


def test_the_review_encoder_ignores_padded_reviews_and_padding_tokens():
    torch.manual_seed(0)
    model = ReviewEncoder(np.random.default_rng(0).normal(size=(20, 8)).astype(np.float32), 16, 16, False)
    ids = torch.tensor([[[1, 2, 0, 0], [3, 0, 0, 0], [0, 0, 0, 0]]])
    mask = torch.tensor([[True, True, False]])
    pooled, weights = model(ids, mask)
    padded = ids.clone()
    padded[0, 2] = torch.tensor([5, 6, 7, 8])  # text in the padded review slot
    assert torch.allclose(model(padded, mask)[0], pooled) and weights[0, 2] == 0


def test_review_embeddings_public_api(catalog):
    emb, has_reviews = review.review_embeddings(catalog, seed=0, config=TINY_REVIEWS)
    assert emb.shape == (len(catalog.skus), TINY_REVIEWS.dim) and emb.dtype == np.float32
    assert has_reviews.dtype == bool and has_reviews.all()  # every MiniMart SKU keeps 3+ clean reviews
    assert np.isfinite(emb).all()


def test_linear_probe_reads_a_linear_signal_and_reports_the_baseline():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 5))
    train = np.arange(200) < 150
    r2, r2_baseline = linear_probe(x, x @ [1.0, -2.0, 0, 0, 0.5] + 0.1 * rng.normal(size=200), train, "regression")
    assert r2 > 0.95 and r2_baseline < 0.05
    accuracy, majority = linear_probe(x, np.where(x[:, 0] > 0, "a", "b"), train, "classification")
    assert accuracy > 0.9 and majority < 0.7


# --- behaviour -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", behaviour.KINDS)
def test_behaviour_neighbours_share_departments_more_than_chance(catalog, kind):
    emb, has_behaviour = behaviour.behaviour_embeddings(catalog, seed=0, kind=kind)
    departments = catalog.skus["department"].to_numpy()
    share, chance = neighbour_agreement(emb[has_behaviour], departments[has_behaviour], k=10)
    assert share > 2 * chance


def without_events_of(catalog, sku_ids):
    return dataclasses.replace(catalog, events=catalog.events[~catalog.events["sku_id"].isin(sku_ids)])


def test_the_cold_start_mask_is_false_exactly_for_skus_without_events(catalog):
    quiet = catalog.skus["sku_id"].iloc[[0, 5, 50]].tolist()
    shop = without_events_of(catalog, quiet)
    events = behaviour.training_events(shop)
    sessions = [s for s in behaviour.session_item_sequences(events) if len(s) > 1]
    expected = {"mf": catalog.skus["sku_id"].isin(events["sku_id"]).to_numpy(),
                "item2vec": catalog.skus["sku_id"].isin({sku for s in sessions for sku in s}).to_numpy()}
    zero_shot = catalog.skus["type_id"].isin(catalog.types.loc[catalog.types["zero_shot"], "type_id"]).to_numpy()
    learned = {"mf": behaviour.matrix_factorisation(shop, config=behaviour.ALSConfig(iterations=1)),
               "item2vec": behaviour.item2vec(shop, config=TINY_ITEM2VEC)}  # the mask does not depend on training
    for kind, want in expected.items():
        emb, has_behaviour = learned[kind]
        assert (has_behaviour == want).all(), kind
        assert not has_behaviour[catalog.skus["sku_id"].isin(quiet)].any()
        assert not has_behaviour[zero_shot].any()  # new arrivals
        assert (emb[~has_behaviour] == 0).all() and (np.abs(emb[has_behaviour]).sum(axis=1) > 0).all()


def test_also_bought_skips_the_sku_itself_and_cold_starts_and_refuses_a_cold_sku():
    emb = np.array([[1, 0], [0.9, 0.1], [0, 0], [0, 1], [0.99, 0.01]], np.float32)
    mask = np.array([True, True, False, True, True])
    assert behaviour.also_bought(emb, mask, 0, k=3).tolist() == [4, 1, 3]
    with pytest.raises(ValueError, match="cold start"):
        behaviour.also_bought(emb, mask, 2)


def test_weighted_als_fits_a_block_structure():
    matrix = np.kron(np.eye(3), np.ones((4, 5)))  # 3 groups of users, each buying its own 5 items
    model = behaviour.MatrixFactorisation(12, 15, 3)
    summary = behaviour.weighted_als(model, matrix, behaviour.ALSConfig(dim=3, iterations=8, reg=0.1))
    assert summary["loss"][-1] <= summary["loss"][0]
    items = embeddings.unit_rows(model.items.detach().numpy())
    assert neighbour_agreement(items, np.repeat([0, 1, 2], 5), k=4)[0] == 1.0


# --- bad input -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("call, error, message", [
    (lambda: negative_sampling_loss(torch.ones(2, 3), torch.ones(2, 4), torch.ones(2, 1, 3)), AssertionError,
     "(B, D)"),
    (lambda: negative_sampling_loss(torch.ones(2, 3), torch.ones(2, 3), torch.ones(2, 3)), AssertionError,
     "(B, K, D)"),
    (lambda: Vocabulary.build([["a", "b"]], min_count=5), ValueError, "min_count"),
    (lambda: embeddings.skipgram_embeddings("x", "red shoe", TINY_WORDS, "v"), TypeError, "list of token lists"),
    (lambda: embeddings.skipgram_embeddings("x", ["red shoe"], TINY_WORDS, "v"), TypeError, "tokens first"),
    (lambda: skipgram_pairs([np.array([1])], window=2), ValueError, "two tokens"),
    (lambda: wordllama_vectors("shoe"), ValueError, "list of non-blank strings"),
    (lambda: neighbour_agreement(np.full((3, 2), np.nan), [0, 1, 1], k=1), ValueError, "NaN"),
    (lambda: neighbour_agreement(np.ones((3, 2)), [0, 1, 1], k=3), ValueError, "k must be"),
    (lambda: masked_softmax(torch.ones(2, 3), torch.ones(2, 3)), AssertionError, "bool tensor"),
    (lambda: masked_softmax(torch.ones(1, 3), torch.zeros(1, 3, dtype=torch.bool)), AssertionError, "no True entry"),
    (lambda: linear_probe(np.ones((4, 2)), np.ones(4), np.ones(4, bool), "ranking"), ValueError, "kind must be"),
    (lambda: linear_probe(np.ones((4, 2)), np.ones(3), np.ones(4, bool), "regression"), ValueError, "need features"),
    (lambda: behaviour.interaction_matrix(pd.DataFrame({"user_id": ["U1"], "sku_id": ["S1"], "event": ["impression"]}),
                                          np.array(["U1"]), np.array(["S1"])), ValueError, "without a weight"),
])
def test_bad_input_fails_with_a_clear_message(call, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


def test_unknown_behaviour_kind_and_wrong_review_shapes_fail_clearly(catalog):
    with pytest.raises(ValueError, match="kind must be one of"):
        behaviour.behaviour_embeddings(catalog, kind="clicks")
    model = ReviewEncoder(np.ones((5, 4), np.float32), 16, 16, False)
    with pytest.raises(AssertionError, match=r"\(B, R, T\)"):
        model(torch.ones(2, 3, dtype=torch.long), torch.ones(2, 3, dtype=torch.bool))
