"""The learned recogniser: espeak-ng phonemes, the CTC model over clips of any length (padding cannot change a
clip's output), greedy decoding, the lexicon decoder (exact and noisy phonemes, words run together), TRAIN-only
lexicon and training speech, a tiny training run that learns, and the checkpoint key of the model notebook 05 writes
(the same as mmlab's copy, another one once the model is edited)."""

from __future__ import annotations

import json
import linecache
from pathlib import Path

import numpy as np
import pytest
import torch

from mmlab import zoo
from mmlab.data import noise, speech
from mmlab.data.catalog import load_catalog
from mmlab.encoders import audio
from mmlab.encoders import lexicon as lx
from mmlab.encoders import phonemes, speech_data
from mmlab.encoders import speech_ctc as sc
from mmlab.models.speech import SpeechCTC, ctc_loss, greedy_ids

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "05_voice_queries.ipynb"


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(fast=True, verbose=False)


@pytest.fixture(scope="module")
def lexicon(catalog):
    return lx.build_lexicon(catalog)


@pytest.fixture(scope="module")
def vocab(catalog, lexicon):
    return sc.build_vocab(catalog, lexicon)


def test_phonemize_gives_words_of_phonemes() -> None:
    words = phonemes.phonemize(["green apple"], "en")[0]
    assert len(words) == 2 and words[0] == ("ɡ", "ɹ", "iː", "n")
    zh = phonemes.phonemize(["红色"], "zh")[0]
    assert any(phonemes._TONE.search(t) for w in zh for t in w) and not phonemes._TONE.search("ɜː")  # Mandarin vowels carry tones
    with pytest.raises(ValueError, match="lang"):
        phonemes.phonemize(["x"], "fr")


def test_vocab_round_trip(vocab) -> None:
    words = phonemes.phonemize(["green apple"], "en")[0]
    ids = vocab.encode(words)
    assert 0 not in ids and vocab.tokens[0] == phonemes.BLANK  # the blank is class 0, never a target
    assert vocab.decode(ids) == [t for w in words for t in w]


def test_padding_does_not_change_a_clip_output(vocab) -> None:
    torch.manual_seed(0)
    model = SpeechCTC(len(vocab), channels=16, hidden=8).eval()
    rng = np.random.default_rng(0)
    specs = [rng.normal(size=(audio.N_MELS, n)).astype(np.float32) for n in (7, 50, 123, 200)]
    with torch.no_grad():
        together, lengths = model(*audio.pad_features(specs))
        for i, spec in enumerate(specs):
            alone, n = model(*audio.pad_features([spec]))
            assert n.item() == lengths[i].item() == (spec.shape[1] - 1) // model.features[0].conv.stride[0] + 1
            torch.testing.assert_close(together[i, :n.item()], alone[0], atol=1e-5, rtol=1e-5)
    with pytest.raises(AssertionError, match="pad_features"):
        model(torch.zeros(2, audio.N_MELS, 5), torch.tensor([5]))
    assert SpeechCTC(3).features[0].conv.in_channels == audio.N_MELS  # the default n_mels is the features' bands


def test_greedy_ctc_merges_repeats_then_drops_blanks() -> None:
    path = torch.tensor([[0, 0, 5, 5, 0, 5, 7, 7, 0]])
    log_probs = torch.nn.functional.one_hot(path, 9).float()
    assert greedy_ids(log_probs, torch.tensor([9])) == [[5, 5, 7]]
    assert greedy_ids(log_probs, torch.tensor([4])) == [[5]]  # frames past the length are ignored


def test_edit_distances_match_the_textbook() -> None:
    entries = np.array([[1, 2, 3, -1], [1, 3, -1, -1], [4, 4, 4, 4]])
    np.testing.assert_array_equal(lx.edit_distances(np.array([1, 2, 3]), entries, np.array([3, 2, 4])), [0, 1, 4])
    assert sc.edit_distance([1, 2], []) == 2


def test_lexicon_is_train_only(catalog, lexicon) -> None:
    held_out = catalog.queries[catalog.queries.split.isin(["val", "test", "zero_shot"])]
    zero_shot = catalog.types[catalog.types.zero_shot].name_en.str.lower()
    train_words = {w for t in lx.train_queries(catalog, "en").text for w in t.split()}
    leaked = [n for n in zero_shot if n in lexicon["en"] and n not in train_words
              and n not in lx.catalog_phrases(catalog, "en")]
    assert not leaked
    assert "想买" in lexicon["zh"] and "buy" in lexicon["en"]
    assert not held_out.empty


def test_decoder_reads_exact_and_noisy_phonemes(catalog, lexicon, vocab) -> None:
    decoder = lx.LexiconDecoder(lexicon, vocab)
    words = phonemes.phonemize(["buy green apple"], "en")[0]
    assert decoder.decode(vocab.encode(words), "en") == "buy green apple"  # no word breaks: found anyway
    noisy = vocab.encode(words)
    noisy.insert(3, vocab.index["s"])  # one phoneme too many
    assert decoder.decode(noisy, "en") == "buy green apple"
    assert decoder.decode(noisy[:2] + noisy[3:], "en") == "buy green apple"  # one missing
    assert decoder.decode([], "en") == ""
    for lang, joiner in (("en", " "), ("zh", "")):  # training queries, from their exact phonemes
        texts = lx.train_queries(catalog, lang).text.head(30).tolist()
        decoded = [decoder.decode(vocab.encode(w), lang) for w in phonemes.phonemize(texts, lang)]
        exact = np.mean([d.replace(" ", "") == t.replace(" ", "").replace("’", "'") for d, t in zip(decoded, texts)])
        assert exact >= 0.8, list(zip(texts, decoded))
    zh = phonemes.phonemize([texts[0]], "zh")[0]
    assert decoder.decode_with_language(vocab.encode(zh))[1] == "zh"  # the language is found from the phonemes
    assert decoder.decode_with_language(vocab.encode(words)) == ("buy green apple", "en")


def test_training_jobs_speak_only_train_text(catalog) -> None:
    jobs = speech_data.training_jobs(catalog, seed=0)
    held_out = set(catalog.queries[catalog.queries.split != "train"].text)
    train_text = set(lx.train_queries(catalog).text)
    assert all(j.text not in held_out or j.text in train_text for j in jobs)
    assert {j.lang for j in jobs} == {"en", "zh"} and {j.noise for j in jobs} <= set(noise.NOISE_KINDS)
    assert speech_data.training_jobs(catalog, seed=0) == jobs  # deterministic


def test_job_features_are_deterministic() -> None:
    job = speech_data.SpeechJob("green apple", "en", 1, 150, 40, "babble", 10.0, 7)
    first, second = speech_data.job_features(job), speech_data.job_features(job)
    assert first.shape[0] == audio.N_MELS and first.dtype == np.float16
    np.testing.assert_array_equal(first, second)


def test_a_tiny_training_run_lowers_the_ctc_loss(vocab) -> None:
    torch.manual_seed(0)
    texts = ["green apple", "red apple", "buy green hat", "red hat", "apple", "hat"]
    specs = [speech_data.job_features(speech_data.SpeechJob(t, "en", i % 4, 160, 50, "white", 30.0, i)) for i, t in enumerate(texts)]
    targets = [vocab.encode(w) for w in phonemes.phonemize(texts, "en")]
    data = speech_data.SpeechData(specs, targets)
    model = SpeechCTC(len(vocab), channels=32, hidden=32)
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for epoch in range(25):
        for batch in speech_data.CTCSampler(data, batch_size=3, seed=0)(epoch):
            loss = ctc_loss(model.train(), batch)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
    assert np.mean(losses[-4:]) < 0.5 * np.mean(losses[:4])


def test_transcribe_checks_its_input(vocab, lexicon) -> None:
    recogniser = sc.Recogniser(SpeechCTC(len(vocab), channels=8, hidden=8), vocab, lx.LexiconDecoder(lexicon, vocab))
    wave = speech.synthesize("green apple", "en")
    assert len(recogniser.transcribe([wave, wave[:8000]])) == 2
    with pytest.raises(TypeError, match="list"):
        recogniser.transcribe(wave)
    with pytest.raises(ValueError, match="empty or too short"):
        recogniser.transcribe([wave, np.zeros(0, dtype=np.float32)])


def test_phoneme_bags_are_distributions_and_ignore_padding(vocab, lexicon) -> None:
    torch.manual_seed(0)
    recogniser = sc.Recogniser(SpeechCTC(len(vocab), channels=16, hidden=8), vocab, lx.LexiconDecoder(lexicon, vocab))
    rng = np.random.default_rng(0)
    specs = [rng.normal(size=(audio.N_MELS, n)).astype(np.float32) for n in (9, 60)]
    bags = recogniser.phoneme_bags(specs)
    assert bags.shape == (2, len(vocab))
    np.testing.assert_allclose(bags.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(recogniser.phoneme_bags(specs[:1]), bags[:1], atol=1e-5)


def _notebook_cells(edit: tuple[str, str] = ("", "")) -> dict:
    """Notebook 05's saved cells run as the notebook runs them: in ``__main__``, one cell at a time (``edit``
    replaces a text in them first)."""
    namespace = {"__name__": "__main__"}
    for number, cell in enumerate(json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]):
        source = "".join(cell["source"]).replace(*edit)
        if cell["cell_type"] == "code" and source.startswith("#@save models/speech.py"):
            name = f"/tmp/ipykernel_test/05-{number}-{abs(hash(edit))}.py"
            linecache.cache[name] = (len(source), None, source.splitlines(keepends=True), name)
            exec(compile(source, name, "exec"), namespace)
    return namespace


def _code_key(model_class: type, loss) -> str:
    return zoo.code_fingerprint(model_class, loss, sc.train_recogniser)


def test_the_notebook_model_has_the_checkpoint_key_of_mmlabs() -> None:
    cells = _notebook_cells()
    assert cells["SpeechCTC"] is not SpeechCTC
    assert [f.__qualname__ for f in zoo.code_closure(cells["SpeechCTC"], cells["ctc_loss"])] == \
        ["ConvBlock", "SpeechCTC", "ctc_loss", "valid_mask"]  # the blocks and helpers the model calls
    assert _code_key(cells["SpeechCTC"], cells["ctc_loss"]) == _code_key(SpeechCTC, ctc_loss)
    for edit in (("F.gelu", "F.relu"), ("[None, :] < lengths", "[None, :] <= lengths"), ("blank=0", "blank=0 * 1")):
        edited = _notebook_cells(edit)
        assert _code_key(edited["SpeechCTC"], edited["ctc_loss"]) != _code_key(SpeechCTC, ctc_loss), edit


def test_trained_recogniser_wants_a_model_class_and_a_loss_function() -> None:
    with pytest.raises(TypeError, match="pass the class itself, not an instance"):
        sc.trained_recogniser(None, model_class=SpeechCTC(3))
    with pytest.raises(TypeError, match="loss must be a function"):
        sc.trained_recogniser(None, loss="ctc")
