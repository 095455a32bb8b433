"""Tokenisers, text encoders, WordLlama offline, the zoo cache and a tiny training run (notebook 03)."""

from __future__ import annotations

import re
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch

from mmlab.data.catalog import load_catalog
from mmlab.encoders.pretrained import load_wordllama, wordllama_embed
from mmlab.encoders.text import (KINDS, BM25Index, ProductSampler, TextConfig, build_encoder, encode_texts,
                                 product_text_embeddings, trained_text_encoder)
from mmlab.encoders.tokenizers import PAD_ID, UNK_ID, WordPiece, WordVocab, pad_batch
from mmlab.models.text import reverse_padded
from mmlab.preprocess import CJK, normalize_text

TEXTS = ["Lumio Red Cotton T-Shirt (Size M)", "a red cotton t-shirt by Lumio, size M", "blue wool scarf",
         "卢米奥 红色纯棉T恤 M码", "卢米奥出品的T恤。纯棉，规格M码。", "蓝色羊毛围巾", "Zenith organic grapes 500 g"]


@pytest.fixture(scope="module")
def wordpiece() -> WordPiece:
    return WordPiece.fit(TEXTS * 3, vocab_size=120)


@pytest.fixture(scope="module")
def fast_catalog(tmp_path_factory):
    return load_catalog(fast=True, cache=tmp_path_factory.mktemp("cache"), verbose=False)


@pytest.mark.parametrize("text", ["Red Cotton T-Shirt, size M", "卢米奥 红色纯棉T恤 M码", "blue wool scarf"])
def test_tokenisers_round_trip_english_and_chinese(wordpiece, text):
    """decode(encode(x)) is the normalised text, but for spaces between two Chinese characters."""
    expected = re.sub(f"(?<=[{CJK}]) (?=[{CJK}])", "", normalize_text(text))
    for tokenizer in (WordVocab.fit(TEXTS), wordpiece):
        assert tokenizer.decode(tokenizer.encode(text)) == expected


def test_chinese_is_split_into_characters(wordpiece):
    assert WordVocab.fit(TEXTS).tokenize("红色围巾") == ["红", "色", "围", "巾"]
    assert wordpiece.tokenize("红色围巾") == ["红", "色", "围", "巾"]


def test_unknown_words_become_unk_or_pieces(wordpiece):
    vocab = WordVocab.fit(TEXTS)
    assert vocab.tokenize("red cottn shirt") == ["red", "<unk>", "<unk>"]
    pieces = wordpiece.tokenize("cottn")  # a typo: known pieces, not one unknown token
    assert len(pieces) > 1 and "[UNK]" not in pieces and pieces[1].startswith("##")
    assert wordpiece.tokenize("狗") == ["[UNK]"]  # a character never seen in training


def test_word_vocab_is_deterministic_and_reserves_pad_and_unk():
    first, second = WordVocab.fit(TEXTS), WordVocab.fit(list(reversed(TEXTS)))
    assert first.itos == second.itos and first.itos[:2] == ["<pad>", "<unk>"]


def test_wordpiece_is_deterministic_across_processes():
    """Hugging Face's trainer breaks ties in hash-map order; ours must give one vocabulary in every process."""
    script = ("from mmlab.encoders.tokenizers import WordPiece; import sys; "
              f"print(sorted(WordPiece.fit({TEXTS!r} * 3, vocab_size=120).hf.get_vocab().items()))")
    runs = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
            for _ in range(2)}
    assert len(runs) == 1
    assert runs.pop().strip() == str(sorted(WordPiece.fit(TEXTS * 3, vocab_size=120).hf.get_vocab().items()))


def test_wordpiece_reserves_pad_and_unk_and_respects_vocab_size(wordpiece):
    vocab = wordpiece.hf.get_vocab()
    assert vocab["[PAD]"] == PAD_ID and vocab["[UNK]"] == UNK_ID
    assert wordpiece.vocab_size == len(vocab) <= 120  # fewer when every word is already whole
    assert WordPiece.fit(TEXTS, vocab_size=60).vocab_size == 60
    with pytest.raises(ValueError, match="vocab_size must be at least"):
        WordPiece.fit(TEXTS, vocab_size=2)


@pytest.mark.parametrize("kind", KINDS)
def test_output_shape_and_unit_norm(wordpiece, kind):
    torch.manual_seed(0)
    vectors = encode_texts(build_encoder(kind, wordpiece, dim=32), TEXTS)
    assert vectors.shape == (len(TEXTS), 32) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_padding_does_not_change_the_embedding(wordpiece, kind):
    torch.manual_seed(0)
    model = build_encoder(kind, wordpiece, dim=32)
    alone = encode_texts(model, ["red scarf"])
    beside_a_long_text = encode_texts(model, ["red scarf", "卢米奥出品的T恤。纯棉，规格M码。 " + TEXTS[1]])[:1]
    np.testing.assert_allclose(alone, beside_a_long_text, atol=1e-5)


def test_reverse_padded_reverses_within_each_length():
    x = torch.tensor([[1, 2, 3, 0], [4, 5, 0, 0]])
    assert reverse_padded(x, torch.tensor([3, 2])).tolist() == [[3, 2, 1, 0], [5, 4, 0, 0]]


@pytest.mark.parametrize("kind", KINDS)
def test_gradients_reach_every_layer(wordpiece, kind):
    torch.manual_seed(0)
    model = build_encoder(kind, wordpiece, dim=32).train()
    vectors = model(*pad_batch(wordpiece, TEXTS))
    (vectors @ vectors.T).triu(1).sum().backward()
    silent = [name for name, p in model.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert not silent, f"no gradient reached {silent}"


def test_bert_attention_maps_are_distributions(wordpiece):
    torch.manual_seed(0)
    pieces, maps = build_encoder("transformer", wordpiece, dim=32).attention_maps("red cotton t-shirt")
    assert maps.shape == (2, 4, len(pieces), len(pieces))
    torch.testing.assert_close(maps.sum(-1), torch.ones(2, 4, len(pieces)))


def test_wordllama_loads_offline_and_knows_clothes(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    vectors = wordllama_embed(load_wordllama(), ["shirt", "t-shirt", "banana"])
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


@pytest.mark.parametrize("bad, error", [([""], ValueError), (["  "], ValueError), ([3], TypeError),
                                        ("red shirt", TypeError), ([], TypeError)])
def test_bad_text_input_raises_clearly(wordpiece, bad, error):
    with pytest.raises(error):
        encode_texts(build_encoder("mean", wordpiece, dim=8), bad)


def test_unknown_kind_and_setting_are_rejected(wordpiece, fast_catalog):
    with pytest.raises(ValueError, match="unknown encoder kind"):
        build_encoder("lstm", wordpiece)
    with pytest.raises(ValueError, match="unknown settings"):
        trained_text_encoder(fast_catalog, "mean", learning_rate=0.1)


def test_a_tiny_training_run_lowers_the_loss_and_the_zoo_returns_it(fast_catalog, tmp_path, monkeypatch):
    monkeypatch.setenv("MMLAB_CACHE", str(tmp_path))
    model, summary = trained_text_encoder(fast_catalog, "mean", epochs=3, progress=False)
    assert summary["loss"][-1] < summary["loss"][0] and not summary["from_cache"]
    again, cached = trained_text_encoder(fast_catalog, "mean", epochs=3, progress=False)
    assert cached["from_cache"] and cached["loss"] == summary["loss"]
    for (name, a), b in zip(model.state_dict().items(), again.state_dict().values()):
        assert torch.equal(a, b), name
    products = product_text_embeddings(again, fast_catalog)
    assert products.shape == (len(fast_catalog.skus), 128)


def test_training_batches_mask_fully_relevant_non_targets(fast_catalog):
    tokenizer = WordVocab.fit(["red shirt"])
    batch = next(iter(ProductSampler(fast_catalog, TextConfig(batch_size=16), tokenizer, seed=0)(0)))
    rows = np.arange(len(batch.targets))
    assert not batch.also_relevant[rows, batch.targets].any()  # the target itself is never masked
    assert batch.owners.max() + 1 == batch.also_relevant.shape[1]
    assert sum(len(ids) for ids, _ in batch.passages) == len(batch.owners)


def test_bm25_ranks_an_exact_title_first(fast_catalog):
    sku = fast_catalog.skus.iloc[5]
    assert BM25Index(fast_catalog).rank([sku.title_en], k=3)[0][0] == sku.sku_id
    with pytest.raises(ValueError, match="between 1"):
        BM25Index(fast_catalog).rank(["x"], k=0)
