"""Ablation of the engine's signals: weights chosen on validation, scored on the held-out slices; then the scorecard.

    python scripts/capstone_ablation.py full   # or fast
"""
import sys, time
import pandas as pd
import torch
from mmlab.data.open import open_catalog
from mmlab.engine import SearchEngine
from mmlab.engine.systems import baselines, signal_system
from mmlab.engine.weights import fit_kind_weights, query_signals
from mmlab.capstone import scorecard, verdict, held_out_queries, slice_masks, system_scores
torch.set_num_threads(1)
catalog = open_catalog(fast=sys.argv[1] == "fast")
t = time.time()
engine = SearchEngine.from_zoo(catalog, fit=False)
print("engine built in", round(time.time() - t), "s", flush=True)
queries = held_out_queries(catalog)
val = catalog.queries[(catalog.queries.split == "val") & catalog.queries.modality.isin(["text", "image", "voice", "composed"])]
t = time.time()
val_signals, held_signals = query_signals(engine, val), query_signals(engine, queries)
print("signals in", round(time.time() - t), "s", flush=True)
BM = ["index", "text space", "photo space", "BM25"]
STEPS = [("fused index only", ["index"], False),
         ("+ text and photo spaces", ["index", "text space", "photo space"], False),
         ("+ BM25", BM, False),
         ("+ frozen photo, small CNN", BM + ["frozen photo", "small CNN"], False),
         ("+ modifier", None, False),
         ("+ BM25 alone for untrained products", None, True)]
masks = slice_masks(queries)
rows = {}
for name, using, fallback in STEPS:
    weights = fit_kind_weights(val_signals, engine.sku_ids, using=using)
    system = signal_system(name, held_signals, weights, engine.sku_ids, engine.untrained if fallback else None)
    scores = system_scores(catalog, system, queries)
    rows[name] = {s: float(scores[m].mean()) for s, m in masks.items()}
    print(name, weights, flush=True)
pd.set_option("display.width", 250); pd.set_option("display.max_columns", 30)
print(pd.DataFrame(rows).T.round(3).to_string())
engine.with_weights(weights)
t = time.time()
card = scorecard(catalog, signal_system("engine", held_signals, weights, engine.sku_ids, engine.untrained),
                 baselines(catalog, engine))
print("scorecard in", round(time.time() - t), "s")
print(card.drop(columns=["queries"]).round(3).T.to_string())
print(verdict(card).to_string())
card.to_csv(f"/tmp/z/card_{sys.argv[1]}.csv")
pd.DataFrame(rows).T.to_csv(f"/tmp/z/ablation_{sys.argv[1]}.csv")
