"""The Milvus index (mmlab.vectordb) on Milvus Lite files in a temporary folder: exact FLAT results, filters, HNSW
recall, the engine's Milvus backend against its in-process one, and clear errors."""

import numpy as np
import pandas as pd
import pytest
import torch
from pymilvus import MilvusException

from mmlab.ann import recall_at_k
from mmlab.data.catalog import load_catalog
from mmlab.engine import Filters, SearchEngine
from mmlab.retrieval import search
from mmlab.towerdata import product_features
from mmlab.vectordb import URI_VARIABLE, ProductIndex, connect, default_uri
from test_engine import random_products, tiny_engine

N, DIM = 2_000, 32


@pytest.fixture(scope="module")
def uri(tmp_path_factory):
    return str(tmp_path_factory.mktemp("milvus") / "test.db")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((N, DIM), dtype=np.float32)
    attributes = pd.DataFrame({"price": rng.uniform(1, 60, N).round(2), "colour": rng.choice(["red", "blue"], N),
                               "rating": np.where(rng.random(N) < 0.2, np.nan, rng.uniform(1, 5, N).round(1)),
                               "title_zh": rng.choice(["红色杯子", "蓝色衬衫"], N)})
    return vectors, attributes, rng.standard_normal((40, DIM), dtype=np.float32)


@pytest.fixture(scope="module")
def flat(uri, data):
    vectors, attributes, _ = data
    return ProductIndex.create("flat", vectors, attributes, metric="dot", uri=uri)


def test_milvus_flat_top10_is_exact_search(flat, data):
    vectors, _, queries = data
    scores, rows = flat.search(queries, 10)
    want_scores, want_rows = search(queries, vectors, 10, metric="dot")
    assert (rows == want_rows).all()
    assert np.allclose(scores, want_scores, atol=1e-5)


def test_milvus_cosine_is_exact_search(uri, data):
    vectors, _, queries = data
    index = ProductIndex.create("cosine", vectors * 3, metric="cosine", uri=uri)  # lengths must not matter
    assert (index.search(queries, 10)[1] == search(queries, vectors, 10, metric="cosine")[1]).all()


def test_milvus_filters_are_exact_search_over_the_rows_that_pass(flat, data):
    vectors, attributes, queries = data
    keep = ((attributes.price <= 20.0) & (attributes.colour == "red")).to_numpy()
    _, rows = flat.search(queries, 10, where='price <= 20.0 and colour == "red"')
    assert (rows == np.flatnonzero(keep)[search(queries, vectors[keep], 10, metric="dot")[1]]).all()
    _, few = flat.search(queries[:1], 10, where="price < 1.2")  # fewer rows pass than k: padded with -1
    assert (few[0] >= 0).sum() == (attributes.price < 1.2).sum() < 10 and (few[0, (few[0] >= 0).sum():] == -1).all()


def test_milvus_attributes_are_stored_as_fields(flat, data):
    _, attributes, _ = data
    got = pd.DataFrame(flat.client.query("flat", filter="row < 5", output_fields=list(attributes.columns)))
    got = got.sort_values("row").reset_index(drop=True)[list(attributes.columns)]
    pd.testing.assert_frame_equal(got, attributes.head(5), check_dtype=False)  # NaN rating stored as null


def test_milvus_hnsw_recall(uri, data):
    vectors, _, queries = data
    index = ProductIndex.create("hnsw", vectors, metric="dot", index_type="HNSW", m=16, ef_construction=100, uri=uri)
    exact = search(queries, vectors, 10, metric="dot")[1]
    assert recall_at_k(index.search(queries, 10, effort=128)[1], exact, 10) >= 0.95
    index.client.release_collection("hnsw")  # what another process finds: stored, not loaded
    reopened = ProductIndex.open("hnsw", uri)
    assert reopened.index_type == "HNSW" and reopened.search(queries, 10, effort=128)[1].shape == (len(queries), 10)


def test_milvus_engine_backend_ranks_like_the_in_process_one(uri):
    catalog = load_catalog(fast=True, verbose=False)
    products = random_products(catalog)
    memory, milvus = tiny_engine(catalog, products), tiny_engine(catalog, products, backend="milvus", milvus_uri=uri)
    queries = torch.nn.functional.normalize(torch.randn(30, memory.index.shape[1], generator=torch.Generator()
                                                        .manual_seed(1)), dim=1)
    department, colour = catalog.skus.department.mode()[0], catalog.skus.colour[catalog.skus.colour != ""].mode()[0]
    for filters in [None, Filters(max_price=20, colour=colour), Filters(min_price=5, department=department)]:
        for query in queries:
            want, got = memory.search_vector(query, k=10, filters=filters), milvus.search_vector(query, 10,
                                                                                                filters=filters)
            pd.testing.assert_frame_equal(got, want)
    reopened = tiny_engine(catalog, products, backend="milvus", milvus_uri=uri)  # same vectors: the same collection
    assert reopened.milvus.name == milvus.milvus.name


def test_milvus_filter_expression():
    cards = pd.DataFrame({"price": [1.0], "department": ["kitchen"], "colour": ["red"]})
    assert Filters().expression(cards) == ""
    assert Filters(min_price=2, max_price=9.5, colour="red").expression(cards) == \
        'price >= 2.0 and price <= 9.5 and colour == "red"'
    with pytest.raises(ValueError, match="unknown colour"):
        Filters(colour="mauve").expression(cards)


def test_milvus_default_uri_is_lite_unless_set(monkeypatch):
    monkeypatch.delenv(URI_VARIABLE, raising=False)
    assert default_uri().endswith("milvus/mmlab.db")
    monkeypatch.setenv(URI_VARIABLE, "http://milvus.example:19530")
    assert default_uri() == "http://milvus.example:19530"


@pytest.mark.parametrize("uri, error, words", [
    ("http://127.0.0.1:9", ConnectionError, "cannot reach the Milvus server"),
    ("products.sqlite", ValueError, "neither a Milvus Lite file"),
])
def test_milvus_bad_uri_is_named(uri, error, words):
    with pytest.raises(error, match=words):
        connect(uri)


def test_milvus_bad_input_is_named(flat, uri, data):
    vectors, attributes, queries = data
    with pytest.raises(ValueError, match="dimension 16 but collection 'flat' holds vectors of dimension 32"):
        flat.search(queries[:, :16], 10)
    with pytest.raises(ValueError, match="holds vectors of dimension 32, not 64"):
        ProductIndex.open("flat", uri, dim=64)
    with pytest.raises(LookupError, match="no collection 'missing'"):
        ProductIndex.open("missing", uri)
    with pytest.raises(ValueError, match="already exists"):
        ProductIndex.create("flat", vectors, attributes, uri=uri, replace=False)
    with pytest.raises(ValueError, match="attribute rows"):
        ProductIndex.create("short", vectors, attributes.head(5), uri=uri)
    with pytest.raises(ValueError, match="unknown index_type"):
        ProductIndex.create("ivf", vectors, index_type="IVF_PQ", uri=uri)
    with pytest.raises(ValueError, match="effort"):
        flat.search(queries, 10, effort=32)
    with pytest.raises(ValueError, match="Milvus rejected the search"):
        flat.search(queries, 10, where="size == 3")
    nan = vectors.copy()
    nan[7, 0] = np.nan
    with pytest.raises(ValueError, match="row 7 contains NaN"):
        ProductIndex.create("nan", nan, uri=uri)


def test_milvus_build_survives_a_retried_request_but_not_a_failed_one(uri, data, monkeypatch):
    vectors, _, queries = data
    index = ProductIndex.create("retried", vectors[:300], metric="dot", uri=uri)
    create = index.client.create_index

    def built_then_lost(*args, **kwargs):  # the first request built it, its answer was lost, the retry was refused
        create(*args, **kwargs)
        raise MilvusException(message="index already exists for field 'vector'; call drop_index first")

    monkeypatch.setattr(index.client, "create_index", built_then_lost)
    index.build("HNSW", m=8, ef_construction=40)
    assert index.index_type == "HNSW" and index.search(queries, 5, effort=16)[1].shape == (len(queries), 5)

    def refused(*args, **kwargs):
        raise MilvusException(message="out of memory")

    monkeypatch.setattr(index.client, "create_index", refused)
    with pytest.raises(MilvusException, match="out of memory"):
        index.build("FLAT")


def test_milvus_ranks_like_the_fitted_engine_for_every_kind(fast_engine, tmp_path):
    """The fitted engine (every signal) answers alike from Milvus: stacked dense vectors there, boosts re-scored."""
    from mmlab.capstone import held_out_queries
    from mmlab.engine.inputs import raw_query

    catalog, memory = fast_engine
    milvus = SearchEngine(catalog, memory.model, product_features(catalog), memory.encoders, backend="milvus",
                          milvus_uri=str(tmp_path / "engine.db"), spaces=memory.spaces).with_weights(memory.weights)
    queries = held_out_queries(catalog)
    sample = pd.concat([queries[queries.modality == kind].head(6) for kind in ("text", "image", "voice", "composed")])
    cheap = Filters(max_price=float(catalog.skus.price.median()))
    for row in sample.itertuples():
        query = raw_query(catalog, row)
        for filters in (None, cheap):
            want = memory.search(row.modality, query, k=10, filters=filters)
            got = milvus.search(row.modality, query, k=10, filters=filters)
            assert list(got.sku_id) == list(want.sku_id), (row.query_id, filters)
