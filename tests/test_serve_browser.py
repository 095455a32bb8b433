"""The ``make serve`` page in a real headless Chromium (Debian's ``chromium`` package, driven by Playwright): every
query kind finds its product, the microphone records through Chromium's fake capture device, and every bad input
shows its message on the page while the server keeps serving."""

import numpy as np
import pytest
from serve_cases import (BROWSER_TESTS, CHROMIUM, big_photo, composed_case, image_bytes, photo_case, png_claiming,
                         text_case, voice_case, wav_bytes, write)

from mmlab.encoders.audio import SAMPLE_RATE

pytestmark = BROWSER_TESTS


def launch(playwright, microphone=None):
    """Headless Chromium; with ``microphone`` (a WAV file) its fake capture device plays that file once."""
    args = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
    if microphone:
        args.append(f"--use-file-for-fake-audio-capture={microphone}%noloop")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=args)


@pytest.fixture(scope="module")
def playwright():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def voice(fast_engine):
    return voice_case(*fast_engine)


@pytest.fixture(scope="module")
def files(tmp_path_factory, fast_engine, voice):
    """Every file the tests upload or speak, written once."""
    catalog, engine = fast_engine
    folder = tmp_path_factory.mktemp("uploads")
    photo = photo_case(catalog, engine).photo
    noise = np.random.default_rng(0).normal(0, 0.1, 120 * SAMPLE_RATE).astype(np.float32)
    return {"speech.wav": write(folder, "speech.wav", wav_bytes(voice.clip)),
            "silence.wav": write(folder, "silence.wav", wav_bytes(np.zeros(5 * SAMPLE_RATE, np.float32))),
            "photo.png": write(folder, "photo.png", image_bytes(photo)),
            "big.jpg": write(folder, "big.jpg", big_photo(photo)),
            "bomb.png": write(folder, "bomb.png", png_claiming(8_000, 6_000)),
            "notes.txt": write(folder, "notes.txt", b"red mug, size M"),
            "cut.png": write(folder, "cut.png", image_bytes(photo.resize((300, 300)))[:2000]),
            "two-minutes.wav": write(folder, "two-minutes.wav", wav_bytes(noise)),
            "voice.ogg": write(folder, "voice.ogg", wav_bytes(noise[:SAMPLE_RATE], fmt="OGG", subtype="VORBIS"))}


@pytest.fixture(scope="module")
def browser(playwright, files):
    chromium = launch(playwright, files["speech.wav"])
    yield chromium
    chromium.close()


@pytest.fixture
def page(browser, served):
    """A fresh tab on the search page, with the filters loaded."""
    tab = browser.new_page(viewport={"width": 1200, "height": 900})
    tab.goto(served)
    tab.wait_for_selector("#department option[value=toys]", state="attached")
    yield tab
    tab.close()


def shown(page):
    """Wait for the search to finish (results or an error); the SKU ids of the result cards in order."""
    page.wait_for_selector("#results[aria-busy=false] .card, #error:not([hidden])")
    return [card.get_attribute("data-sku") for card in page.query_selector_all("#results .card")]


def error_of(page):
    page.wait_for_selector("#error:not([hidden])")
    return page.inner_text("#error")


def text_search(page, query):
    page.fill("#query", query)
    page.press("#query", "Enter")
    return shown(page)


# ---- each query kind ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_text_search(page, fast_engine, lang):
    case = text_case(*fast_engine, lang)
    assert case.target in text_search(page, case.text)
    status = page.inner_text("#status")
    assert status.startswith("Text search · 10 results · ") and " ms on the server · " in status
    title = page.inner_text(f'.card[data-sku="{case.target}"] h3')
    assert any("\u4e00" <= ch <= "\u9fff" for ch in title) == (lang == "zh")


def test_photo_upload(page, fast_engine, files):
    page.set_input_files("#photo-input", files["photo.png"])
    assert photo_case(*fast_engine).target in shown(page)
    assert page.inner_text("#status").startswith("Photo search · searched with your 64x64 photo")
    assert page.is_visible("#chip") and page.inner_text("#chip-name") == "photo.png"


def drop(page, path, name, mime):
    """Drop a file on the search box, as a drag from the desktop does."""
    transfer = page.evaluate_handle("""([bytes, name, type]) => {
        const transfer = new DataTransfer();
        transfer.items.add(new File([new Uint8Array(bytes)], name, {type}));
        return transfer; }""", [list(path.read_bytes()), name, mime])
    page.dispatch_event("#bar", "drop", {"dataTransfer": transfer})


def test_drag_and_drop_a_photo_or_a_recording(page, fast_engine, files, voice):
    drop(page, files["photo.png"], "dropped.png", "image/png")
    assert photo_case(*fast_engine).target in shown(page)
    assert page.inner_text("#chip-name") == "dropped.png"
    drop(page, files["speech.wav"], "query.wav", "audio/wav")
    assert voice.target in shown(page) and page.inner_text("#heard q") == voice.text


def test_photo_plus_modifier(page, fast_engine, tmp_path):
    case = composed_case(*fast_engine)
    page.set_input_files("#photo-input", write(tmp_path, "source.png", image_bytes(case.photo)))
    shown(page)  # the photo alone first
    assert case.target in text_search(page, case.text)
    assert page.inner_text("#status").startswith(f"Photo + modifier · searched with your 64x64 photo (0.0 megapixels) "
                                                 f"+ \"{case.text}\"")
    page.click("#clear-photo")
    assert not page.is_visible("#chip")


def test_microphone(page, voice):
    """Chromium's fake microphone plays the spoken query (with silence around it, as a real recording has)."""
    page.click("#mic")
    # the words end 3 s before the clip does: stopping 0.5 s before its end still stops in the silence, and leaves
    # the browser 2.5 s to open the microphone before the clip starts playing, even on a busy machine
    page.wait_for_timeout(1000 * (len(voice.clip) / SAMPLE_RATE - 0.5))
    page.click("#mic")
    assert voice.target in shown(page)
    assert page.inner_text("#heard q") == voice.text
    assert page.inner_text("#status").startswith("Voice search · ")


def test_filters(page):
    page.fill("#max-price", "20")
    page.select_option("#department", "toys")
    page.select_option("#colour", "blue")
    results = text_search(page, "balloon")
    assert results
    for card in page.query_selector_all("#results .card"):
        meta = card.query_selector(".meta").inner_text()
        assert float(card.query_selector(".price").inner_text().lstrip("$")) <= 20
        assert meta.endswith("· blue · toys"), meta
    page.fill("#min-price", "30")
    text_search(page, "balloon")
    assert error_of(page) == "min_price=30.0 is above max_price=20.0; swap them"
    page.fill("#min-price", "")
    page.fill("#max-price", "0.5")
    text_search(page, "balloon")
    assert error_of(page).startswith("No product matches these filters")


# ---- bad input: a message on the page, and the server keeps serving ---------------------------------------------


def test_empty_query(page):
    assert text_search(page, "   ") == []
    assert error_of(page) == "the query is empty; type a few words, e.g. 'red mug' or '红色杯子'"


@pytest.mark.parametrize("name, message", [
    ("notes.txt", "the uploaded file is not a photo this search can read; upload a JPEG, PNG, WebP, GIF or BMP image"),
    ("cut.png", "the photo file is damaged and cannot be decoded"),
    ("bomb.png", "the photo is 8000x6000 pixels (48 megapixels); the limit is 40 megapixels"),
])
def test_bad_photos(page, files, name, message):
    page.set_input_files("#photo-input", files[name])
    assert error_of(page).startswith(message)
    assert page.query_selector_all("#results .card") == []


def test_a_30_megapixel_photo_is_scaled_down(page, fast_engine, files):
    page.set_input_files("#photo-input", files["big.jpg"])
    assert photo_case(*fast_engine).target in shown(page)
    assert "searched with your 6000x5000 photo (30.0 megapixels)" in page.inner_text("#status")


@pytest.mark.parametrize("name, message", [
    ("two-minutes.wav", "the recording is 120.0 s long; the limit is 15 s"),
    ("voice.ogg", "unsupported audio format (Ogg): send a WAV file (16-bit PCM, mono)"),
])
def test_bad_recordings(page, files, name, message):
    page.set_input_files("#clip-input", files[name])
    assert error_of(page).startswith(message)


def test_silent_microphone(playwright, files, served):
    chromium = launch(playwright, files["silence.wav"])
    page = chromium.new_page()
    page.goto(served)
    page.click("#mic")
    page.wait_for_timeout(1500)
    page.click("#mic")
    assert error_of(page).startswith("the recording is silent: nothing was heard")
    chromium.close()


def test_the_server_keeps_serving_after_bad_input(page, fast_engine, files):
    page.set_input_files("#photo-input", files["notes.txt"])
    error_of(page)
    page.click("#clear-photo")
    case = text_case(*fast_engine, "en")
    assert case.target in text_search(page, case.text)
    assert page.is_hidden("#error")
