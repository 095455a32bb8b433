"""The capstone search engine behind a web page: one JSON endpoint per query kind, the page itself in ``web/``.

    POST /api/search/text      query                 (form fields; every endpoint also takes the options below)
    POST /api/search/photo     photo (a file)
    POST /api/search/voice     clip (a WAV file)
    POST /api/search/composed  photo (a file), modifier
    options: k (1-50, default 10), min_price, max_price, department, colour (blank: any), titles (auto, en or zh)
    GET  /api/info             catalog, filter choices and limits;  GET /api/photo/{sku_id}: a product photo (PNG)

Each search answers ``{"kind", "lang", "heard" (voice), "note", "server_ms", "results": [...]}``; bad input answers
``{"error": message}`` with a 4xx status, and the server keeps serving. The engine is not thread-safe, so searches
take turns on one lock; photos are decoded at most two at a time (a large one takes memory).
"""

from __future__ import annotations

import io
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd
from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from mmlab.encoders.audio import SAMPLE_RATE
from mmlab.engine import LANGS, Filters, SearchEngine, check_text
from tools.engine_loader import query_lang
from tools.uploads import (MAX_CLIP_SECONDS, MAX_PHOTO_MEGAPIXELS, MAX_UPLOAD_MB, MIN_CLIP_SECONDS, Photo,
                           UploadError, read_clip, read_photo)

WEB = Path(__file__).resolve().parent / "web"
MAX_K = 50
MAX_QUERY_CHARS = 200
TITLE_CHOICES = ("auto", *LANGS)


@dataclass(frozen=True)
class Options:
    """What every search takes besides its query: how many results, the filters, the titles' language."""

    k: int
    filters: Filters
    titles: str

    def lang(self, query: str = "") -> str:
        """The titles' language: the chosen one, or the query's own ("en" when there is no text)."""
        return query_lang(query) if self.titles == "auto" else self.titles


def price(value: str, name: str) -> float | None:
    if not value.strip():
        return None
    try:
        number = float(value)
    except ValueError:
        raise UploadError(f"{name} {value!r} is not a number; type dollars, e.g. 20 or 9.99, or leave it blank "
                          "for any") from None
    if not math.isfinite(number) or number < 0:
        raise UploadError(f"{name} {value!r} must be an amount of dollars, 0 or more")
    return number


def search_options(k: str = Form("10"), min_price: str = Form(""), max_price: str = Form(""),
                   department: str = Form(""), colour: str = Form(""), titles: str = Form("auto")) -> Options:
    """The options form fields, checked (the engine checks department and colour against the catalog)."""
    if not k.strip().isdigit() or not 1 <= int(k) <= MAX_K:
        raise UploadError(f"k={k!r}: ask for 1 to {MAX_K} results")
    if titles not in TITLE_CHOICES:
        raise UploadError(f"titles={titles!r}: choose one of {', '.join(TITLE_CHOICES)}")
    filters = Filters(price(min_price, "the lowest price"), price(max_price, "the highest price"),
                      department.strip() or None, colour.strip() or None)
    return Options(int(k), filters, titles)


class BodyLimit:
    """Refuse a request body over ``max_bytes`` (or of unstated size) before reading it: an ASGI middleware."""

    def __init__(self, app: Callable, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            length = dict(scope["headers"]).get(b"content-length", b"")
            problem = None
            if not length.isdigit():
                problem = (411, "the upload does not state its size (Content-Length); send it as a normal form post")
            elif int(length) > self.max_bytes:
                problem = (413, f"the upload is {int(length) / 1e6:.1f} MB; the limit is {self.max_bytes / 1e6:.0f} MB."
                                " Send a smaller photo or a shorter recording")
            if problem:
                await JSONResponse({"error": problem[1]}, status_code=problem[0])(scope, receive, send)
                return
        await self.app(scope, receive, send)


class Searcher:
    """The engine behind a lock, with result tables turned into what the page shows."""

    def __init__(self, engine: SearchEngine) -> None:
        self.engine, self.lock, self.decoding = engine, threading.Lock(), threading.BoundedSemaphore(2)
        cards = engine.cards.set_index("sku_id")
        self.titles = {lang: cards[f"title_{lang}"] for lang in LANGS}

    def photo(self, data: bytes) -> Photo:
        with self.decoding:
            return read_photo(data)

    def run(self, search: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        with self.lock:
            return search()

    def answer(self, kind: str, results: pd.DataFrame, lang: str, start: float, **extra: object) -> dict:
        columns = results.attrs["contributions"]  # the fused index's modalities, then any other signal
        rows = [{"sku_id": r.sku_id, "title": self.titles[lang][r.sku_id], "department": r.department,
                 "colour": r.colour, "price": float(r.price),
                 "rating": None if pd.isna(r.rating) else float(r.rating), "score": float(r.score),
                 "contributions": {c: float(value) for c, value in zip(columns, row)},
                 "photo": f"/api/photo/{r.sku_id}"}
                for r, row in zip(results.itertuples(), results[columns].to_numpy())]
        return {"kind": kind, "lang": lang, **extra, "results": rows,
                "server_ms": round(1000 * (time.perf_counter() - start), 1)}


def create_app(engine: SearchEngine, note: str | None = None) -> FastAPI:
    """The web app over ``engine``; ``note`` is shown under the search box (e.g. which types FAST MiniMart sells)."""
    app = FastAPI(title="MiniMart search", docs_url=None, redoc_url=None)  # the docs pages would load a CDN
    app.add_middleware(BodyLimit, max_bytes=MAX_UPLOAD_MB * 1_000_000)
    searcher = Searcher(engine)
    add_error_handlers(app)
    app.mount("/static", StaticFiles(directory=WEB), name="static")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(WEB / "index.html")

    @app.get("/api/info")
    def info() -> dict:
        cards = engine.cards
        return {"products": len(cards), "note": note, "modalities": list(engine.model.config.modalities),
                "departments": sorted(set(cards.department) - {""}), "colours": sorted(set(cards.colour) - {""}),
                "price": [float(cards.price.min()), float(cards.price.max())],
                "limits": {"upload_mb": MAX_UPLOAD_MB, "photo_megapixels": MAX_PHOTO_MEGAPIXELS,
                           "clip_seconds": MAX_CLIP_SECONDS, "min_clip_seconds": MIN_CLIP_SECONDS,
                           "query_chars": MAX_QUERY_CHARS}}

    @lru_cache(maxsize=4096)
    def product_png(sku_id: str) -> bytes:
        buffer = io.BytesIO()
        engine.catalog.product_image(sku_id).save(buffer, format="PNG")
        return buffer.getvalue()

    @app.get("/api/photo/{sku_id}")
    def product_photo(sku_id: str) -> Response:
        if sku_id not in searcher.titles["en"].index:
            return JSONResponse({"error": f"no product {sku_id!r} in this catalog"}, status_code=404)
        return Response(product_png(sku_id), media_type="image/png", headers={"Cache-Control": "max-age=3600"})

    @app.post("/api/search/text")
    def search_text(query: str = Form(""), options: Options = Depends(search_options)) -> dict:
        start = time.perf_counter()
        query = checked_query(query, "the query")
        lang = options.lang(query)
        results = searcher.run(lambda: engine.search_text(query, lang, options.k, options.filters))
        return searcher.answer("text", results, lang, start)

    @app.post("/api/search/photo")
    def search_photo(photo: UploadFile = File(...), options: Options = Depends(search_options)) -> dict:
        start = time.perf_counter()
        upload = searcher.photo(photo.file.read())
        results = searcher.run(lambda: engine.search_photo(upload.image, k=options.k, filters=options.filters))
        return searcher.answer("photo", results, options.lang(), start, note=f"searched with {upload.note}")

    @app.post("/api/search/voice")
    def search_voice(clip: UploadFile = File(...), options: Options = Depends(search_options)) -> dict:
        start = time.perf_counter()
        wave = read_clip(clip.file.read())
        results = searcher.run(lambda: engine.search_voice(wave, SAMPLE_RATE, k=options.k, filters=options.filters))
        heard = results.attrs["heard"]
        if not heard.strip():
            raise UploadError("nothing recognisable was heard in the recording; say the product's name clearly, close "
                              "to the microphone, e.g. \"red mug\"", status=422)
        return searcher.answer("voice", results, options.lang(heard), start, heard=heard,
                               note=f"{len(wave) / SAMPLE_RATE:.1f} s of speech")

    @app.post("/api/search/composed")
    def search_composed(photo: UploadFile = File(...), modifier: str = Form(""),
                        options: Options = Depends(search_options)) -> dict:
        start = time.perf_counter()
        modifier = checked_query(modifier, "the modifier")
        upload = searcher.photo(photo.file.read())
        lang = options.lang(modifier)
        results = searcher.run(lambda: engine.search_composed(upload.image, modifier, lang, options.k, options.filters))
        return searcher.answer("composed", results, lang, start, note=f"searched with {upload.note} + \"{modifier}\"")

    return app


def checked_query(text: str, what: str) -> str:
    text = check_text(text, what)
    if len(text) > MAX_QUERY_CHARS:
        raise UploadError(f"{what} is {len(text)} characters long; keep it under {MAX_QUERY_CHARS} (a few words "
                          "work best)")
    return text


def add_error_handlers(app: FastAPI) -> None:
    """Bad input answers {"error": message} with a 4xx status; the page shows the message."""

    @app.exception_handler(UploadError)
    def upload_error(request: Request, error: UploadError) -> JSONResponse:
        return JSONResponse({"error": str(error)}, status_code=error.status)

    @app.exception_handler(ValueError)
    def value_error(request: Request, error: ValueError) -> JSONResponse:  # the engine's checks (filters, text)
        return JSONResponse({"error": str(error)}, status_code=400)

    @app.exception_handler(RequestValidationError)
    def missing_field(request: Request, error: RequestValidationError) -> JSONResponse:
        fields = ", ".join(str(e["loc"][-1]) for e in error.errors())
        return JSONResponse({"error": f"the request lacks or garbles {fields}; send it as a form post with those "
                                      "fields (see /openapi.json)"}, status_code=422)
