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
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from PIL import Image
from torch import Tensor

from mmlab.data.byo import has
from mmlab.data.catalog import Catalog
from mmlab.encoders import audio, image, text, voice
from mmlab.encoders.speech_ctc import trained_recogniser
from mmlab.models.fusion import TowerConfig, TwoTower, WeightedSumFusion
from mmlab.retrieval import check_k
from mmlab.towerdata import QUERY_KINDS, Products, Queries, product_features, query_features
from mmlab.twotower import trained_tower
from mmlab.vectordb import ProductIndex
from mmlab.viz import image_grid

LANGS = ("en", "zh")
BACKENDS = ("memory", "milvus")
PHOTO_SIZE = 64  # the catalog's photos are 64x64: a shopper's photo is brought to the same size


@dataclass(frozen=True)
class Encoders:
    """The frozen upstream encoders a raw query passes through before the query tower."""

    text: text.TextEncoder
    image: torch.nn.Module
    hear: Callable[[Sequence[np.ndarray]], list[str]]  # 16 kHz clips -> transcripts ("" when nothing was heard)


def cannot_hear(clips: Sequence[np.ndarray]) -> list[str]:
    """The stand-in recogniser of a catalog without voice queries: every spoken query fails with the fix."""
    raise ValueError("this catalog has no voice queries, so no speech recogniser was trained for it. Fix: search "
                     "by text or photo, or add recordings to your queries.csv (audio column, see data/README.md)")


def upstream_encoders(catalog: Catalog, seed: int = 0) -> Encoders:
    """The encoders :mod:`mmlab.towerdata` embedded the tower's training queries with, from the zoo.

    A catalog without voice queries (your own, see ``data/README.md``) gets :func:`cannot_hear` as recogniser.
    """
    text_model, _ = text.trained_text_encoder(catalog, kind=voice.TEXT_KIND, seed=seed, progress=False)
    image_model, _ = image.trained_image_encoder(catalog, kind="efficientnet_head", seed=seed, progress=False)
    if not has(catalog, "voice"):
        return Encoders(text_model, image_model, cannot_hear)
    recogniser, _ = trained_recogniser(catalog, seed=seed, progress=False)
    return Encoders(text_model, image_model, recogniser.transcribe)


def modality_parts(model: TwoTower, products: Products) -> Tensor:
    """(n_skus, M, dim): each SKU's per-modality terms ``w_m p̂_m / Z``; summed over M they give its index vector."""
    fuser = model.fuser
    if not isinstance(fuser, WeightedSumFusion):
        raise ValueError(f"per-modality contributions need weighted-sum fusion, the tower uses "
                         f"{type(fuser).__name__}; train it with TowerConfig(fusion='weighted_sum')")
    mask = products.mask_of(model.config.modalities)
    with torch.no_grad():
        tokens, mask = fuser.project({m: products.features[m] for m in model.config.modalities}, mask)
        weights = fuser.weights(mask).nan_to_num(0.0)  # a row with nothing present: NaN softmax → no weight
        parts = weights.unsqueeze(2) * F.normalize(tokens, dim=2)
        norm = parts.sum(dim=1).norm(dim=1).clamp_min(1e-12)  # a SKU with nothing present stays a zero vector
    return parts / norm[:, None, None]


@dataclass(frozen=True)
class Filters:
    """Attribute filters of a search (None: any): a price range in dollars, a department, a colour."""

    min_price: float | None = None
    max_price: float | None = None
    department: str | None = None
    colour: str | None = None

    def expression(self, cards: pd.DataFrame) -> str:
        """The same filters as a Milvus boolean expression over the fields price, department and colour ("": any)."""
        self._check(cards)
        terms = [f"price {op} {float(value)!r}" for op, value in ((">=", self.min_price), ("<=", self.max_price))
                 if value is not None]
        terms += [f"{column} == {json.dumps(getattr(self, column))}" for column in ("department", "colour")
                  if getattr(self, column) is not None]
        return " and ".join(terms)

    def mask(self, cards: pd.DataFrame) -> np.ndarray:
        """A boolean row mask over ``cards`` (columns price, department, colour): True where every filter holds."""
        self._check(cards)
        keep = np.ones(len(cards), dtype=bool)
        if self.min_price is not None:
            keep &= cards.price.to_numpy() >= self.min_price
        if self.max_price is not None:
            keep &= cards.price.to_numpy() <= self.max_price
        for column in ("department", "colour"):
            if getattr(self, column) is not None:
                keep &= cards[column].to_numpy() == getattr(self, column)
        return keep

    def _check(self, cards: pd.DataFrame) -> None:
        for name in ("min_price", "max_price"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not np.isfinite(value) or value < 0):
                raise ValueError(f"{name}={value!r} must be a price in dollars (a number >= 0), or None for any")
        if None not in (self.min_price, self.max_price) and self.min_price > self.max_price:
            raise ValueError(f"min_price={self.min_price} is above max_price={self.max_price}; swap them")
        for column in ("department", "colour"):
            value, known = getattr(self, column), sorted(set(cards[column]) - {""})
            if value is not None and value not in known:
                raise ValueError(f"unknown {column} {value!r}; choose one of {known}, or None for any")


def ratings(catalog: Catalog) -> pd.Series:
    """Mean star rating of each SKU's clean reviews (NaN for a SKU without any), indexed by sku_id."""
    reviews = catalog.reviews
    clean = reviews[reviews.noise.fillna("") == ""]
    return clean.groupby("sku_id").rating.mean().reindex(catalog.skus.sku_id)


def check_text(value: object, what: str) -> str:
    """``value`` stripped, if it is a non-empty str; else an error naming the fix."""
    if isinstance(value, bytes):
        raise TypeError(f"{what} is bytes; decode it first, e.g. value.decode('utf-8')")
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{what} is empty; type a few words, e.g. 'red mug' or '红色杯子'")
    return value.strip()


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"unknown lang={lang!r}; choose one of {LANGS}")
    return lang


def photo_tensor(photo: object) -> Tensor:
    """A shopper's photo (PIL image, any size and mode) as a (1, 3, 64, 64) tensor in [0, 1]."""
    if not isinstance(photo, Image.Image):
        raise TypeError(f"photo must be a PIL image, got {type(photo).__name__}; open a file with "
                        "PIL.Image.open(path) (or mmlab.preprocess.load_image)")
    if min(photo.size) < 8:
        raise ValueError(f"photo is {photo.size[0]}x{photo.size[1]} pixels; it needs at least 8x8")
    rgb = photo.convert("RGB").resize((PHOTO_SIZE, PHOTO_SIZE), Image.Resampling.BILINEAR)
    return image.photos_to_tensor([rgb])


class SearchEngine:
    """One index over the fused SKU vectors and a search entry point per query kind."""

    def __init__(self, catalog: Catalog, model: TwoTower, products: Products, encoders: Encoders,
                 backend: str = "memory", milvus_uri: str | None = None) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; choose one of {BACKENDS}")
        self.catalog, self.model, self.encoders, self.backend = catalog, model.eval(), encoders, backend
        self.sku_ids = np.asarray(products.sku_ids)
        self.parts = modality_parts(model, products)  # (n, M, dim)
        self.index = self.parts.sum(dim=1)  # (n, dim): the fused unit product vectors (zero rows: nothing present)
        skus = catalog.skus.set_index("sku_id").loc[self.sku_ids]
        self.cards = pd.DataFrame({"sku_id": self.sku_ids, "title_en": skus.title_en.to_numpy(),
                                   "title_zh": skus.title_zh.to_numpy(), "department": skus.department.to_numpy(),
                                   "colour": skus.colour.to_numpy(), "brand": skus.brand.to_numpy(),
                                   "price": skus.price.to_numpy(),
                                   "rating": ratings(catalog).loc[self.sku_ids].round(1).to_numpy()})
        self.milvus = self._milvus_index(milvus_uri) if backend == "milvus" else None

    def _milvus_index(self, uri: str | None) -> ProductIndex:
        """The fused vectors and cards in a Milvus FLAT index, named by a digest of both (reused when present)."""
        digest = hashlib.sha256(self.index.numpy().tobytes())
        digest.update(pd.util.hash_pandas_object(self.cards, index=False).to_numpy().tobytes())
        name = f"mmlab_products_{digest.hexdigest()[:16]}"
        try:
            return ProductIndex.open(name, uri, dim=self.index.shape[1])
        except LookupError:
            return ProductIndex.create(name, self.index, self.cards, metric="dot", index_type="FLAT", uri=uri)

    @classmethod
    def from_zoo(cls, catalog: Catalog, products: Products | None = None, queries: Queries | None = None,
                 config: TowerConfig | None = None, seed: int = 0, backend: str = "memory",
                 milvus_uri: str | None = None) -> SearchEngine:
        """The engine over notebook 06's weighted-sum tower (trained first if the zoo does not have it).

        ``products`` and ``queries`` are :func:`mmlab.towerdata.load_tower_inputs`'s (loaded here if not given).
        ``backend="milvus"`` keeps the index in Milvus (:mod:`mmlab.vectordb`: Milvus Lite unless ``milvus_uri``
        or ``MMLAB_MILVUS_URI`` names a server) instead of in this process.
        """
        products = product_features(catalog, seed) if products is None else products
        queries = query_features(catalog, seed) if queries is None else queries
        model, _ = trained_tower(catalog, products, queries, config or TowerConfig(), seed)
        return cls(catalog, model, products, upstream_encoders(catalog, seed), backend, milvus_uri)

    # -- query vectors ---------------------------------------------------------------------------------

    def _tower(self, kind: str, photo: Tensor | None = None, words: Tensor | None = None) -> Tensor:
        """The query tower's unit vector (dim,) for one query of ``kind`` given its upstream embeddings."""
        queries = self.model.queries
        photo = torch.zeros(1, queries.image.in_features) if photo is None else photo
        words = torch.zeros(1, queries.text.in_features) if words is None else words
        with torch.no_grad():
            return queries(photo, words, torch.tensor([QUERY_KINDS.index(kind)]))[0]

    def _words(self, value: str) -> Tensor:
        return torch.as_tensor(text.encode_texts(self.encoders.text, [value]))

    def _photo(self, photo: Image.Image) -> Tensor:
        return torch.as_tensor(image.embed(self.encoders.image, photo_tensor(photo)))

    def text_vector(self, query: str) -> Tensor:
        return self._tower("text", words=self._words(check_text(query, "query text")))

    def photo_vector(self, photo: Image.Image) -> Tensor:
        return self._tower("image", photo=self._photo(photo))

    def transcribe(self, wave: np.ndarray, sr: int) -> str:
        """What notebook 05's recogniser hears in a clip ("" when it recognised nothing)."""
        return self.encoders.hear([audio.check_wave(wave, sr)])[0]

    def voice_vector(self, transcript: str) -> Tensor:
        """A heard transcript through the voice head (as :mod:`mmlab.towerdata` embeds spoken queries)."""
        return self._tower("voice", words=torch.as_tensor(voice.transcripts_to_vectors(self.encoders.text,
                                                                                        [transcript])))

    def composed_vector(self, photo: Image.Image, modifier: str) -> Tensor:
        return self._tower("composed", photo=self._photo(photo), words=self._words(check_text(modifier, "modifier")))

    # -- search --------------------------------------------------------------------------------------

    def search_vector(self, query: Tensor, k: int = 10, lang: str = "en", filters: Filters | None = None
                      ) -> pd.DataFrame:
        """The top-k SKUs for a unit query vector: cards, score and one contribution column per modality.

        With ``filters`` only the SKUs that pass them are ranked (fewer than ``k`` rows when fewer pass). The rows
        come from the engine's backend; the score and contribution columns are computed here, so they add up.
        """
        check_k(k, len(self.sku_ids))
        with torch.no_grad():
            scores = self.index @ query
            top = self._top_rows(scores, query, k, filters)
            contributions = (self.parts[top] @ query).numpy()
        cards = self.cards.iloc[top.numpy()].reset_index(drop=True)
        table = cards[["sku_id", f"title_{check_lang(lang)}", "department", "colour", "price", "rating"]]
        table = table.rename(columns={f"title_{lang}": "title"}).assign(score=scores[top].numpy())
        return pd.concat([table, pd.DataFrame(contributions, columns=list(self.model.config.modalities))], axis=1)

    def _top_rows(self, scores: Tensor, query: Tensor, k: int, filters: Filters | None) -> Tensor:
        """Rows of the best ``k`` SKUs that pass ``filters``, best first, from the in-process index or Milvus."""
        if self.milvus is not None:
            where = "" if filters is None else filters.expression(self.cards)
            rows = self.milvus.search(query[None], k, where=where)[1][0]
            return torch.from_numpy(rows[rows >= 0])
        allowed = torch.ones(len(scores), dtype=torch.bool) if filters is None else \
            torch.from_numpy(filters.mask(self.cards))
        ranked = scores.masked_fill(~allowed, -torch.inf)
        return torch.topk(ranked, min(k, int(allowed.sum()))).indices  # ties: torch's order (rare: continuous)

    def search_text(self, query: str, lang: str = "en", k: int = 10, filters: Filters | None = None
                    ) -> pd.DataFrame:
        """A typed query in English or Chinese; titles are shown in ``lang``."""
        return self.search_vector(self.text_vector(query), k, check_lang(lang), filters)

    def search_photo(self, photo: Image.Image, lang: str = "en", k: int = 10, filters: Filters | None = None
                     ) -> pd.DataFrame:
        """A shopper's photo (PIL image of any size)."""
        return self.search_vector(self.photo_vector(photo), k, check_lang(lang), filters)

    def search_voice(self, wave: np.ndarray, sr: int = audio.SAMPLE_RATE, lang: str = "en", k: int = 10,
                     filters: Filters | None = None) -> pd.DataFrame:
        """A spoken query: a mono float waveform at 16 kHz (resample first otherwise); ``attrs["heard"]`` of the
        table is the transcript that was searched."""
        heard = self.transcribe(wave, sr)
        results = self.search_vector(self.voice_vector(heard), k, check_lang(lang), filters)
        results.attrs["heard"] = heard
        return results

    def search_composed(self, photo: Image.Image, modifier: str, lang: str = "en", k: int = 10,
                        filters: Filters | None = None) -> pd.DataFrame:
        """A photo plus a modifier text ("in blue", "换成红色", "cheaper")."""
        return self.search_vector(self.composed_vector(photo, modifier), k, check_lang(lang), filters)

    def search(self, kind: str, query: Any, lang: str = "en", k: int = 10, filters: Filters | None = None
               ) -> pd.DataFrame:
        """Dispatch on ``kind``: "text" (str), "image" (photo), "voice" (wave at 16 kHz), "composed" ((photo, str));
        titles in ``lang``."""
        if kind == "text":
            return self.search_text(query, lang, k, filters)
        if kind == "image":
            return self.search_photo(query, lang, k, filters)
        if kind == "voice":
            return self.search_voice(query, lang=lang, k=k, filters=filters)
        if kind == "composed":
            return self.search_composed(*query, lang=lang, k=k, filters=filters)
        raise ValueError(f"unknown query kind {kind!r}; choose one of {QUERY_KINDS}")

    def grid(self, results: pd.DataFrame, ncols: int = 5) -> Figure:
        """The results as an image grid: photo, title (in the table's language), price, rating and score."""
        if results.empty:
            raise ValueError("results is empty; pass the table a search_* method returned")
        titles = [f"{r.title[:24]}\n${r.price:.2f} · ★{'–' if np.isnan(r.rating) else r.rating} · {r.score:.2f}"
                  for r in results.itertuples()]
        return image_grid([self.catalog.product_image(s) for s in results.sku_id], titles, ncols=ncols, scale=1.9)


def show(engine: SearchEngine, kind: str, query: Any, lang: str = "en", k: int = 5) -> None:
    """Display the results table and grid of one query (what the demo and its static fallback both show)."""
    from IPython.display import display

    results = engine.search(kind, query, lang, k)
    if "heard" in results.attrs:
        print(f"heard: {results.attrs['heard']!r}")
    display(results.round(3))
    display(engine.grid(results))


def demo(engine: SearchEngine, photos: dict[str, Image.Image], clips: dict[str, np.ndarray], k: int = 5) -> Any:
    """An ipywidgets search box: typed text (en/zh), a sample or uploaded photo, a sample voice clip, or photo + text;
    a language toggle for the result titles.

    Needs a live Jupyter front end to react; under papermill or nbval nothing clicks it, which is why the notebook
    renders a fixed list of example queries with :func:`show` as well.
    """
    import ipywidgets as widgets

    kind = widgets.ToggleButtons(options=QUERY_KINDS, description="query")
    lang = widgets.ToggleButtons(options=LANGS, description="titles")
    words = widgets.Text(value="red mug", description="text")
    photo = widgets.Dropdown(options=list(photos), description="photo")
    upload = widgets.FileUpload(accept="image/*", multiple=False, description="or upload")
    clip = widgets.Dropdown(options=list(clips), description="voice clip")
    button, out = widgets.Button(description="search", button_style="primary"), widgets.Output()

    def chosen_photo() -> Image.Image:
        if upload.value:
            import io
            return Image.open(io.BytesIO(bytes(upload.value[0]["content"])))
        return photos[photo.value]

    def on_click(_: Any) -> None:
        out.clear_output()
        with out:
            try:
                query = {"text": lambda: words.value, "image": chosen_photo, "voice": lambda: clips[clip.value],
                         "composed": lambda: (chosen_photo(), words.value)}[kind.value]()
                show(engine, kind.value, query, lang.value, k)
            except (TypeError, ValueError, OSError) as error:  # bad input: say what is wrong, keep the demo alive
                print(f"⚠️ {error}")

    button.on_click(on_click)
    return widgets.VBox([kind, lang, widgets.HBox([words, photo, upload]), clip, button, out])
