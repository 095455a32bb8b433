"""The capstone scorecard: slices of the held-out queries, per-system NDCG, the best baseline and the paired interval;
and the engine and its baselines as systems on the FAST catalog."""

import numpy as np
import pandas as pd
import pytest

from mmlab.capstone import KINDS, SLICES, System, held_out_queries, scorecard, slice_masks, system_scores, verdict
from mmlab.data.catalog import load_catalog
from mmlab.metrics import ndcg_at_k


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(fast=True, verbose=False)


def _oracle(catalog, depth: int = 1):
    """Puts each query's target at rank ``depth`` (1 = first), after ``depth - 1`` SKUs irrelevant to it."""
    relevance, ids = catalog.relevance(), catalog.skus.sku_id.tolist()

    def rank(queries: pd.DataFrame) -> list[list[str]]:
        out = []
        for q, target in zip(queries.query_id, queries.target_sku):
            filler = [s for s in ids if s not in relevance[q]][:depth - 1]
            out.append(filler + [target] + [s for s in ids if s not in relevance[q]][depth - 1:10 - depth])
        return out

    return rank


def test_slices_cut_the_held_out_queries_as_named(catalog):
    queries = held_out_queries(catalog)
    masks = slice_masks(queries)
    assert set(masks) == set(SLICES)  # MiniMart's FAST edition has at least two queries in every slice
    typed = (queries.split == "test") & (queries.modality == "text")
    assert (masks["text_en"] | masks["text_zh"]).sum() == typed.sum()
    assert not (masks["text_en"] & masks["text_zh"]).any()
    assert masks["mixed"].sum() == (queries.split == "test").sum()
    assert queries[masks["text_zero_shot"]].split.eq("zero_shot").all()
    assert queries[masks["text_synonym"]].lang.eq("en").all() and not queries[masks["text_synonym"]].has_typo.any()
    assert queries[masks["voice_zh"]].modality.eq("voice").all() and queries[masks["voice_zh"]].lang.eq("zh").all()


def test_system_scores_are_ndcg_on_the_kinds_it_answers(catalog):
    queries = held_out_queries(catalog)
    second = system_scores(catalog, System("second", _oracle(catalog, 2), ("image",)), queries)
    photos = queries.modality.eq("image").to_numpy()
    assert np.isnan(second[~photos]).all()
    row = queries[photos].iloc[0]
    ranked = _oracle(catalog, 2)(queries[photos].iloc[:1])
    want = ndcg_at_k(ranked, [catalog.relevance([row.query_id])[row.query_id]], 10)
    assert second[photos][0] == pytest.approx(want) and 0 < want < 1


def test_scorecard_names_the_best_baseline_and_the_paired_interval(catalog):
    engine = System("engine", _oracle(catalog, 1), KINDS)
    rivals = [System("second", _oracle(catalog, 2), KINDS), System("third", _oracle(catalog, 3), ("text",)),
              System("perfect but only a reference", _oracle(catalog, 1), KINDS, reference=True)]
    card = scorecard(catalog, engine, rivals)
    assert (card.best_baseline == "second").all()  # the reference never counts, "third" is worse
    assert np.isnan(card.loc["photo", "third"]) and card.loc["text_en", "third"] < card.loc["text_en", "second"]
    assert (card.difference > 0).all() and (verdict(card) == "better").all()
    tie = scorecard(catalog, engine, [System("copy", _oracle(catalog, 1), KINDS)])
    assert (tie.difference == 0).all() and (verdict(tie) == "tie").all()


def test_the_engine_and_its_baselines_as_systems(fast_engine):
    from mmlab.engine.systems import baselines, engine_system

    catalog, engine = fast_engine
    systems = {s.name: s for s in baselines(catalog, engine)}
    queries = held_out_queries(catalog)
    sample = pd.concat([queries[queries.modality == kind].head(3) for kind in KINDS])
    routed = systems["upstream spaces, routed"].rank(sample)
    by_kind = {"text": "text space", "voice": "text space", "image": "photo space (trained head)",
               "composed": "photo space (trained head)"}
    for kind, name in by_kind.items():
        rows = np.flatnonzero(sample.modality == kind)
        assert [routed[r] for r in rows] == systems[name].rank(sample.iloc[rows])
    served = engine_system(engine).rank(sample)
    assert all(len(ranked) == 10 == len(set(ranked)) for ranked in served)
    assert served[0] == list(engine.search_text(sample.text.iloc[0], k=10).sku_id)
    assert systems["same queries typed"].reference and not systems["BM25"].reference


def test_signals_collected_once_rank_as_the_engine_serves(fast_engine):
    from mmlab.engine.systems import engine_system, signal_system
    from mmlab.engine.weights import query_signals

    catalog, engine = fast_engine
    queries = held_out_queries(catalog)
    sample = pd.concat([queries[queries.modality == kind].head(3) for kind in KINDS]
                       + [queries[(queries.split == "zero_shot") & (queries.modality == "text")].head(4)])
    signals = query_signals(engine, sample)
    system = signal_system("engine", signals, engine.weights, engine.sku_ids, engine.untrained)
    assert system.rank(sample) == engine_system(engine).rank(sample)
    typed = signals["text"]
    assert typed.scores(engine.weights["text"], engine.untrained, "text").shape == (7, len(engine.sku_ids))
    fell_back = [engine.query_weights("text", engine.evidence("text", q)) == {"BM25": 1.0}
                 for q in sample[sample.modality == "text"].text]
    assert any(fell_back) and not all(fell_back)  # the zero-shot queries exercise the rule, the others do not
    with pytest.raises(KeyError, match="query_signals"):
        system.rank(queries[~queries.query_id.isin(sample.query_id)].head(1))
