"""The capstone's search engine: one index over the fused SKU vectors, one entry point per kind of query.

Every query kind goes through the same two steps: its raw input (text, a photo, a 16 kHz clip, a photo plus a
modifier) is embedded by the frozen upstream encoders of its notebook (03 text, 02 image; a clip is transcribed by
notebook 05's recogniser, then embedded as text), then by the query tower of notebooks 06/07 into the shared space,
where one exact cosine search over the fused product vectors answers it.

    engine = SearchEngine.from_zoo(catalog)                # upstream encoders + notebook 06's tower, from the zoo
    engine.search_text("red running shoes", lang="en")      # a results table
    engine.search_photo(photo); engine.search_composed(photo, "in blue")
    engine.search_voice(wave, sr=16_000).attrs["heard"]     # the table, and what the recogniser heard
    engine.grid(results)                                    # the results as an image grid
    engine.search_text("mug", filters=Filters(max_price=10, colour="red"))  # only SKUs with these attributes
    SearchEngine.from_zoo(catalog, backend="milvus")       # the same index in Milvus (mmlab.vectordb), same rankings

**Per-modality contribution.** The weighted-sum product vector is ``h = Σ_m w_m p̂_m / Z`` with ``Z = ‖Σ_m w_m
p̂_m‖`` (unit projections ``p̂_m``, softmax weights ``w_m`` over the modalities the SKU has). The score of a unit
query ``q`` is therefore exactly the sum of one term per modality, ``q·h = Σ_m w_m (q·p̂_m) / Z``: the columns
``image``, ``text``, ``review`` and ``behaviour`` of a results table are those terms and add up to ``score``. A
term is large when the modality both weighs much and agrees with the query; a negative term argued against the SKU.

Modules: ``search`` (the engine), ``inputs`` (query checks and filters), ``upstream`` (the frozen encoders and the
index's per-modality parts) and ``demo`` (the notebook widgets); everything is importable from here.
"""

from __future__ import annotations

from mmlab.engine.demo import demo, show
from mmlab.engine.inputs import BACKENDS, LANGS, Filters, check_lang, check_text, photo_tensor
from mmlab.engine.search import SearchEngine
from mmlab.engine.upstream import Encoders, cannot_hear

__all__ = ["demo", "show", "BACKENDS", "LANGS", "Filters", "check_lang", "check_text", "photo_tensor", "SearchEngine",
           "Encoders", "cannot_hear"]
