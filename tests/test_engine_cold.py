"""Products no encoder trained on, and BM25 alone for the queries about them."""

import numpy as np
import torch

from mmlab.data.catalog import load_catalog
from mmlab.engine.cold import adapted_weights, fallback_rows, untrained_products

WEIGHTS = {"index": 0.4, "text space": 0.3, "BM25": 0.3}


def test_untrained_products_are_those_of_the_types_without_a_training_query():
    catalog = load_catalog(fast=True, verbose=False)
    sku_ids = catalog.skus.sku_id.to_numpy()[::-1]  # any order: the mask follows it
    untrained = untrained_products(catalog, sku_ids).numpy()
    zero_shot = set(catalog.types.type_id[catalog.types.zero_shot])
    types = catalog.skus.set_index("sku_id").type_id.loc[sku_ids]
    assert untrained.any() and (untrained == types.isin(zero_shot).to_numpy()).all()


def test_fallback_only_for_lexical_queries_whose_best_match_is_untrained():
    untrained = torch.tensor([False, True, False])
    bm25 = torch.tensor([[0.2, 1.0, 0.1],   # best match untrained: fall back
                         [1.0, 0.9, 0.0],   # best match trained
                         [0.0, 0.0, 0.0]])  # no word indexed: nothing to trust
    assert fallback_rows("text", bm25, untrained).tolist() == [True, False, False]
    assert fallback_rows("voice", bm25, untrained).tolist() == [True, False, False]
    assert not fallback_rows("image", bm25, untrained).any()
    assert adapted_weights("text", WEIGHTS, {"BM25": bm25[0]}, untrained) == {"BM25": 1.0}
    assert adapted_weights("text", WEIGHTS, {"BM25": bm25[1]}, untrained) is WEIGHTS
    assert adapted_weights("image", WEIGHTS, {}, untrained) is WEIGHTS
