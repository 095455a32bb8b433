"""What the web page's tests search for, and the files they upload.

The queries are the FAST catalog's own, each with an exact target product: the first of each kind that the engine,
called directly, ranks in its top 5. The page must then show that product too, so the tests check the serving path
(upload, decoding, the endpoint, the page) against the engine itself rather than against ranks typed by hand.
"""

from __future__ import annotations

import io
import json
import shutil
import struct
import threading
import urllib.request
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import uvicorn
from PIL import Image

from mmlab.data.catalog import Catalog
from mmlab.encoders.audio import SAMPLE_RATE
from mmlab.engine import SearchEngine
from tools.uploads import read_clip

TOP = 5
CHROMIUM = shutil.which("chromium")  # Debian's package; Playwright drives it (it downloads no browser of its own)
BROWSER_TESTS = [pytest.mark.browser, pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed; install it with: apt-get install -y chromium chromium-driver")]


@dataclass(frozen=True)
class Case:
    """One query of the catalog: its text (or modifier), the photo or clip it carries, and the product to find."""

    query_id: str
    text: str
    target: str
    photo: Image.Image | None = None
    clip: np.ndarray | None = None


def first_found(catalog: Catalog, rows: pd.DataFrame, search: Callable[[pd.Series], pd.DataFrame],
                case: Callable[[pd.Series], Case]) -> Case:
    """The first query in ``rows`` whose target the engine ranks in its top 5 (for voice: heard word for word)."""
    for _, query in rows.iterrows():
        results = search(query)
        if query.target_sku in set(results.sku_id[:TOP]) and results.attrs.get("heard", query.text) == query.text:
            return case(query)
    raise AssertionError(f"the engine finds none of these {len(rows)} queries' targets in its top {TOP}")


def queries(catalog: Catalog, modality: str, lang: str = "") -> pd.DataFrame:
    q = catalog.queries
    return q[(q.modality == modality) & (q.lang == lang) & (q.target_sku != "") & ~q.has_typo]


def text_case(catalog: Catalog, engine: SearchEngine, lang: str) -> Case:
    return first_found(catalog, queries(catalog, "text", lang), lambda q: engine.search_text(q.text, lang, k=TOP),
                       lambda q: Case(q.query_id, q.text, q.target_sku))


def photo_case(catalog: Catalog, engine: SearchEngine) -> Case:
    photo = catalog.query_image
    return first_found(catalog, queries(catalog, "image"), lambda q: engine.search_photo(photo(q.query_id), k=TOP),
                       lambda q: Case(q.query_id, "", q.target_sku, photo=photo(q.query_id)))


def composed_case(catalog: Catalog, engine: SearchEngine) -> Case:
    rows = queries(catalog, "composed", "en")
    rows = rows[rows.attributes.str.match(r"colour=[a-z]")]  # "in blue", not "cheaper"
    photo = catalog.query_image
    return first_found(catalog, rows, lambda q: engine.search_composed(photo(q.query_id), q.text, k=TOP),
                       lambda q: Case(q.query_id, q.text, q.target_sku, photo=photo(q.query_id)))


def spoken(wave: np.ndarray, before: float = 0.5, after: float = 3.0) -> np.ndarray:
    """A clip as a microphone records it: silence before and after the words."""
    silence = lambda seconds: np.zeros(int(seconds * SAMPLE_RATE), np.float32)  # noqa: E731
    return np.concatenate([silence(before), wave, silence(after)])


def voice_case(catalog: Catalog, engine: SearchEngine) -> Case:
    """An English spoken query the engine hears word for word from a microphone-like recording of it."""
    clip = lambda q: spoken(catalog.query_audio(q.query_id))  # noqa: E731
    return first_found(catalog, queries(catalog, "voice", "en"),
                       lambda q: engine.search_voice(read_clip(wav_bytes(clip(q))), k=TOP),
                       lambda q: Case(q.query_id, q.text, q.target_sku, clip=clip(q)))


# ---- files ----------------------------------------------------------------------------------------------------


def wav_bytes(wave: np.ndarray, rate: int = SAMPLE_RATE, fmt: str = "WAV", subtype: str = "PCM_16") -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, wave, rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


def image_bytes(image: Image.Image, fmt: str = "PNG", **save: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save)
    return buffer.getvalue()


def big_photo(photo: Image.Image, size: tuple[int, int] = (6000, 5000)) -> bytes:
    """A 30-megapixel JPEG of ``photo`` (a phone's full-resolution shot of it)."""
    return image_bytes(photo.resize(size, Image.Resampling.NEAREST), "JPEG", quality=70)


def png_claiming(width: int, height: int) -> bytes:
    """A small PNG whose header says it is ``width`` x ``height`` pixels (a decompression bomb's first bytes)."""
    data = bytearray(image_bytes(Image.new("RGB", (8, 8), "white")))
    header = b"IHDR" + struct.pack(">II", width, height) + bytes(data[24:29])
    data[12:29] = header
    data[29:33] = struct.pack(">I", zlib.crc32(header))
    return bytes(data)


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


# ---- a live server -------------------------------------------------------------------------------------------


@contextmanager
def live_server(app: object) -> Iterator[str]:
    """``app`` served by uvicorn on a free port of 127.0.0.1 in a background thread; yields its URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the test server did not start; see the log above")
        threading.Event().wait(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def post_form(url: str, kind: str, fields: dict, file: tuple[str, str, bytes] | None = None) -> dict:
    """POST a search as a multipart form over HTTP (as the page does); the JSON answer. ``file``: (field, name,
    bytes)."""
    boundary = "----mmlabtest"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    if file:
        name, filename, data = file
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                     f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    request = urllib.request.Request(f"{url}/api/search/{kind}", data=body, method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())
