"""Ablation of the engine's signals: weights chosen on validation, scored on the held-out slices; then the scorecard.

    python scripts/capstone_ablation.py full   # or fast
"""
import sys, time, json, torch
import pandas as pd
from mmlab.data.open import open_catalog
from mmlab.engine import SearchEngine
from mmlab.engine.systems import baselines, engine_system
from mmlab.engine.weights import validation_weights
from mmlab.capstone import scorecard, verdict, held_out_queries, slice_masks, system_scores
torch.set_num_threads(1)
fast = sys.argv[1] == "fast"
catalog = open_catalog(fast=fast)
t = time.time()
engine = SearchEngine.from_zoo(catalog, fit=False)
print("engine built in", round(time.time() - t), "s", flush=True)
STEPS = [("fused index only", ["index"]),
         ("+ text and photo spaces", ["index", "text space", "photo space"]),
         ("+ BM25", ["index", "text space", "photo space", "BM25"]),
         ("+ frozen photo, small CNN", ["index", "text space", "photo space", "BM25", "frozen photo", "small CNN"]),
         ("+ modifier (all)", None)]
queries = held_out_queries(catalog)
masks = slice_masks(queries)
rows = {}
for name, using in STEPS:
    t = time.time()
    engine.weights = {k: {"index": 1.0} for k in engine.weights} | validation_weights(engine, using=using)
    scores = system_scores(catalog, engine_system(engine), queries)
    rows[name] = {s: float(scores[m].mean()) for s, m in masks.items()}
    print(name, json.dumps(engine.weights), f"{time.time() - t:.0f}s", flush=True)
    print("   ", {k: round(v, 3) for k, v in rows[name].items()}, flush=True)
pd.set_option("display.width", 250); pd.set_option("display.max_columns", 30)
print(pd.DataFrame(rows).T.round(3).to_string())
card = scorecard(catalog, engine_system(engine), baselines(catalog, engine))
print(card.drop(columns=[c for c in card.columns if c in ("queries",)]).round(3).T.to_string())
print(verdict(card).to_string())


