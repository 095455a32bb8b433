"""The capstone's search engine: the fused index and the specialised spaces beside it, one entry point per kind
of query.

A raw query (text, a photo, a 16 kHz clip, a photo plus a modifier) is embedded by the frozen upstream encoders of
its notebook (03 text, 02 image; a clip is heard by notebook 05's recogniser, its words decoded over the lexicon by
notebook 11's Viterbi decoder (:mod:`mmlab.engine.hearing`), then embedded as text) and by the query tower of
notebooks 06/07. The engine scores every product by a weighted sum of signals: the fused index, the
text and photo spaces, BM25, the frozen photo features and the small CNN, and the products a modifier asks for
(:mod:`mmlab.engine.signals`); the weights per kind of query are chosen on the validation queries
(:mod:`mmlab.engine.weights`), and a typed or spoken query about a product type no encoder was trained on is ranked by
BM25 alone (:mod:`mmlab.engine.cold`).

    engine = SearchEngine.from_zoo(catalog)                # encoders and tower from the zoo, weights fitted
    engine.search_text("red running shoes", lang="en")      # a results table
    engine.search_photo(photo); engine.search_composed(photo, "in blue")
    engine.search_voice(wave, sr=16_000).attrs["heard"]     # the table, and what the recogniser heard
    engine.grid(results)                                    # the results as an image grid
    engine.search_text("mug", filters=Filters(max_price=10, colour="red"))  # only SKUs with these attributes
    SearchEngine.from_zoo(catalog, backend="milvus")       # the same engine over Milvus (mmlab.vectordb)

**Contributions.** The columns of a results table after ``score`` add up to it: one per weighted signal, and the
fused index's term split by product modality. The weighted-sum product vector is ``h = Σ_m w_m p̂_m / Z`` with
``Z = ‖Σ_m w_m p̂_m‖`` (unit projections ``p̂_m``, softmax weights ``w_m`` over the modalities the SKU has), so a
unit query's ``q·h = Σ_m w_m (q·p̂_m) / Z``: the columns ``image``, ``text``, ``review`` and ``behaviour`` are those
terms times the index's weight. A negative term argued against the SKU.

Modules: ``search`` (the engine), ``signals``, ``weights``, ``cold`` and ``modifiers`` (its evidence), ``inputs``
(query checks and filters), ``upstream`` (the frozen encoders and the index's per-modality parts), ``hearing``
(decoding speech), ``systems`` (the engine and its baselines for the scorecard) and ``demo`` (the notebook widgets).
"""

from __future__ import annotations

from mmlab.engine.demo import demo, show
from mmlab.engine.inputs import BACKENDS, LANGS, Filters, check_lang, check_text, photo_tensor
from mmlab.engine.search import SearchEngine
from mmlab.engine.upstream import Encoders, cannot_hear

__all__ = ["demo", "show", "BACKENDS", "LANGS", "Filters", "check_lang", "check_text", "photo_tensor", "SearchEngine",
           "Encoders", "cannot_hear"]
