"""Text encoders for query -> product retrieval: text in, one L2-normalised ``dim``-vector out.

Three encoders, from simplest to richest, all ``forward(ids, mask) -> (B, dim)`` unit vectors:

``MeanEncoder``         bag of embeddings: the masked mean of the token embeddings. Word order is lost.
``GRUEncoder``          a bidirectional GRU reads the tokens in both directions; its states are mean-pooled.
``TransformerEncoder``  a tiny Transformer trained from scratch: every token attends to every other one; the last
                        layer's states are mean-pooled.

The encoders are written in notebook 03 and saved to :mod:`mmlab.models.text`; this module trains and caches them.

A product is read as passages, its English title + description and its Chinese ones; its vector is the
normalised sum of its passages' vectors, so one index serves queries in both languages.

Training (``train_text_encoder``): a two-tower model with ONE shared tower. Queries and product texts are in the
same languages and use the same words ("red cotton t-shirt" in both), and there are only ~3,000 training queries:
one tower sees twice the data, and the words it learns from product descriptions (the keyword tags) serve
queries too. The loss is InfoNCE with in-batch negatives: each query must pick its target SKU among the batch's
products. A batch SKU that also fully matches a query (grade 2, e.g. another "fondue" when the query names no
attribute) is taken out of that query's negatives: ranking it high is not wrong.

Honesty: the tokenisers and models learn only from the TRAIN queries and the SKUs of the product types that are
not zero-shot; learning rates and epochs were picked on the VAL queries; test and zero-shot queries are for the
final table only.

Public API used by later notebooks::

    model, summary = trained_text_encoder(catalog, kind="mean")  # "mean" | "gru" | "transformer"; in the zoo
    queries = encode_texts(model, ["red t-shirt", "红色T恤"])      # (2, dim) float32, unit rows
    products = product_text_embeddings(model, catalog)           # (n_skus, dim), rows in catalog.skus order
    ranked = bm25_rank(catalog, ["red t-shirt"], k=10)           # the lexical baseline: SKU ids per text

Modules: ``encoding`` (texts and SKUs to vectors), ``queries`` (splits, query sets, evaluation, augmentation),
``training`` (tokenisers, objective, sampler, zoo) and ``baselines`` (BM25, random); everything is importable from
here.
"""

from __future__ import annotations

from mmlab.encoders.text.baselines import BM25Index, bm25_rank, query_latency_ms, random_ranker
from mmlab.encoders.text.encoding import (KINDS, build_encoder, encode_texts, encoder_ranker, n_parameters,
                                         pool_passages, product_text_embeddings, sku_passages)
from mmlab.encoders.text.queries import QUERY_SETS, augment_query, ndcg_by_query_set, ranked_queries, text_queries
from mmlab.encoders.text.training import (ProductSampler, TextConfig, default_config, fit_tokenizer, tokenizer_texts,
                                         trained_text_encoder)
from mmlab.models.text import TextEncoder

__all__ = ["BM25Index", "bm25_rank", "query_latency_ms", "random_ranker", "KINDS", "build_encoder", "encode_texts",
           "encoder_ranker", "n_parameters", "pool_passages", "product_text_embeddings", "sku_passages", "QUERY_SETS",
           "augment_query", "ndcg_by_query_set", "ranked_queries", "text_queries", "ProductSampler", "TextConfig",
           "default_config", "fit_tokenizer", "tokenizer_texts", "trained_text_encoder", "TextEncoder"]
