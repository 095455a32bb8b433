"""Screenshots of the ``make serve`` page in headless Chromium: a text, a photo, a voice and a photo + modifier search,
and an error. The README's picture is ``docs/serve.png`` (the text search), written with ``--readme``.

    .venv/bin/python scripts/serve_screenshots.py OUT_DIR [--readme]

Needs Debian's chromium (apt-get install -y chromium) and the FAST models (trained on first use). PNGs are reduced to
256 colours to stay small.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # tools/ (the web app) and the tests' helpers
from serve_cases import composed_case, image_bytes, live_server, photo_case, voice_case, wav_bytes  # noqa: E402

from mmlab.data.open import open_catalog  # noqa: E402
from mmlab.engine import SearchEngine  # noqa: E402
from tools.engine_loader import fast_catalog_note  # noqa: E402
from tools.webapp import create_app  # noqa: E402


def save(page, path: Path) -> None:
    page.screenshot(path=path)
    Image.open(path).convert("RGB").quantize(256).save(path, optimize=True)
    print(f"{path} ({path.stat().st_size / 1e3:.0f} kB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--readme", action="store_true", help="also write docs/serve.png")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    catalog = open_catalog(fast=True)
    engine = SearchEngine.from_zoo(catalog)
    folder = Path(tempfile.mkdtemp())
    (folder / "my-photo.png").write_bytes(image_bytes(photo_case(catalog, engine).photo))
    composed = composed_case(catalog, engine)
    (folder / "this-one.png").write_bytes(image_bytes(composed.photo))
    (folder / "recording.wav").write_bytes(wav_bytes(voice_case(catalog, engine).clip))

    from playwright.sync_api import sync_playwright

    with live_server(create_app(engine, fast_catalog_note(catalog))) as url, sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=shutil.which("chromium"))
        page = chromium.new_page(viewport={"width": 1100, "height": 760})
        page.goto(url)
        page.wait_for_selector("#department option[value=toys]", state="attached")
        done = "#results[aria-busy=false] .card, #error:not([hidden])"
        page.fill("#query", "blue balloon")
        page.press("#query", "Enter")
        page.wait_for_selector(done)
        save(page, args.out / "text.png")
        if args.readme:
            save(page, ROOT / "docs" / "serve.png")
        page.set_input_files("#photo-input", folder / "my-photo.png")
        page.wait_for_selector(done)
        save(page, args.out / "photo.png")
        page.set_input_files("#photo-input", folder / "this-one.png")
        page.wait_for_selector(done)
        page.fill("#query", composed.text)
        page.press("#query", "Enter")
        page.wait_for_selector(done)
        save(page, args.out / "composed.png")
        page.click("#clear-photo")
        page.set_input_files("#clip-input", folder / "recording.wav")
        page.wait_for_selector("#heard:not([hidden])")
        save(page, args.out / "voice.png")
        page.fill("#query", "")
        page.press("#query", "Enter")
        page.wait_for_selector("#error:not([hidden])")
        save(page, args.out / "error.png")
        chromium.close()


if __name__ == "__main__":
    main()
