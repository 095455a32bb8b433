"""The capstone search engine as a web page on this computer: type, upload a photo, or speak into the microphone.

    python -m tools.serve                 # FAST catalog and models (trained on first use), http://127.0.0.1:8000
    python -m tools.serve --full          # the full catalog and models (quick after `make run`)
    PORT=8080 python -m tools.serve       # another port (or --port 8080)

It listens on 127.0.0.1 only: the page is for this computer's browser, not the network. Nothing is fetched from the
internet; the page, its script and its styles are in tools/web/. Stop it with Ctrl+C.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time

import uvicorn

from tools.engine_loader import fast_catalog_note, load_engine, step
from tools.webapp import create_app

HOST = "127.0.0.1"


def port_number(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number; choose one from 1024 to 65535, e.g. 8000")
    return int(value)


def check_port_free(port: int) -> None:
    """Fail now, not after a minute of loading models, when another program listens on the port."""
    with socket.socket() as probe:
        try:
            probe.bind((HOST, port))
        except OSError as error:
            raise SystemExit(f"error: cannot listen on {HOST}:{port} ({error.strerror}); another program uses it. "
                             f"Choose another port: make serve PORT={port + 1}") from None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.serve", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=port_number, default=os.environ.get("PORT", "8000"),
                        help="the port to listen on (default: $PORT, else 8000)")
    parser.add_argument("--full", action="store_true", help="the full catalog and models instead of FAST ones")
    parser.add_argument("--seed", type=int, default=0, help="the seed of the catalog and models (default 0)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    check_port_free(args.port)
    start = time.perf_counter()
    try:
        catalog, engine = load_engine(args.full, args.seed, start)
    except ValueError as error:  # a problem in your own catalog
        print(f"error: {error}", file=sys.stderr)
        return 2
    note = fast_catalog_note(catalog)
    app = create_app(engine, note and f"{note}; make serve ARGS=--full serves all of MiniMart")
    step(f"serving {len(engine.sku_ids):,} products: open http://{HOST}:{args.port}/ in your browser "
         "(Ctrl+C stops)", start)
    uvicorn.run(app, host=HOST, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
