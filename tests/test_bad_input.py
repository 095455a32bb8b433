"""Bad input across the public API fails with a message that names the problem and the fix.

One table, ``CASES``: each case feeds one kind of bad input to a public function or class of mmlab and states the
exception it must raise and two regular expressions that its message must match, one for the PROBLEM it names and
one for the FIX it suggests. Cases are labelled with a category (files, shapes, dtypes, ranges, empty, language,
unknown) and run in a fresh empty working directory (pytest's ``tmp_path``), where file cases write their files.

The end of the module checks that damaged caches are noticed and rebuilt: zoo checkpoints and the catalog cache.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
from PIL import Image

from mmlab import ann, augment, config, engine, hybrid, metrics, preprocess, retrieval, space, zoo
from mmlab.data import byo, catalog as catalog_module, reviews, speech
from mmlab.encoders import audio, image, lexicon, phonemes, speech_ctc, text, tokenizers
from mmlab.models import losses
from mmlab.models.fusion import TowerConfig
from mmlab.towerdata import Products
from tools import run

CATEGORIES = ("files", "shapes", "dtypes", "ranges", "empty", "language", "unknown")


@dataclass(frozen=True)
class Case:
    id: str
    category: str
    call: Callable[[], object]
    error: type[BaseException]
    problem: str  # regex: what is wrong
    fix: str  # regex: what to do about it


# ---------------------------------------------------------------------------------------------------------------
# Small builders (files go to the current directory: the test's tmp_path)
# ---------------------------------------------------------------------------------------------------------------


def _file(name: str, data: bytes | str) -> Path:
    path = Path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def _png(name: str, fmt: str = "PNG") -> Path:
    path = Path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (12, 12), "red").save(path, format=fmt)
    return path


def _wav(name: str, sr: int = 16_000, channels: int = 1) -> Path:
    path = Path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.full((sr // 2, channels), 0.1, dtype=np.float32), sr)
    return path


def _shop(products: str = "p1,Red mug,mugs,images/1.png\n", image: str | None = "images/1.png",
          files: dict[str, str | bytes] | None = None) -> Path:
    """A BYO catalog folder ``shop/`` with products.csv (the header is added), one photo and more ``files``."""
    folder = Path("shop")
    _file("shop/products.csv", "product_id,title,category,image\n" + products)
    if image:
        _png(f"shop/{image}")
    for name, data in (files or {}).items():
        _file(f"shop/{name}", data)
    return folder


def _load_shop(**kwargs) -> object:
    return byo.load_byo(_shop(**kwargs))


def _with_queries(queries: str) -> object:
    return _load_shop(files={"queries.csv": "query_id,text,relevant,lang,audio\n" + queries})


def _latin1_shop() -> object:
    _shop()
    _file("shop/products.csv", "product_id,title,category,image\np1,Caf\xe9,mugs,images/1.png\n".encode("latin-1"))
    return byo.load_byo("shop")


def _priced_shop(price: str) -> object:
    _shop()
    _file("shop/products.csv", f"product_id,title,category,image,price\np1,Red mug,mugs,images/1.png,{price}\n")
    return byo.load_byo("shop")


def _gif_shop() -> object:
    _shop(products="p1,Red mug,mugs,images/1.gif\n", image=None)
    _png("shop/images/1.gif", "GIF")
    return byo.load_byo("shop")


def _stereo_query_shop() -> object:
    _wav("shop/q1.wav", 44_100, channels=2)
    return _with_queries("q1,red mug,p1,en,q1.wav\n")


def _convert_into_full_folder() -> object:
    _png("src/a.png")
    csv = _file("src/styles.csv", "name,type,file\nMug,mugs,a.png\n")
    _file("out/keep.txt", "already here")
    return byo.convert_csv(csv, "file", "name", "type", "out")


def _cache_dir_on_a_file() -> object:
    _file("not_a_folder", "x")
    with mock.patch.dict(os.environ, {"MMLAB_CACHE": str(Path("not_a_folder").resolve())}):
        return config.cache_dir()


def _cli(*argv: str) -> None:
    """Run ``python -m tools.run`` in-process; a non-zero exit becomes an error holding what it printed."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = run.main(list(argv))
    if code:
        raise SystemExit(f"exit {code}: {err.getvalue()}")


def _notebooks_dir() -> list[str]:
    _file("nbs/00_welcome.ipynb", "{}")
    _file("nbs/01_catalog.ipynb", "{}")
    return ["--notebooks-dir", "nbs", "--build-dir", "build", "--baselines-dir", "baselines"]


def _products() -> Products:
    return Products(np.array(["s1", "s2"]), {m: torch.ones(2, 3) for m in ("image", "text", "review", "behaviour")},
                    torch.ones(2, 4, dtype=torch.bool))


def _decoder() -> lexicon.LexiconDecoder:
    words = phonemes.phonemize(["red"], "en")[0]
    vocab = phonemes.PhonemeVocab([t for w in words for t in w])
    return lexicon.LexiconDecoder({"en": ["red"]}, vocab)


def _tiny_text_encoder() -> text.TextEncoder:
    return text.build_encoder("mean", tokenizers.WordVocab.fit(["red mug", "blue shirt"]), dim=4)


def _flat_index() -> ann.AnnIndex:
    return ann.build_index(np.eye(4, dtype=np.float32), kind="flat")


SKU = {field: "" for field in augment.SKU_FIELDS} | {"name_en": "mug", "price": 3.0}
RNG = np.random.default_rng  # a fresh generator per call keeps every case independent


# ---------------------------------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------------------------------

CASES = [
    # -- files: missing, corrupt or in the wrong format ---------------------------------------------------------
    Case("image-missing", "files", lambda: preprocess.load_image("nowhere.png"), FileNotFoundError,
         r"image file not found: nowhere\.png", r"check the path"),
    Case("image-corrupt", "files", lambda: preprocess.load_image(_file("broken.png", b"\x89PNG not really")),
         ValueError, r"broken\.png: it is corrupt or not an image", r"re-export it as PNG or JPEG, or remove it"),
    Case("audio-zero-bytes", "files", lambda: preprocess.load_audio(_file("zero.wav", b"")), ValueError,
         r"zero\.wav is empty \(0 bytes\)", r"re-record it or remove it"),
    Case("audio-not-a-wav", "files", lambda: preprocess.load_audio(_file("junk.wav", b"RIFF....WAVEjunk")),
         ValueError, r"cannot read audio file .*junk\.wav", r"valid WAV/FLAC/OGG file"),
    Case("speech-wav-missing", "files", lambda: speech.read_wav("gone.wav"), FileNotFoundError,
         r"audio file not found: gone\.wav", r"check the path"),
    Case("byo-no-folder", "files", lambda: byo.load_byo("no_such_shop"), byo.ByoError,
         r"no_such_shop: no such folder", r"Fix: pass the folder that holds products\.csv"),
    Case("byo-no-products-file", "files", lambda: byo.load_byo(_file("empty_shop/readme.txt", "hi").parent),
         byo.ByoError, r"has no products\.csv or products\.jsonl", r"Fix: create products\.csv with the columns"),
    Case("byo-corrupt-image", "files", lambda: _load_shop(image=None, files={"images/1.png": b"\x89PNG garbage"}),
         byo.ByoError, r"products\.csv row 1 .*'images/1\.png' is not a usable PNG or JPEG image",
         r"Fix: replace it with a good PNG or JPEG copy"),
    Case("byo-gif-image", "files", _gif_shop, byo.ByoError,
         r"'images/1\.gif' is not a usable PNG or JPEG image: it is a GIF file",
         r"Fix: replace it with a good PNG or JPEG copy"),
    Case("byo-image-missing", "files", lambda: _load_shop(image=None), byo.ByoError,
         r"field 'image': file 'images/1\.png' not found", r"Fix: put the file in .*shop at that path"),
    Case("byo-audio-44k-stereo", "files", _stereo_query_shop, byo.ByoError,
         r"'q1\.wav' is not a usable recording: it is 44100 Hz with 2 channel\(s\)",
         r"Fix: convert it to a 16 kHz mono WAV, e\.g\. `ffmpeg -i in\.m4a -ar 16000 -ac 1 out\.wav`"),
    Case("byo-not-utf8", "files", _latin1_shop, byo.ByoError, r"products\.csv line 2 .*byte 0xe9 is not UTF-8 text",
         r"Fix: save the file as UTF-8"),
    Case("convert-csv-missing", "files", lambda: byo.convert_csv("nope.csv", "file", "name", "type", "out"),
         byo.ByoError, r"nope\.csv: no such file", r"Fix: pass the path of your products CSV"),
    Case("convert-into-full-folder", "files", _convert_into_full_folder, byo.ByoError,
         r"out exists and is not empty", r"Fix: choose a new folder or empty this one"),
    Case("runner-no-notebooks", "files", lambda: _cli("--notebooks-dir", "empty", "--build-dir", "build"),
         SystemExit, r"no notebooks NN_\*\.ipynb in empty", r"pass --notebooks-dir with the workbook's notebooks"),
    Case("cache-dir-is-a-file", "files", _cache_dir_on_a_file, NotADirectoryError,
         r"cache directory .*not_a_folder is a file", r"point MMLAB_CACHE at a folder"),
    Case("review-sentences-corrupt", "files",
         lambda: reviews.load_review_sentences(_file("sentences.json", '[{"text": "good", "class": 1},')),
         ValueError, r"sentences\.json is not valid JSON", r"restore it"),

    # -- shapes -------------------------------------------------------------------------------------------------
    Case("search-1d-queries", "shapes", lambda: retrieval.search(np.ones(3), np.ones((5, 3)), k=1), ValueError,
         r"queries must be 2-D \(n, dim\), got shape \(3,\)", r"a single vector: x\[None, :\]"),
    Case("search-dimension-mismatch", "shapes", lambda: retrieval.search(np.ones((1, 3)), np.ones((5, 2)), k=1),
         ValueError, r"queries have dimension 3 but items 2", r"encode both into one space"),
    Case("ann-dimension-mismatch", "shapes", lambda: _flat_index().search(np.ones((1, 3)), k=1), ValueError,
         r"queries have dimension 3 but the index 4", r"encode both into one space"),
    Case("metrics-rankings-vs-relevance", "shapes",
         lambda: metrics.ndcg_at_k([["a"], ["b"]], [{"a": 2}], k=1), ValueError,
         r"2 rankings but 1 relevance dicts", r"pass one per query, in order"),
    Case("loss-batch-mismatch", "shapes", lambda: losses.similarity(torch.randn(3, 4), torch.randn(2, 4)),
         ValueError, r"queries \(3, 4\) and items \(2, 4\) must be \(B, D\) batches of the same shape",
         r"pair query i with item i"),
    Case("photos-channels-last", "shapes", lambda: image.check_photos(torch.rand(2, 16, 16, 3)), ValueError,
         r"photos must have shape \(N, 3, H, W\)", r"x\.permute\(0, 3, 1, 2\)"),
    Case("wave-channels-first", "shapes", lambda: preprocess.to_mono(np.zeros((2, 1600))), ValueError,
         r"wave has shape \(2, 1600\): 1600 channels\?", r"need wave\.T"),
    Case("voice-stereo", "shapes", lambda: audio.check_wave(np.zeros((16_000, 2))), ValueError,
         r"several channels", r"mix down to mono first: mmlab\.preprocess\.to_mono\(wave\)"),
    Case("pad-features-n-mels", "shapes",
         lambda: audio.pad_features([np.zeros((40, 5), np.float32), np.zeros((20, 5), np.float32)]), ValueError,
         r"specs\[1\] has shape \(20, 5\) but specs\[0\] \(40, 5\)", r"compute every spectrogram with the same n_mels"),
    Case("text-ids-vs-mask", "shapes",
         lambda: _tiny_text_encoder()(torch.ones(2, 3, dtype=torch.long), torch.ones(2, 4, dtype=torch.bool)),
         ValueError, r"ids and mask must both be \(batch, length\), got \(2, 3\) and \(2, 4\)",
         r"build them with pad_batch"),
    Case("gap-dimension-mismatch", "shapes", lambda: space.modality_gap(np.ones((2, 3)), np.ones((2, 4))),
         ValueError, r"a and b must have the same dimension, got 3 and 4", r"embed both into one space"),
    Case("photo-too-small", "shapes", lambda: engine.photo_tensor(Image.new("RGB", (4, 4))), ValueError,
         r"photo is 4x4 pixels", r"it needs at least 8x8"),

    # -- dtypes -------------------------------------------------------------------------------------------------
    Case("loss-int-embeddings", "dtypes",
         lambda: losses.info_nce(torch.ones(2, 2, dtype=torch.long), torch.eye(2, dtype=torch.bool)), ValueError,
         r"scores must be a float \(B, B\) matrix with B >= 2, got torch\.int64", r"from float embeddings"),
    Case("photos-uint8", "dtypes", lambda: image.check_photos(torch.zeros(1, 3, 8, 8, dtype=torch.uint8)),
         TypeError, r"photos must be float32 in \[0, 1\], got torch\.uint8", r"x\.float\(\) / 255"),
    Case("voice-int16", "dtypes", lambda: audio.check_wave(np.zeros(16_000, dtype=np.int16)), TypeError,
         r"wave holds integers \(int16\)", r"scale to floats in \[-1, 1\] first, e\.g\. wave / 32768"),
    Case("augment-int16-wave", "dtypes", lambda: augment.add_noise(np.zeros(16_000, dtype=np.int16), 10, RNG(0)),
         TypeError, r"wave holds integers \(int16\)", r"scale to floats in \[-1, 1\] first, e\.g\. wave / 32768"),
    Case("standardise-int32-pixels", "dtypes",
         lambda: preprocess.standardise(np.zeros((4, 4, 3), np.int32), [0.5] * 3, [0.2] * 3), TypeError,
         r"image must be uint8 \(0-255\) or float \(0-1\), got dtype int32", r"image\.astype\(np\.uint8\)"),
    Case("events-datetime-t", "dtypes",
         lambda: preprocess.user_activity(pd.DataFrame({"session_id": ["s"], "user_id": ["u"], "event": ["click"],
                                                        "t": pd.to_datetime(["2024-01-01"])})),
         TypeError, r"events\.t must hold seconds as numbers, got dtype datetime64", r"convert timestamps first"),
    Case("query-bytes", "dtypes", lambda: engine.check_text(b"red mug", "query text"), TypeError,
         r"query text is bytes", r"decode it first, e\.g\. value\.decode\('utf-8'\)"),
    Case("text-not-utf8", "dtypes", lambda: preprocess.normalize_text("café".encode("latin-1")), ValueError,
         r"text is not valid UTF-8: byte 0xe9 at offset 3", r"re-encode the source as UTF-8"),
    Case("tokenize-one-string", "dtypes", lambda: tokenizers.pad_batch(tokenizers.WordVocab(["red"]), "red mug"),
         TypeError, r"texts must be a list of str, got str", r"wrap one text in a list"),
    Case("augment-numpy-photo", "dtypes", lambda: augment.augment_image(np.zeros((8, 8, 3)), seed=0), TypeError,
         r"image must be a PIL image, got ndarray", r"open files with PIL\.Image\.open"),
    Case("transcribe-one-clip", "dtypes",
         lambda: speech_ctc.Recogniser(None, None, None).transcribe(np.zeros(16_000, np.float32)), TypeError,
         r"waves must be a non-empty list of 1-D waveforms", r"wrap a single clip in a list: \[wave\]"),
    Case("search-float-k", "dtypes", lambda: retrieval.search(np.ones((1, 2)), np.ones((3, 2)), k=2.0), ValueError,
         r"k=2\.0 must be a whole number", r"ask for fewer results"),

    # -- ranges -------------------------------------------------------------------------------------------------
    Case("metrics-k-zero", "ranges", lambda: metrics.hit_rate_at_k([["a"]], ["a"], k=0), ValueError,
         r"k must be a positive int, got 0", r"pass k >= 1, e\.g\. k=10"),
    Case("metrics-negative-grade", "ranges", lambda: metrics.ndcg_at_k([["a", "b"]], [{"a": 2, "b": -1}], k=2),
         ValueError, r"query 0 gives item 'b' grade -1", r"grades are 0 \(not relevant\), 1 \(partial\) or 2"),
    Case("search-k-too-large", "ranges", lambda: retrieval.search(np.ones((1, 2)), np.ones((3, 2)), k=5),
         ValueError, r"k=5 must be a whole number between 1 and the number of items \(3\)",
         r"ask for fewer results or search a larger catalog"),
    Case("infonce-negative-temperature", "ranges", lambda: losses.LogitScale(temperature=-0.1), ValueError,
         r"temperature=-0\.1 must be > 0", r"CLIP starts at 0\.07"),
    Case("triplet-zero-margin", "ranges", lambda: losses.triplet_loss(torch.eye(2), torch.eye(2, dtype=torch.bool), 0),
         ValueError, r"margin=0 must be > 0", r"0\.2 is a common start"),
    Case("augment-probability", "ranges", lambda: augment.random_deletion(["red", "mug"], RNG(0), p=2),
         ValueError, r"p must be a probability in \[0, 1\], got 2", r"e\.g\. p=0\.1"),
    Case("time-stretch-rate", "ranges", lambda: augment.time_stretch(np.zeros(16_000, np.float32), rate=10),
         ValueError, r"rate must be a speed factor in \[0\.25, 4\]", r"e\.g\. 0\.8 or 1\.25, got 10"),
    Case("bootstrap-confidence", "ranges", lambda: metrics.bootstrap_ci([0.1, 0.2, 0.3], confidence=95),
         ValueError, r"need 0 < confidence < 1 and n_resamples >= 1, got 95", r"e\.g\. confidence=0\.95"),
    Case("ivf-too-many-cells", "ranges", lambda: ann.build_index(np.eye(4, dtype=np.float32), "ivf", nlist=9),
         ValueError, r"nlist=9 must be between 1 and the number of vectors \(4\)",
         r"lower nlist or leave it None"),
    Case("hnsw-effort-zero", "ranges",
         lambda: ann.build_index(np.eye(4, dtype=np.float32), "hnsw").search(np.eye(4, dtype=np.float32), 1, 0),
         ValueError, r"effort \(efSearch\) must be a whole number >= 1, got 0",
         r"e\.g\. effort=64 .*or None for the default"),
    Case("rrf-negative-k", "ranges", lambda: hybrid.reciprocal_rank_fusion([["a"]], rrf_k=-1), ValueError,
         r"rrf_k=-1 must be >= 0", r"60 is the usual choice"),
    Case("rrf-negative-weight", "ranges", lambda: hybrid.hybrid_ranker([lambda q, k: []], weights=[-1]),
         ValueError, r"weights \[-1\]", r"one non-negative weight per ranking"),
    Case("seed-negative", "ranges", lambda: config.seed_everything(-1), ValueError,
         r"seed must be a non-negative int, got -1", r"pass e\.g\. SEED=0"),
    Case("zoo-seed-negative", "ranges",
         lambda: zoo.trained("m", {}, "v1", torch.nn.Identity, lambda m: {}, seed=-1, folder=Path("zoo")),
         ValueError, r"seed must be a non-negative int, got -1", r"pass e\.g\. SEED=0"),
    Case("byo-seed-negative", "ranges", lambda: byo.load_byo(_shop(), seed=-1), ValueError,
         r"seed must be a non-negative int, got -1", r"pass e\.g\. seed=0"),
    Case("wordpiece-vocab-too-small", "ranges", lambda: tokenizers.WordPiece.fit(["red mug"], vocab_size=2),
         ValueError, r"vocab_size must be at least 3, got 2", r"use e\.g\. 3000"),
    Case("tower-batch-size", "ranges", lambda: TowerConfig(batch_size=1), ValueError,
         r"batch_size must be >= 2 and epochs >= 1, got 1 and 12", r"in-batch negatives"),
    Case("tower-dropout", "ranges", lambda: TowerConfig(modality_dropout=1.5), ValueError,
         r"modality_dropout=1\.5 must be a probability in \[0, 1\]", r"0\.3 drops about a third"),
    Case("tower-temperature", "ranges", lambda: TowerConfig(temperature=0), ValueError,
         r"temperature=0 must be > 0", r"0\.07"),
    Case("loudness-target", "ranges", lambda: preprocess.normalize_loudness(np.full(800, 0.1), target_dbfs=5),
         ValueError, r"target_dbfs .*got 5", r"must be from -100 to 0"),
    Case("voice-index", "ranges", lambda: speech.synthesize("red mug", "en", voice=99), ValueError,
         r"voice=99 is outside 0-\d", r"pick an index into VOICES\['en'\]"),
    Case("byo-rating-six", "ranges",
         lambda: _load_shop(files={"reviews.csv": "product_id,rating,text\np1,6,great\n"}), byo.ByoError,
         r"reviews\.csv row 1 .*field 'rating': '6' is not a whole number from 1 to 5",
         r"Fix: write the star rating as 1, 2, 3, 4 or 5"),
    Case("byo-negative-price", "ranges", lambda: _priced_shop("-2"), byo.ByoError, r"field 'price': '-2' is negative",
         r"Fix: write a price of 0 or more"),

    # -- empty inputs -------------------------------------------------------------------------------------------
    Case("metrics-no-queries", "empty", lambda: metrics.evaluate([], [], []), ValueError,
         r"no queries to evaluate", r"pass at least one ranking"),
    Case("metrics-query-without-relevant", "empty", lambda: metrics.recall_at_k([["a"]], [{}], k=1), ValueError,
         r"query 0 has no relevant item", r"drop it first"),
    Case("search-empty-items", "empty", lambda: retrieval.search(np.ones((1, 3)), np.ones((0, 3)), k=1),
         ValueError, r"items is empty \(shape \(0, 3\)\)", r"pass at least one vector"),
    Case("hybrid-no-rankers", "empty", lambda: hybrid.hybrid_ranker([]), ValueError,
         r"got 0 rankers", r"pass e\.g\. \[bm25\.rank, dense_rank\]"),
    Case("channel-stats-no-images", "empty", lambda: preprocess.channel_stats([]), ValueError,
         r"images is empty", r"pass the training images"),
    Case("photos-to-tensor-empty", "empty", lambda: image.photos_to_tensor([]), ValueError,
         r"images is empty", r"pass at least one PIL image"),
    Case("pad-features-empty", "empty", lambda: audio.pad_features([]), ValueError,
         r"specs is empty", r"pass at least one spectrogram"),
    Case("wordpiece-no-texts", "empty", lambda: tokenizers.WordPiece.fit([]), ValueError,
         r"no words to learn from", r"pass the training texts"),
    Case("word-vocab-no-texts", "empty", lambda: tokenizers.WordVocab.fit([]), ValueError,
         r"no words to learn from", r"pass the training texts"),
    Case("pad-ids-empty", "empty", lambda: tokenizers.pad_ids([]), ValueError,
         r"nothing to pad", r"pass at least one text"),
    Case("encode-no-texts", "empty", lambda: text.encode_texts(_tiny_text_encoder(), []), TypeError,
         r"texts must be a non-empty list of str", r"wrap a single text in a list"),
    Case("random-swap-no-tokens", "empty", lambda: augment.random_swap([], RNG(0)), ValueError,
         r"tokens is empty", r"tokenize a non-empty text first"),
    Case("blank-query", "empty", lambda: engine.check_text("   ", "query text"), ValueError,
         r"query text is empty", r"type a few words"),
    Case("blank-text", "empty", lambda: preprocess.normalize_text(" \t"), ValueError,
         r"text is empty or only whitespace", r"drop it before normalising"),
    Case("voice-too-short", "empty", lambda: audio.check_wave(np.zeros(100, np.float32)), ValueError,
         r"the clip is empty or too short \(100 samples", r"needs at least 0\.1 s \(1600 samples\)"),
    Case("gap-no-rows", "empty", lambda: space.modality_gap(np.zeros((0, 4)), np.ones((2, 4))), ValueError,
         r"a must be a non-empty 2-D array \(n, dim\), got shape \(0, 4\)", r"at least one row"),
    Case("byo-header-only", "empty", lambda: byo.load_byo(_shop(products="")), byo.ByoError,
         r"products\.csv has no data rows", r"Fix: add rows"),

    # -- wrong languages ----------------------------------------------------------------------------------------
    Case("expand-sentence-lang", "language", lambda: augment.expand_sentence(SKU, RNG(0), lang="fr"), ValueError,
         r"unknown lang 'fr'", r"use 'en' or 'zh'"),
    Case("engine-lang", "language", lambda: engine.check_lang("de"), ValueError,
         r"unknown lang='de'", r"choose one of \('en', 'zh'\)"),
    Case("phonemize-lang", "language", lambda: phonemes.phonemize(["rouge"], "fr"), ValueError,
         r"unknown lang 'fr'", r"use one of \['en', 'zh'\]"),
    Case("synthesize-lang", "language", lambda: speech.synthesize("rouge", "fr"), ValueError,
         r"unknown lang 'fr'", r"use one of \['en', 'zh'\]"),
    Case("synthesize-chinese-as-english", "language", lambda: speech.synthesize("红色 mug", "en"), ValueError,
         r"text contains Chinese characters", r"use lang='zh'"),
    Case("decoder-lang", "language", lambda: _decoder().decode([1, 2], lang="fr"), ValueError,
         r"unknown lang 'fr'; the lexicon has \['en'\]", r"pass one of them, or lang=None to pick the best"),
    Case("byo-query-lang", "language", lambda: _with_queries("q1,rouge,p1,fr,\n"), byo.ByoError,
         r"queries\.csv row 1 .*field 'lang': 'fr' is not a language of the workbook",
         r"Fix: write en \(English\) or zh \(Chinese\), or leave it empty"),

    # -- unknown names of kinds, metrics, fusions, losses, settings, notebooks ----------------------------------
    Case("search-metric", "unknown", lambda: retrieval.search(np.ones((1, 2)), np.ones((3, 2)), 1, "manhattan"),
         ValueError, r"unknown metric 'manhattan'", r"choose one of \('cosine', 'dot', 'euclidean'\)"),
    Case("ann-kind", "unknown", lambda: ann.build_index(np.eye(4), kind="lsh"), ValueError,
         r"unknown index kind 'lsh'", r"choose one of \('flat', 'hnsw', 'ivf'\)"),
    Case("tower-fusion", "unknown", lambda: TowerConfig(fusion="sum"), ValueError,
         r"unknown fusion='sum'", r"choose one of \('concat', 'weighted_sum', 'attention'\)"),
    Case("tower-loss", "unknown", lambda: TowerConfig(loss="contrastive"), ValueError,
         r"unknown loss='contrastive'", r"choose one of \('infonce', 'sigmoid', 'triplet_sum'"),
    Case("tower-modality", "unknown", lambda: TowerConfig(modalities=("image", "audio")), ValueError,
         r"got \('image', 'audio'\)", r"modalities must be a non-empty subset of \('image', 'text', 'review', "
         r"'behaviour'\)"),
    Case("triplet-negatives", "unknown",
         lambda: losses.triplet_loss(torch.eye(2), torch.eye(2, dtype=torch.bool), negatives="random"), ValueError,
         r"unknown negatives='random'", r"choose one of 'sum', 'hardest', 'semi_hard'"),
    Case("tokenizer-kind", "unknown", lambda: text.fit_tokenizer(None, kind="bpe"), ValueError,
         r"unknown tokenizer 'bpe'", r"use 'word' or 'wordpiece'"),
    Case("text-encoder-kind", "unknown", lambda: text.default_config("lstm", fast=True), ValueError,
         r"unknown encoder kind 'lstm'", r"choose one of \('mean', 'gru', 'transformer'\)"),
    Case("text-setting", "unknown", lambda: text.trained_text_encoder(None, epoch=2), ValueError,
         r"unknown settings \['epoch'\]", r"TextConfig has \[.*'epochs'"),
    Case("image-kind", "unknown", lambda: image.config_for("vit", fast=True), ValueError,
         r"unknown kind 'vit'", r"choose one of \('cnn', 'resnet18', 'efficientnet_head'\)"),
    Case("image-setting", "unknown", lambda: image.config_for("cnn", fast=True, epoch=3), ValueError,
         r"unknown setting\(s\) \['epoch'\] for 'cnn'", r"known: \[.*'epochs'"),
    Case("augment-strength", "unknown", lambda: augment.image_augmenter("extreme"), ValueError,
         r"unknown strength 'extreme'", r"use one of \['light', 'medium', 'strong'\]"),
    Case("noise-kind", "unknown", lambda: augment.add_noise(np.full(16_000, 0.1, np.float32), 10, RNG(0), "rain"),
         ValueError, r"unknown noise kind 'rain'", r"use one of \['white', 'pink', 'babble', 'hum'\]"),
    Case("space-source", "unknown", lambda: space.Points(np.ones((1, 2)), pd.DataFrame({"source": ["x"]})).of("video"),
         ValueError, r"unknown source 'video'", r"choose one of \('product photo'"),
    Case("products-without-modality", "unknown", lambda: _products().without("audio"), ValueError,
         r"unknown modality 'audio'", r"choose one of \('image', 'text', 'review', 'behaviour'\)"),
    Case("products-noise-modality", "unknown", lambda: _products().with_noise("audio", 0.5), ValueError,
         r"unknown modality 'audio'", r"choose one of \('image', 'text', 'review', 'behaviour'\)"),
    Case("engine-query-kind", "unknown",  # the kind is checked before the engine is used: a bare instance will do
         lambda: engine.SearchEngine.search(object.__new__(engine.SearchEngine), "video", None), ValueError,
         r"unknown query kind 'video'", r"choose one of \('text', 'image', 'voice', 'composed'\)"),
    Case("byo-part", "unknown", lambda: byo.has(None, "audio"), ValueError,
         r"unknown part 'audio'", r"choose one of \['behaviour', 'composed'"),
    Case("runner-select-notebook", "unknown",
         lambda: run.select([Path("00_welcome.ipynb"), Path("01_catalog.ipynb")], ["07"]), ValueError,
         r"unknown notebook '07'; available: 00_welcome, 01_catalog",
         r"Pass one of these names or a prefix, e\.g\. 00"),
    Case("runner-cli-notebook", "unknown", lambda: _cli("99_nope", *_notebooks_dir()), SystemExit,
         r"exit 2: error: unknown notebook '99_nope'", r"Pass one of these names or a prefix, e\.g\. 00"),
    Case("runner-cli-seed", "ranges", lambda: _cli("--seed", "-1", *_notebooks_dir()), SystemExit,
         r"--seed must be >= 0, got -1", r"e\.g\. --seed 0"),
]


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def test_the_table_is_broad_enough():
    counts = {category: sum(case.category == category for case in CASES) for category in CATEGORIES}
    assert all(case.category in CATEGORIES for case in CASES)
    assert len({case.id for case in CASES}) == len(CASES), "case ids must be unique"
    assert len(CASES) >= 40 and min(counts.values()) >= 5, counts


@pytest.mark.parametrize("case", CASES, ids=[f"{case.category}:{case.id}" for case in CASES])
def test_bad_input_names_the_problem_and_the_fix(case: Case):
    with pytest.raises(case.error) as raised:
        case.call()
    message = str(raised.value.args[0]) if isinstance(raised.value, KeyError) else str(raised.value)
    assert re.search(case.problem, message), f"the problem {case.problem!r} is not named in: {message}"
    assert re.search(case.fix, message), f"the fix {case.fix!r} is not suggested in: {message}"


# ---------------------------------------------------------------------------------------------------------------
# Damaged caches are detected and rebuilt (see also test_retrieval_train_zoo.py and test_catalog.py: truncated files)
# ---------------------------------------------------------------------------------------------------------------


def _flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def _damage_sidecar(sidecar: Path, change: Callable[[dict], None]) -> None:
    meta = json.loads(sidecar.read_text())
    change(meta)
    sidecar.write_text(json.dumps(meta))


def _replace_weights(weights: Path) -> None:
    """Weights of another model, with a matching checksum: only loading them can tell."""
    torch.save(torch.nn.Linear(5, 1).state_dict(), weights)
    _damage_sidecar(weights.with_suffix(".json"), lambda meta: meta.update(sha256=zoo._sha256(weights)))


ZOO_DAMAGE = {
    "flipped-weight-byte": lambda weights: _flip_byte(weights, len(weights.read_bytes()) // 2),
    "sidecar-not-utf8": lambda weights: weights.with_suffix(".json").write_bytes(b"\xff\xfe{ garbage"),
    "sidecar-not-an-object": lambda weights: weights.with_suffix(".json").write_text("[1, 2]"),
    "sidecar-without-summary": lambda weights: _damage_sidecar(weights.with_suffix(".json"),
                                                               lambda meta: meta.pop("summary")),
    "weights-of-another-model": _replace_weights,
}


@pytest.mark.parametrize("damage", list(ZOO_DAMAGE))
def test_a_damaged_zoo_checkpoint_is_retrained(damage, tmp_path, capsys):
    calls = []

    def train(model):
        calls.append(1)
        with torch.no_grad():
            model.weight.add_(1.0)  # "training": a change that a reload must reproduce
        return {"trained": True}

    def cached():
        return zoo.trained("tiny", {"lr": 0.1}, "data-v1", lambda: torch.nn.Linear(3, 2), train, folder=tmp_path)

    first, _ = cached()
    weights = next(tmp_path.glob("tiny-*.pt"))
    ZOO_DAMAGE[damage](weights)
    again, summary = cached()
    assert len(calls) == 2 and not summary["from_cache"], "the damaged checkpoint must be retrained"
    assert "retraining" in capsys.readouterr().out
    assert torch.equal(again.weight, first.weight)  # same seed, same model
    third, summary = cached()
    assert len(calls) == 2 and summary["from_cache"] and torch.equal(third.weight, first.weight)  # rewritten intact


@pytest.fixture(scope="module")
def fast_catalog(tmp_path_factory):
    """The FAST catalog in a private cache (a current local build is copied instead of built: it is faster)."""
    cache = tmp_path_factory.mktemp("catalog_cache")
    local = config.cache_dir() / "catalog" / "fast-seed0"
    if catalog_module.stale_reason(local, True, 0) is None:
        shutil.copytree(local, cache / "catalog" / "fast-seed0")
    return catalog_module.load_catalog(fast=True, seed=0, cache=cache, verbose=False)


MANIFEST_DAMAGE = {
    "not-utf8": lambda original: b"\xff\xfe" + original,
    "cut-short": lambda original: original[:len(original) // 2],
    "a-list": lambda original: b"[1, 2]",
    "no-checksums": lambda original: json.dumps(  # otherwise current: nothing left to verify the files with
        {key: value for key, value in json.loads(original).items() if key != "files"}).encode(),
}


@pytest.mark.parametrize("damage", list(MANIFEST_DAMAGE))
def test_a_garbled_catalog_manifest_makes_the_cache_stale(fast_catalog, damage):
    manifest = fast_catalog.folder / "manifest.json"
    original = manifest.read_bytes()
    try:
        manifest.write_bytes(MANIFEST_DAMAGE[damage](original))
        assert "manifest" in catalog_module.stale_reason(fast_catalog.folder, True, 0)
    finally:
        manifest.write_bytes(original)
    assert catalog_module.stale_reason(fast_catalog.folder, True, 0) is None


def test_a_catalog_cache_with_flipped_bytes_is_detected_and_rebuilt(fast_catalog, capsys):
    folder = fast_catalog.folder
    wav, manifest = sorted((folder / "audio").glob("*.wav"))[0], folder / "manifest.json"
    clip = wav.read_bytes()
    _flip_byte(wav, len(clip) // 2)  # a damaged voice query: still a valid WAV, other samples
    assert f"audio/{wav.name} is missing or its checksum changed" == catalog_module.stale_reason(folder, True, 0)
    _flip_byte(manifest, 0)  # and a damaged manifest: no longer JSON
    assert catalog_module.stale_reason(folder, True, 0) == "the manifest is not valid JSON"
    rebuilt = catalog_module.load_catalog(fast=True, seed=0, cache=folder.parent.parent)
    assert "Building the MiniMart catalog (FAST, seed 0): the manifest is not valid JSON" in capsys.readouterr().out
    assert catalog_module.stale_reason(folder, True, 0) is None and wav.read_bytes() == clip
    for name in catalog_module.TABLES:
        pd.testing.assert_frame_equal(getattr(rebuilt, name), getattr(fast_catalog, name))
