"""The product index in a vector database: Milvus, through its Python client ``pymilvus``.

    index = ProductIndex.create("products", vectors, attributes)          # FLAT: exact, every row scanned
    scores, rows = index.search(queries, k=10, where='price <= 20.0 and colour == "red"')
    hnsw = ProductIndex.create("products_hnsw", vectors, attributes, index_type="HNSW")
    scores, rows = hnsw.search(queries, k=10, effort=64)                  # effort: HNSW's ef

Each row of ``vectors`` is stored with its row number (the primary key, ``row``) and one field per column of
``attributes`` (numbers as DOUBLE or INT64, text as VARCHAR; a number column with gaps is nullable), so a search can
filter on them with a Milvus boolean expression before the top-k is taken. Scores are higher-is-better, as in
:mod:`mmlab.retrieval`: the dot product or the cosine similarity; missing slots (fewer than k rows pass the filter)
hold row -1 and score -inf.

**Where the index lives.** By default Milvus Lite: a local folder ``<cache>/milvus/mmlab.db`` served from inside this
Python process, no server to install. Set the environment variable ``MMLAB_MILVUS_URI`` (or pass ``uri=``) to a
server, e.g. ``http://localhost:19530`` for Milvus standalone in Docker or a cluster's proxy address, with
``MMLAB_MILVUS_TOKEN`` (``user:password`` or an API key) when it asks for credentials. What stays the same: this
module's code, the schema, the filter expressions, the FLAT results (exact search) and the index parameters. What
changes: where the data lives (the server's object storage instead of a local folder), who builds the indexes (the
server's index nodes) and how it scales (shards spread inserts, replicas of the loaded segments serve more queries);
a Milvus Lite file is opened by one process at a time, a server by any number of clients.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pymilvus import DataType, MilvusClient, MilvusException

from mmlab.config import cache_dir
from mmlab.retrieval import Matrix, as_float32, as_matrix, check_k

URI_VARIABLE, TOKEN_VARIABLE = "MMLAB_MILVUS_URI", "MMLAB_MILVUS_TOKEN"
SERVER_SCHEMES = ("http://", "https://", "tcp://", "grpc://", "unix:")
INDEX_TYPES = ("FLAT", "HNSW")
METRICS = {"dot": "IP", "cosine": "COSINE"}  # mmlab's name -> Milvus's metric_type
VECTOR, KEY = "vector", "row"
INSERT_BATCH = 10_000  # rows per insert request (Milvus caps a request at 64 MB)
CONNECT_TIMEOUT_S = 5.0


def default_uri() -> str:
    """``MMLAB_MILVUS_URI`` if set, else the Milvus Lite file under the cache directory."""
    return os.environ.get(URI_VARIABLE) or str(cache_dir() / "milvus" / "mmlab.db")


def connect(uri: str | None = None, token: str | None = None) -> MilvusClient:
    """A client for Milvus Lite (a path ending in ``.db``) or a Milvus server (``http://host:19530``...)."""
    uri = default_uri() if uri is None else str(uri)
    token = os.environ.get(TOKEN_VARIABLE, "") if token is None else token
    if uri.startswith(SERVER_SCHEMES):
        where = f"the Milvus server at {uri}"
    elif uri.endswith(".db"):
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
        where = f"the Milvus Lite file {uri}"
        # Milvus Lite serves gRPC from a thread of this process and lacks AllocTimestamp, which the client tries
        # (then does without) while an index builds: gRPC would log each try as an error of this process's server
        logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
    else:
        raise ValueError(f"Milvus URI {uri!r} is neither a Milvus Lite file (a path ending in .db) nor a server "
                         f"address (http://host:19530); fix {URI_VARIABLE} or the uri argument")
    try:
        return MilvusClient(uri=uri, token=token, timeout=CONNECT_TIMEOUT_S)
    except MilvusException as error:
        raise ConnectionError(f"cannot reach {where}: {error.message}. Start the server (or check the address "
                              f"and {TOKEN_VARIABLE}), or unset {URI_VARIABLE} to use Milvus Lite; a Milvus Lite "
                              "file is held by one process at a time") from error


def _field(name: str, column: pd.Series) -> dict:
    """``add_field`` arguments for one attribute column."""
    if pd.api.types.is_bool_dtype(column):
        return {"field_name": name, "datatype": DataType.BOOL}
    if pd.api.types.is_integer_dtype(column):
        return {"field_name": name, "datatype": DataType.INT64}
    if pd.api.types.is_float_dtype(column):
        return {"field_name": name, "datatype": DataType.DOUBLE, "nullable": bool(column.isna().any())}
    if column.map(lambda value: isinstance(value, str)).all():
        longest = int(column.map(lambda text: len(text.encode())).max()) if len(column) else 0
        return {"field_name": name, "datatype": DataType.VARCHAR, "max_length": max(1, min(65_535, longest))}
    raise ValueError(f"attribute column {name!r} has dtype {column.dtype} with values that are not all text; store "
                     "numbers, booleans or strings (convert it, e.g. column.astype(str))")


def _records(vectors: np.ndarray, attributes: pd.DataFrame, start: int) -> list[dict]:
    """Insert rows ``start``... as dicts: row number, vector and attributes (NaN as null)."""
    columns = {name: [None if isinstance(v, float) and np.isnan(v) else v for v in attributes[name].tolist()]
               for name in attributes.columns}
    return [{KEY: start + i, VECTOR: vector, **{name: values[i] for name, values in columns.items()}}
            for i, vector in enumerate(vectors)]


def _check_index(index_type: str, metric: str) -> None:
    if index_type not in INDEX_TYPES:
        raise ValueError(f"unknown index_type {index_type!r}; choose one of {INDEX_TYPES}")
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; the Milvus index supports {tuple(METRICS)}")


@dataclass
class ProductIndex:
    """One Milvus collection of vectors with their attributes, searched by vector with optional filters."""

    client: MilvusClient
    name: str
    dim: int
    metric: str
    index_type: str

    @classmethod
    def create(cls, name: str, vectors: Matrix, attributes: pd.DataFrame | None = None, *, metric: str = "dot",
               index_type: str = "FLAT", m: int = 16, ef_construction: int = 200, uri: str | None = None,
               replace: bool = True) -> ProductIndex:
        """Store ``vectors`` (n, dim) and ``attributes`` (n rows, one field per column) in collection ``name`` and
        build its index (FLAT, or HNSW with ``m`` links per node and ``ef_construction``)."""
        _check_index(index_type, metric)
        x = np.ascontiguousarray(as_float32(as_matrix(vectors, "vectors"), "vectors").numpy())
        attributes = pd.DataFrame(index=range(len(x))) if attributes is None else attributes.reset_index(drop=True)
        if len(attributes) != len(x):
            raise ValueError(f"{len(attributes)} attribute rows for {len(x)} vectors; pass one row per vector")
        if {KEY, VECTOR} & set(attributes.columns):
            raise ValueError(f"attribute columns may not be named {KEY!r} or {VECTOR!r} (the index's own fields); "
                             "rename them")
        client = connect(uri)
        if client.has_collection(name):
            if not replace:
                raise ValueError(f"collection {name!r} already exists; open it with ProductIndex.open or pass "
                                 "replace=True to rebuild it")
            client.drop_collection(name)
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field(KEY, DataType.INT64, is_primary=True)
        schema.add_field(VECTOR, DataType.FLOAT_VECTOR, dim=x.shape[1])
        for column in attributes.columns:
            schema.add_field(**_field(str(column), attributes[column]))
        client.create_collection(name, schema=schema)
        for start in range(0, len(x), INSERT_BATCH):
            client.insert(name, _records(x[start:start + INSERT_BATCH], attributes.iloc[start:start + INSERT_BATCH],
                                         start))
        client.flush(name)  # seal the inserted rows into segments, which the index covers
        index = cls(client, name, x.shape[1], metric, index_type)
        index.build(index_type, m=m, ef_construction=ef_construction)
        return index

    @classmethod
    def open(cls, name: str, uri: str | None = None, dim: int | None = None) -> ProductIndex:
        """An existing collection, with the metric and index type it was built with; ``dim``: the vector dimension
        it must have (checked when given)."""
        client = connect(uri)
        if not client.has_collection(name):
            raise LookupError(f"no collection {name!r} at {uri or default_uri()}; create it with ProductIndex.create "
                              f"(collections there: {client.list_collections()})")
        fields = {f["name"]: f for f in client.describe_collection(name)["fields"]}
        if VECTOR not in fields or KEY not in fields:
            raise ValueError(f"collection {name!r} was not made by ProductIndex (no {KEY!r} and {VECTOR!r} fields); "
                             "pick another name")
        client.load_collection(name)  # a collection is searchable once loaded (a new process finds it released)
        described = client.describe_index(name, VECTOR)
        metric = {milvus: ours for ours, milvus in METRICS.items()}[described["metric_type"]]
        stored = int(fields[VECTOR]["params"]["dim"])
        if dim is not None and dim != stored:
            raise ValueError(f"collection {name!r} holds vectors of dimension {stored}, not {dim}; re-create it with "
                             "ProductIndex.create (replace=True) from vectors of the model you search with")
        return cls(client, name, stored, metric, described["index_type"])

    def build(self, index_type: str, m: int = 16, ef_construction: int = 200) -> None:
        """(Re)build the vector index: FLAT (exact) or HNSW (a proximity graph, approximate)."""
        _check_index(index_type, self.metric)
        self.client.release_collection(self.name)
        if self.client.list_indexes(self.name):
            self.client.drop_index(self.name, VECTOR)
        params = self.client.prepare_index_params()
        options = {"M": m, "efConstruction": ef_construction} if index_type == "HNSW" else {}
        params.add_index(field_name=VECTOR, index_type=index_type, metric_type=METRICS[self.metric], params=options)
        try:
            self.client.create_index(self.name, params)
        except MilvusException:
            # a long build can outlast the connection: the client then retries, and the retry finds the index its
            # first request built ("index already exists"); anything else is a real failure
            if not self._built(index_type):
                raise
        self.client.load_collection(self.name)
        self.index_type = index_type

    def _built(self, index_type: str) -> bool:
        """Whether the vector field has a finished index of ``index_type``."""
        if not self.client.list_indexes(self.name):
            return False
        described = self.client.describe_index(self.name, VECTOR)
        return described["index_type"] == index_type and described.get("state") == "Finished"

    def __len__(self) -> int:
        return int(self.client.get_collection_stats(self.name)["row_count"])

    def search(self, queries: Matrix, k: int, *, where: str = "", effort: int | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, rows) per query among the rows that satisfy the filter expression ``where`` ("": all),
        best first; ``effort`` is HNSW's ``ef`` (candidates kept during the walk; at least k)."""
        q = as_float32(as_matrix(queries, "queries"), "queries").numpy()
        if q.shape[1] != self.dim:
            raise ValueError(f"queries have dimension {q.shape[1]} but collection {self.name!r} holds vectors of "
                             f"dimension {self.dim}; encode both into one space (or re-create the collection)")
        check_k(k, len(self))
        params = {} if effort is None else {"ef": max(int(effort), k)}
        if effort is not None and self.index_type != "HNSW":
            raise ValueError(f"a {self.index_type} index has no effort setting; pass effort=None")
        try:
            hits = self.client.search(self.name, data=q, limit=k, filter=where, anns_field=VECTOR,
                                      search_params={"params": params})
        except MilvusException as error:
            raise ValueError(f"Milvus rejected the search on {self.name!r} (filter {where!r}): {error.message}. "
                             "Check the filter's field names and quotes, e.g. 'price <= 20.0 and colour == \"red\"'"
                             ) from error
        rows, scores = np.full((len(q), k), -1), np.full((len(q), k), -np.inf, dtype=np.float32)
        for i, found in enumerate(hits):
            rows[i, :len(found)] = [hit[KEY] for hit in found]
            scores[i, :len(found)] = [hit["distance"] for hit in found]
        return scores, rows

    def drop(self) -> None:
        """Delete the collection and its data."""
        self.client.drop_collection(self.name)
