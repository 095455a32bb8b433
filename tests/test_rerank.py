"""Cross-attention re-ranker: shapes, permutation behaviour, masks, the listwise loss, and that training on a
synthetic task beats the first stage it re-ranks."""

import numpy as np
import pytest
import torch

from mmlab.config import one_thread
from mmlab.models.rerank import CrossAttentionReranker, listwise_loss
from mmlab.rerank import rerank, train_reranker


@pytest.fixture
def model():
    torch.manual_seed(0)
    model = CrossAttentionReranker(query_dim=6, item_dim=5, dim=16, heads=2).eval()
    torch.nn.init.normal_(model.score[-1].weight)  # as if trained: the MLP's last layer starts at zero
    return model


def test_an_untrained_reranker_ranks_like_the_first_stage():
    torch.manual_seed(0)
    untrained, prior = CrossAttentionReranker(query_dim=6, item_dim=5), torch.randn(3, 4)
    torch.testing.assert_close(untrained(torch.randn(3, 2, 6), torch.randn(3, 4, 7, 5), prior=prior), 10 * prior)
    scores, rows = rerank(untrained, np.ones((2, 1, 6)), np.ones((5, 1, 5)), [[0, 1, 2], [3, 4, 0]],
                          prior=[[0.1, 0.3, 0.2], [0.5, 0.5, 0.9]])
    assert rows.tolist() == [[1, 2, 0], [0, 3, 4]]  # ties keep the first stage's order


def test_scores_and_attention_shapes(model):
    scores, weights = model(torch.randn(3, 2, 6), torch.randn(3, 4, 7, 5), return_attention=True)
    assert scores.shape == (3, 4) and weights.shape == (3, 4, 2, 7)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 4, 2))


def test_permuting_candidates_permutes_scores_and_token_order_does_not_matter(model):
    queries, items = torch.randn(2, 3, 6), torch.randn(2, 5, 4, 5)
    scores = model(queries, items)
    permutation = torch.tensor([4, 2, 0, 1, 3])
    torch.testing.assert_close(model(queries, items[:, permutation]), scores[:, permutation])
    torch.testing.assert_close(model(queries, items[:, :, [3, 1, 0, 2]]), scores)  # no token positions
    assert not torch.allclose(model(queries.flip(0), items), scores)  # but the query matters


def test_masked_tokens_are_ignored(model):
    queries, items = torch.randn(2, 1, 6), torch.randn(2, 3, 4, 5)
    mask = torch.ones(2, 3, 4, dtype=torch.bool)
    mask[:, :, 3] = False
    changed = items.clone()
    changed[:, :, 3] = 100.0
    torch.testing.assert_close(model(queries, changed, mask), model(queries, items, mask))
    assert not torch.allclose(model(queries, changed), model(queries, items))


def test_padded_query_tokens_are_ignored(model):
    queries, items = torch.randn(2, 3, 6), torch.randn(2, 4, 2, 5)
    short = model(queries[:, :2], items)
    padded = queries.clone()
    padded[:, 2] = 50.0
    mask = torch.tensor([[True, True, False]] * 2)
    torch.testing.assert_close(model(padded, items, query_mask=mask), short)
    catalog, candidates = items[0], torch.tensor([[0, 1], [1, 0]])  # 4 catalog items of 2 tokens
    scores, _ = rerank(model, padded, catalog, candidates, query_mask=mask)
    expected = model(queries[:, :2], catalog[candidates]).sort(dim=1, descending=True).values
    torch.testing.assert_close(torch.from_numpy(scores), expected)


def test_listwise_loss_by_hand():
    scores = torch.tensor([[2.0, 0.0, 0.0], [1.0, 1.0, 5.0]])
    relevant = torch.tensor([[True, False, False], [False, False, False]])  # the second list is skipped
    expected = -torch.log(torch.exp(torch.tensor(2.0)) / (torch.exp(torch.tensor(2.0)) + 2))
    torch.testing.assert_close(listwise_loss(scores, relevant), expected)
    two = listwise_loss(torch.zeros(1, 4), torch.tensor([[True, True, False, False]]))
    torch.testing.assert_close(two, torch.log(torch.tensor(2.0)))  # half the mass on the relevant pair


def _synthetic_task(n_queries: int, seed: int):
    """64 items = 16 types x 4 colours, one token each; a query names a type and a colour (noisy tokens). The
    first stage scores by summed vectors plus heavy noise, so the target is in its top 10 but often not first."""
    catalog = np.random.default_rng(99)  # the same items for every seed
    types, colours = catalog.normal(size=(16, 8)), catalog.normal(size=(4, 8))
    items = np.stack([np.stack([types[j // 4], colours[j % 4]]) for j in range(64)])
    rng = np.random.default_rng(seed)
    targets = rng.integers(0, 64, n_queries)
    queries = items[targets] + 0.3 * rng.normal(size=(n_queries, 2, 8))
    first = queries.sum(1) @ items.sum(1).T + 4 * rng.normal(size=(n_queries, 64))
    first[np.arange(n_queries), targets] += 4  # the first stage is weak, not useless
    candidates = np.argsort(-first, axis=1, kind="stable")[:, :10]
    return queries, items, candidates, targets


def _mrr(relevant: np.ndarray) -> float:
    hit = relevant.any(1)
    return float(np.mean(np.where(hit, 1 / (relevant.argmax(1) + 1), 0.0)))


def test_training_beats_the_first_stage_on_held_out_queries():
    torch.manual_seed(0)
    model = CrossAttentionReranker(query_dim=8, item_dim=8, dim=32, heads=2)
    queries, items, candidates, targets = _synthetic_task(768, seed=1)
    with one_thread():  # a small model: one thread is several times faster on a busy 2-core machine
        history = train_reranker(model, queries, items, candidates, candidates == targets[:, None], epochs=12)
    assert history.loss[-1] < 0.5 * history.loss[0]
    test_queries, _, test_candidates, test_targets = _synthetic_task(256, seed=2)
    scores, reranked = rerank(model, test_queries, items, test_candidates, batch_size=100)
    assert (np.sort(reranked, axis=1) == np.sort(test_candidates, axis=1)).all()
    assert (np.diff(scores, axis=1) <= 0).all()
    before, after = _mrr(test_candidates == test_targets[:, None]), _mrr(reranked == test_targets[:, None])
    assert after > before + 0.2, (before, after)


@pytest.mark.parametrize("call, message", [
    (lambda m: rerank(m, np.ones((1, 1, 6)), np.ones((4, 2, 5)), [[0, 1]], item_mask=np.ones((4, 3), bool)),
     "item_mask must be bool of shape \\(4, 2\\)"),
    (lambda m: rerank(m, np.ones((1, 1, 6)), np.ones((2, 2, 5)), [[0, 1]], item_mask=[[True, True], [False, False]]),
     "a catalog item has no tokens at all"),
    (lambda m: rerank(m, np.ones((2, 1, 6)), np.ones((4, 1, 5)), np.array([[0, 4], [1, 2]])), "in \\[0, 4\\)"),
    (lambda m: rerank(m, np.ones((2, 1, 6)), np.ones((4, 1, 5)), np.array([[0, 1]])), "n_queries=2, k"),
    (lambda m: rerank(m, np.full((1, 1, 6), np.nan), np.ones((4, 1, 5)), np.array([[0]])), "query_tokens contain NaN"),
    (lambda m: train_reranker(m, np.ones((1, 1, 6)), np.ones((4, 1, 5)), [[0, 1]], [[True]]), "must match candidates"),
    (lambda m: rerank(m, np.ones((1, 1, 6)), np.ones((4, 1, 5)), [[0, 1]], prior=[[1.0]]), "one score per candidate"),
    (lambda m: rerank(m, np.ones((1, 1, 6)), np.ones((4, 1, 5)), [[0, 1]], prior=[[1, -np.inf]]), "prior contain"),
    (lambda m: rerank(m, np.ones((1, 2, 6)), np.ones((4, 1, 5)), [[0, 1]], query_mask=np.ones((1, 3), bool)),
     "query_mask must be bool of shape \\(1, 2\\)"),
    (lambda m: rerank(m, np.ones((1, 2, 6)), np.ones((4, 1, 5)), [[0, 1]], query_mask=np.zeros((1, 2), bool)),
     "a query has no tokens"),
    (lambda m: listwise_loss(torch.zeros(2, 3), torch.zeros(2, 3, dtype=torch.bool)), "larger k")])
def test_bad_input_fails_clearly(model, call, message):
    with pytest.raises(ValueError, match=message):
        call(model)


@pytest.mark.parametrize("call, message", [
    (lambda m: m(torch.randn(2, 6), torch.randn(2, 3, 4, 5)), "expected query tokens \\(batch, q_len, dim\\)"),
    (lambda m: m(torch.randn(2, 1, 6), torch.randn(3, 3, 4, 5)), "with the same batch"),
    (lambda m: m(torch.randn(2, 1, 4), torch.randn(2, 3, 4, 5)), "token dimensions 4 \\(query\\)"),
    (lambda m: m(torch.randn(1, 1, 6), torch.randn(1, 2, 2, 5), prior=torch.zeros(2)), "prior must hold one")])
def test_the_model_states_its_contract(model, call, message):
    with pytest.raises(AssertionError, match=message):
        call(model)
