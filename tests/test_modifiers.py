"""Modifiers of composed queries: parsed in English and Chinese, checked against the generator's own attributes,
and the SKUs that fulfil them."""

import pandas as pd
import pytest

from mmlab.data.catalog import load_catalog
from mmlab.engine.modifiers import Modifier, matching_skus, parse_modifier

COLOURS = ["red", "blue", "grey", ""]


@pytest.mark.parametrize("text, want", [
    ("in blue", Modifier("blue")), ("换成蓝色", Modifier("blue")), ("要蓝的", Modifier("blue")),
    ("cheaper", Modifier(cheaper=True)), ("更便宜的", Modifier(cheaper=True)),
    ("a cheaper one in Red", Modifier("red", cheaper=True)), ("bored", Modifier()), ("in teal", Modifier()),
])
def test_parse_modifier(text, want):
    assert parse_modifier(text, COLOURS) == want


def test_every_composed_query_of_minimart_is_read_as_generated():
    catalog = load_catalog(fast=True, verbose=False)
    composed = catalog.queries[catalog.queries.modality == "composed"]
    colours = catalog.skus.colour.unique()
    for text, attributes in zip(composed.text, composed.attributes):
        fields = dict(field.split("=") for field in attributes.split(";"))
        want = Modifier(None if "cheaper_than" in fields else fields["colour"], "cheaper_than" in fields)
        assert parse_modifier(text, colours) == want, text


def test_matching_skus_keep_the_type_and_change_what_is_asked():
    skus = pd.DataFrame({"type_id": [1, 1, 1, 1, 2], "colour": ["red", "blue", "red", "red", "blue"],
                         "price": [10.0, 12.0, 8.0, 15.0, 1.0]})
    assert matching_skus(skus, 0, Modifier("blue")).tolist() == [False, True, False, False, False]
    assert matching_skus(skus, 0, Modifier(cheaper=True)).tolist() == [False, False, True, False, False]
    assert not matching_skus(skus, 0, Modifier()).any()
