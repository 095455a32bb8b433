"""Fixtures shared by the test modules."""

import pytest

from mmlab.config import one_thread as single_thread


@pytest.fixture
def one_thread():
    """Tiny tensors gain nothing from threads, and on a busy 2-core machine each op can wait for a second one."""
    with single_thread():
        yield


@pytest.fixture(scope="session")
def fast_engine():
    """The FAST catalog and its real search engine (models trained on first use and cached, as make search does)."""
    from mmlab.data.catalog import load_catalog
    from mmlab.engine import SearchEngine

    catalog = load_catalog(fast=True, verbose=False)
    return catalog, SearchEngine.from_zoo(catalog)


@pytest.fixture(scope="session")
def served(fast_engine):
    """The web app over the FAST engine, live on a free port of 127.0.0.1: its URL."""
    from serve_cases import live_server
    from tools.webapp import create_app

    with live_server(create_app(fast_engine[1], note="FAST")) as url:
        yield url
