"""Voice queries into the text encoder's space: the learned recogniser hears them, the text encoder embeds what it
heard. The public entry point of notebook 05 for the notebooks and the search engine after it::

    vectors = embed_voice_queries(catalog, voice_queries, fast=FAST, seed=SEED)   # (n, dim) unit rows
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from mmlab.data.catalog import Catalog
from mmlab.encoders.speech_ctc import trained_recogniser
from mmlab.encoders.text import encode_texts, trained_text_encoder

TEXT_KIND = "mean"  # notebook 03's best text encoder on VAL (bag of WordPiece embeddings): voice joins its space


def transcripts_to_vectors(text_model, transcripts: Sequence[str]) -> np.ndarray:
    """Transcripts through the text encoder; a clip in which nothing was recognised searches with "?" (an unknown
    token: a vector that favours no product)."""
    return encode_texts(text_model, [t or "?" for t in transcripts])


def embed_voice_queries(catalog: Catalog, queries: pd.DataFrame, *, fast: bool, seed: int = 0) -> np.ndarray:
    """Voice queries as (len(queries), dim) float32 unit rows in notebook 03's text-query space.

    ``queries``: rows of ``catalog.queries`` with ``modality == "voice"`` (column ``query_id``); ``fast`` must match
    the catalog. The pipeline is notebook 05's best: the learned CTC recogniser (``speech_ctc.trained_recogniser``,
    from the zoo, or trained once, about a minute in full mode) hears phonemes, its lexicon decoder turns them into
    catalog words (the language is told from the sounds, not from the ``lang`` column), and notebook 03's text
    encoder (``text.trained_text_encoder(kind=TEXT_KIND)``, the same cached model, never retrained here) embeds
    the transcript. Products: ``text.product_text_embeddings(text_model, catalog)``, the same space.
    """
    if bool(fast) != bool(catalog.fast):
        raise ValueError(f"fast={fast} but the catalog was loaded with fast={catalog.fast}; load_catalog(fast={fast})")
    if "query_id" not in queries:
        raise ValueError("queries must have a query_id column (rows of catalog.queries)")
    not_voice = queries[queries.get("modality", "voice") != "voice"]
    if len(not_voice):
        raise ValueError(f"{len(not_voice)} queries are not voice queries (e.g. {not_voice.query_id.iloc[0]}); "
                         "pass rows with modality == 'voice'")
    text_model, _ = trained_text_encoder(catalog, kind=TEXT_KIND, seed=seed, progress=False)
    if queries.empty:
        return np.zeros((0, text_model.dim), dtype=np.float32)
    recogniser, _ = trained_recogniser(catalog, seed=seed, progress=False)
    transcripts = recogniser.transcribe([catalog.query_audio(q) for q in queries.query_id])
    return transcripts_to_vectors(text_model, transcripts).astype(np.float32)
