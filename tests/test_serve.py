"""The web app behind ``make serve``, through its HTTP API, on the real FAST engine (no browser; see
test_serve_browser.py for the page itself)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from serve_cases import (big_photo, composed_case, image_bytes, photo_case, png_claiming, post_form, text_case,
                         voice_case, wav_bytes)

from tools import serve
from tools.uploads import MAX_CLIP_SECONDS, MAX_UPLOAD_MB, loudest_dbfs, read_clip
from tools.webapp import create_app


@pytest.fixture(scope="module")
def client(fast_engine):
    return TestClient(create_app(fast_engine[1]))


@pytest.fixture(scope="module")
def photo(fast_engine):
    return photo_case(*fast_engine)


def post(client, kind, files=None, **fields):
    return client.post(f"/api/search/{kind}", data=fields, files=files)


def skus(response):
    assert response.status_code == 200, response.text
    return [r["sku_id"] for r in response.json()["results"]]


def error(response, status):
    assert response.status_code == status, response.text
    return response.json()["error"]


# ---- each query kind finds what the engine finds ---------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_text_finds_the_target_with_titles_in_the_query_language(client, fast_engine, lang):
    case = text_case(*fast_engine, lang)
    response = post(client, "text", query=case.text)
    assert case.target in skus(response)
    answer = response.json()
    assert answer["kind"] == "text" and answer["lang"] == lang and answer["server_ms"] > 0
    han = [any("\u4e00" <= ch <= "\u9fff" for ch in r["title"]) for r in answer["results"]]
    assert all(han) if lang == "zh" else not any(han)


def test_contributions_add_up_to_the_score(client, fast_engine):
    # the fused index's product modalities, then every other signal a typed query is weighted by
    others = set(fast_engine[1].weights["text"]) - {"index"}
    for result in post(client, "text", query="blue balloon").json()["results"]:
        assert sum(result["contributions"].values()) == pytest.approx(result["score"], abs=1e-5)
        assert set(result["contributions"]) == {"image", "text", "review", "behaviour"} | others


def test_photo_upload_finds_the_target(client, photo):
    response = post(client, "photo", files={"photo": ("shot.png", image_bytes(photo.photo))})
    assert photo.target in skus(response)
    assert response.json()["note"] == "searched with your 64x64 photo (0.0 megapixels)"


def test_photo_plus_modifier_finds_the_target(client, fast_engine):
    case = composed_case(*fast_engine)
    response = post(client, "composed", files={"photo": ("shot.jpg", image_bytes(case.photo, "JPEG"))},
                    modifier=case.text)
    assert case.target in skus(response) and response.json()["kind"] == "composed"


def test_recording_is_heard_and_searched(client, fast_engine):
    case = voice_case(*fast_engine)
    response = post(client, "voice", files={"clip": ("mic.wav", wav_bytes(case.clip))})
    assert case.target in skus(response)
    assert response.json()["heard"] == case.text


def test_a_48khz_stereo_recording_is_mixed_down_and_resampled(fast_engine):
    case = voice_case(*fast_engine)
    stereo = np.repeat(np.interp(np.arange(len(case.clip) * 3) / 3, np.arange(len(case.clip)), case.clip)[:, None],
                       2, axis=1)
    wave = read_clip(wav_bytes(stereo, rate=48_000))
    assert abs(len(wave) - len(read_clip(wav_bytes(case.clip)))) < 400  # the same speech, within 25 ms


def test_product_photos_and_info(client, fast_engine):
    catalog, engine = fast_engine
    info = client.get("/api/info").json()
    assert info["products"] == len(catalog.skus) and "toys" in info["departments"] and "blue" in info["colours"]
    assert info["limits"] == {"upload_mb": 10, "photo_megapixels": 40, "clip_seconds": 15.0,
                              "min_clip_seconds": 0.3, "query_chars": 200}
    png = client.get(f"/api/photo/{catalog.skus.sku_id[0]}")
    assert png.headers["content-type"] == "image/png" and png.content[:4] == b"\x89PNG"
    assert error(client.get("/api/photo/S99999"), 404) == "no product 'S99999' in this catalog"


def test_the_page_fetches_nothing_from_elsewhere(client):
    page = client.get("/").text
    assert 'src="/static/app.js"' in page
    for path in ("/", "/static/app.js", "/static/style.css", "/static/recorder-worklet.js"):
        body = client.get(path).text
        assert "http://" not in body and "https://" not in body and "//cdn" not in body, path
    assert client.get("/docs").status_code == 404  # the API docs page would load scripts from a CDN


# ---- filters ---------------------------------------------------------------------------------------------------


def test_filters_hold_for_every_result(client):
    response = post(client, "text", query="blue balloon", max_price="20", department="toys", colour="blue")
    results = response.json()["results"]
    assert results and all(r["price"] <= 20 and r["department"] == "toys" and r["colour"] == "blue" for r in results)


@pytest.mark.parametrize("fields, message", [
    ({"min_price": "30", "max_price": "5"}, "min_price=30.0 is above max_price=5.0; swap them"),
    ({"department": "garden"}, "unknown department 'garden'; choose one of"),
    ({"max_price": "cheap"}, "the highest price 'cheap' is not a number; type dollars"),
    ({"k": "500"}, "k='500': ask for 1 to 50 results"),
])
def test_bad_filters_are_named(client, fields, message):
    assert message in error(post(client, "text", query="balloon", **fields), 400)


def test_no_product_within_the_filters_is_an_empty_list(client):
    assert post(client, "text", query="balloon", max_price="0.5").json()["results"] == []


# ---- bad input: a clear message, and the server keeps serving ---------------------------------------------------


@pytest.mark.parametrize("query", ["", "   "])
def test_empty_query(client, query):
    assert error(post(client, "text", query=query), 400) == ("the query is empty; type a few words, e.g. 'red mug' or "
                                                             "'红色杯子'")


def test_empty_modifier_and_overlong_query(client, photo):
    files = {"photo": ("shot.png", image_bytes(photo.photo))}
    assert error(post(client, "composed", files=files, modifier=" "), 400).startswith("the modifier is empty")
    assert "keep it under 200" in error(post(client, "text", query="mug " * 60), 400)


def test_non_image_and_corrupt_photos(client, photo):
    not_image = error(post(client, "photo", files={"photo": ("notes.txt", b"red mug, size M")}), 415)
    assert not_image == ("the uploaded file is not a photo this search can read; upload a JPEG, PNG, WebP, GIF or "
                         "BMP image")
    cut = image_bytes(photo.photo.resize((300, 300)))[:2000]  # a PNG cut short: the header is fine, the pixels are not
    assert error(post(client, "photo", files={"photo": ("cut.png", cut)}), 400).startswith(
        "the photo file is damaged and cannot be decoded")
    assert error(post(client, "photo", files={"photo": ("empty.png", b"")}), 400).startswith("the photo file is empty")


def test_a_30_megapixel_photo_is_scaled_down_and_searched(client, photo):
    response = post(client, "photo", files={"photo": ("big.jpg", big_photo(photo.photo))})
    assert photo.target in skus(response)
    assert response.json()["note"] == "searched with your 6000x5000 photo (30.0 megapixels)"


def test_a_photo_over_the_pixel_limit_is_refused_before_decoding(client):
    message = error(post(client, "photo", files={"photo": ("bomb.png", png_claiming(8_000, 6_000))}), 413)
    assert message.startswith("the photo is 8000x6000 pixels (48 megapixels); the limit is 40 megapixels")
    with pytest.warns(Image.DecompressionBombWarning):  # Pillow warns from 89 megapixels, and refuses from 179
        assert "the limit is 40 megapixels" in error(post(client, "photo", files={
            "photo": ("bomb.png", png_claiming(10_000, 9_000))}), 413)
    assert error(post(client, "photo", files={"photo": ("bomb.png", png_claiming(20_000, 10_000))}), 413) == (
        "the photo has over 179 megapixels; the limit is 40 megapixels. Scale it down")


def test_an_upload_over_the_size_limit_is_refused_before_reading(client):
    response = post(client, "photo", files={"photo": ("huge.jpg", b"\xff" * (MAX_UPLOAD_MB * 1_000_000 + 1))})
    assert error(response, 413).startswith("the upload is 10.0 MB; the limit is 10 MB")


def test_silent_long_short_and_foreign_recordings(client):
    voice = lambda data, name="mic.wav": post(client, "voice", files={"clip": (name, data)})  # noqa: E731
    assert error(voice(wav_bytes(np.zeros(32_000, np.float32))), 400).startswith("the recording is silent")
    two_minutes = wav_bytes(np.random.default_rng(0).normal(0, 0.1, 120 * 16_000).astype(np.float32))
    assert error(voice(two_minutes), 413).startswith(f"the recording is 120.0 s long; the limit is "
                                                      f"{MAX_CLIP_SECONDS:.0f} s")
    assert "too short to hold a word" in error(voice(wav_bytes(np.full(1_600, 0.3, np.float32))), 400)
    ogg = wav_bytes(np.random.default_rng(0).normal(0, 0.1, 16_000).astype(np.float32), fmt="OGG", subtype="VORBIS")
    assert error(voice(ogg, "mic.ogg"), 415).startswith("unsupported audio format (Ogg): send a WAV file")
    assert error(voice(b"\x1aE\xdf\xa3" + bytes(100), "mic.webm"), 415).startswith(
        "unsupported audio format (WebM/Matroska)")
    assert error(voice(b"RIFF\x00\x00\x00\x00WAVEjunk"), 415).startswith("the WAV file is damaged")


def test_missing_upload_is_named(client):
    assert "the request lacks or garbles photo" in error(post(client, "photo"), 422)


def test_loudest_frame_level():
    assert loudest_dbfs(np.zeros(16_000, np.float32)) == pytest.approx(-240)
    assert loudest_dbfs(np.r_[np.zeros(16_000), np.full(800, 0.5)].astype(np.float32)) == pytest.approx(-6.02, abs=0.01)


# ---- many searches at once over real HTTP ----------------------------------------------------------------------


def test_20_concurrent_searches_each_get_their_own_answer(served, fast_engine, photo):
    """Mixed text and photo searches from 20 threads at once: each answer is the one that query gets alone."""
    words = ["blue balloon", "红色气球", "abacus", "ballet shoes", "computer mouse"]

    def ask(i):
        if i % 4 == 3:
            return post_form(served, "photo", {}, ("photo", "shot.png", image_bytes(photo.photo)))
        return post_form(served, "text", {"query": words[i % len(words)]})

    alone = [ask(i) for i in range(20)]
    start = threading.Barrier(20)
    with ThreadPoolExecutor(20) as pool:
        together = list(pool.map(lambda i: (start.wait(), ask(i))[1], range(20)))
    assert [[r["sku_id"] for r in a["results"]] for a in together] == [[r["sku_id"] for r in a["results"]]
                                                                      for a in alone]


# ---- the command line ------------------------------------------------------------------------------------------


def test_port_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("PORT", "8123")
    assert serve.parse_args([]).port == 8123
    assert serve.parse_args(["--port", "9000", "--full"]).full


def test_bad_port_is_refused(monkeypatch, capsys):
    monkeypatch.setenv("PORT", "eighty")
    with pytest.raises(SystemExit):
        serve.parse_args([])
    assert "'eighty' is not a port number" in capsys.readouterr().err


def test_port_in_use_fails_before_loading(served):
    port = int(served.rsplit(":", 1)[1])
    with pytest.raises(SystemExit, match=f"cannot listen on 127.0.0.1:{port}.*make serve PORT={port + 1}"):
        serve.check_port_free(port)
