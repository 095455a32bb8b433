"""Notebook 11's interactive demo in a real JupyterLab, in headless Chromium: open the notebook, run all cells, type a
query into the demo's box, click *search*, and see the product the engine finds."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from serve_cases import BROWSER_TESTS, CHROMIUM, text_case

from mmlab.config import ROOT

NOTEBOOK = "11_capstone_search_engine.ipynb"
TOKEN = "mmlab-test"

pytestmark = BROWSER_TESTS


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    """JupyterLab serving a copy of notebook 11 (its kernel named, so no kernel dialog); yields the notebook's URL."""
    notebook = json.loads((ROOT / "notebooks" / NOTEBOOK).read_text())
    notebook["metadata"]["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                          "language": "python"}
    (tmp_path / NOTEBOOK).write_text(json.dumps(notebook))
    port = free_port()
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces")}
    server = subprocess.Popen([Path(sys.executable).parent / "jupyter", "lab", "--no-browser", "--allow-root",
                               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
                               f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={tmp_path}",
                               "--LabApp.news_url="],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, server)
        yield f"http://127.0.0.1:{port}/lab/tree/{NOTEBOOK}?token={TOKEN}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def wait_for_port(port: int, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with code {server.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"JupyterLab did not listen on port {port} within {seconds} s")


def test_demo_widget_searches_in_jupyterlab(lab, fast_engine):
    from playwright.sync_api import sync_playwright

    case = text_case(*fast_engine, "en")
    with sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM)
        page = chromium.new_page(viewport={"width": 1300, "height": 1000})
        page.goto(lab)
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        try:  # JupyterLab may still ask which kernel to start, depending on timing
            page.click(".jp-Dialog .jp-mod-accept", timeout=5_000)
        except Exception:  # noqa: BLE001 - no dialog: the kernel named in the notebook started
            pass
        page.wait_for_selector(".jp-StatusBar-TextItem:has-text('| Idle')", timeout=60_000)
        page.click(".lm-MenuBar-itemLabel:text-is('Run')")
        page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
        button = page.wait_for_selector("button.jupyter-button:has-text('search')", timeout=180_000)
        page.wait_for_selector(".jp-StatusBar-TextItem:has-text('| Idle')", timeout=180_000)
        page.fill(".widget-text input", case.text)
        button.click()
        page.wait_for_selector(".widget-output table", timeout=60_000)
        output = page.inner_text(".widget-output")
        chromium.close()
    assert case.target in output and "⚠️" not in output
