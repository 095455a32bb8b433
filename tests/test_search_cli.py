"""``python -m tools.search``: the README's first search, with the tiny engine of test_engine (no training)."""

import pytest
from test_engine import random_products, tiny_engine

from tools import engine_loader, search
from mmlab.data.catalog import load_catalog
from mmlab.engine import SearchEngine


def test_query_language_follows_the_script():
    assert engine_loader.query_lang("red wooden guitar") == "en"
    assert engine_loader.query_lang("蓝色手套") == "zh" and engine_loader.query_lang("Lumio 红色 T恤") == "zh"


@pytest.fixture(scope="module")
def products():
    return random_products(load_catalog(fast=True, verbose=False))


@pytest.fixture
def tiny_zoo(monkeypatch, products):
    """SearchEngine.from_zoo replaced by an untrained tiny engine: the CLI's plumbing, in a second."""
    monkeypatch.setattr(SearchEngine, "from_zoo", classmethod(lambda cls, c, seed=0, **backend:
                                                              tiny_engine(c, products, **backend)))


def test_prints_progress_and_a_results_table(tiny_zoo, capsys):
    assert search.main(["red guitar", "--k", "3"]) == 0
    out = capsys.readouterr().out
    assert "loading the FAST catalog" in out and "searching" in out
    table = out.splitlines()[-5:-1]
    assert table[0].split()[:3] == ["sku_id", "title", "department"]
    assert out.splitlines()[-1].startswith("(The FAST catalog sells 44 product types: ")


def test_milvus_backend_gives_the_same_table(tiny_zoo, capsys, monkeypatch, tmp_path):
    assert search.main(["red guitar", "--k", "4"]) == 0
    in_process = capsys.readouterr().out.splitlines()[-6:-1]
    monkeypatch.setenv("MMLAB_MILVUS_URI", str(tmp_path / "cli.db"))
    assert search.main(["red guitar", "--k", "4", "--backend", "milvus"]) == 0
    assert capsys.readouterr().out.splitlines()[-6:-1] == in_process


def test_chinese_query_shows_chinese_titles(tiny_zoo, capsys):
    assert search.main(["蓝色手套", "--k", "2"]) == 0
    rows = capsys.readouterr().out.splitlines()[-3:-1]
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in row) for row in rows)


def test_blank_query_fails_at_once_with_a_fix(monkeypatch, capsys):
    """Checked before the catalog and models load: a typo in the command must not cost a minute of training."""
    monkeypatch.setattr(engine_loader, "open_catalog", lambda **_: pytest.fail("loaded the catalog for a blank query"))
    assert search.main(["   "]) == 2
    assert "the query is empty; type a few words" in capsys.readouterr().err


def test_bad_k_is_an_error_with_a_fix(tiny_zoo, capsys):
    assert search.main(["red guitar", "--k", "0"]) == 2
    assert "k=0 must be a whole number between 1 and the number of items" in capsys.readouterr().err
