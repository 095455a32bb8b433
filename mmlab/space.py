"""The joint embedding space up close: labelled point sets before and after alignment, the modality gap, UMAP maps
and a reason for each retrieval failure (notebook 09).

    points = joint_points(catalog, model, products, queries, sku_rows, aligned=True)   # vectors + modality/department labels
    modality_gap(points.of("product photo"), points.of("product title"))       # distance between the centroids
    coords = umap_2d(points.vectors, seed=0)

**Modality gap** (Liang et al., "Mind the Gap", NeurIPS 2022): the distance between the centroids of two modalities'
unit vectors, ``‖mean(â) − mean(b̂)‖``. Zero when the two clouds are centred on each other; up to 2 when they sit
at opposite poles of the sphere. Contrastive training with a low temperature is known to leave (or widen) it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from matplotlib import colormaps
from matplotlib.axes import Axes
from torch import Tensor

from mmlab.data.catalog import Catalog
from mmlab.models.fusion import TwoTower
from mmlab.towerdata import Products, Queries

SOURCES = ("product photo", "product title", "typed query", "spoken query", "photo query")
QUERY_SOURCE = {"text": "typed query", "voice": "spoken query", "image": "photo query"}


def _unit_rows(x: object, name: str) -> np.ndarray:
    array = np.asarray(x.detach() if isinstance(x, Tensor) else x, dtype=np.float64)
    if array.ndim != 2 or len(array) == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array (n, dim), got shape {array.shape}; stack the "
                         "vectors into one array with at least one row")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} has NaN or inf values; fix the encoder or drop those rows")
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    if (norms == 0).any():
        raise ValueError(f"{name} has all-zero rows (a missing modality?); drop them before measuring")
    return array / norms


def modality_gap(a: object, b: object) -> float:
    """Distance between the centroids of the unit-normalised rows of ``a`` (n, d) and ``b`` (m, d)."""
    a, b = _unit_rows(a, "a"), _unit_rows(b, "b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"a and b must have the same dimension, got {a.shape[1]} and {b.shape[1]}; embed both "
                         "into one space (e.g. through the trained towers) before measuring the gap")
    return float(np.linalg.norm(a.mean(axis=0) - b.mean(axis=0)))


@dataclass(frozen=True)
class Points:
    """Vectors (n, dim) with one row of labels each: ``source`` (see :data:`SOURCES`), ``sku_id``, ``department``."""

    vectors: np.ndarray
    labels: pd.DataFrame

    def of(self, source: str) -> np.ndarray:
        if source not in SOURCES:
            raise ValueError(f"unknown source {source!r}; choose one of {SOURCES}")
        return self.vectors[(self.labels.source == source).to_numpy()]

    def gaps(self) -> pd.DataFrame:
        """The modality gap of every pair of sources present: a symmetric table with zeros on the diagonal."""
        present = [s for s in SOURCES if (self.labels.source == s).any()]
        table = pd.DataFrame(0.0, index=present, columns=present)
        for a, b in itertools.combinations(present, 2):
            table.loc[a, b] = table.loc[b, a] = modality_gap(self.of(a), self.of(b))
        return table


def _only(products: Products, modality: str) -> Tensor:
    """An availability mask with only ``modality`` present."""
    return torch.tensor([[m == modality for m in products.features]] * len(products.sku_ids))


@torch.no_grad()
def joint_points(catalog: Catalog, model: TwoTower, products: Products, queries: Queries, sku_rows: np.ndarray,
                 aligned: bool) -> Points:
    """Product photos and titles of the SKUs ``sku_rows``, and the typed, spoken and photo ``queries``, as points.

    ``aligned=False``: the frozen upstream embeddings as they are (photos in 02's space, texts and speech in 03's).
    ``aligned=True``: the same inputs through the trained towers: a product photo as the product tower with only
    its image present, a title with only its text, each query through its kind's head.
    """
    rows = torch.as_tensor(np.asarray(sku_rows))
    queries = queries.subset(torch.nonzero(torch.isin(queries.kind, torch.tensor([0, 1, 2]))).flatten())
    if aligned:
        model.eval()
        photos = model.product_vectors(products, rows, _only(products, "image")[rows])
        titles = model.product_vectors(products, rows, _only(products, "text")[rows])
        asked = model.query_vectors(queries)
    else:
        photos, titles = products.features["image"][rows], products.features["text"][rows]
        is_photo = torch.as_tensor(queries.kinds == "image")[:, None]
        asked = torch.where(is_photo, queries.image, queries.text)
    vectors = F.normalize(torch.cat([photos, titles, asked]), dim=1).numpy()
    sku_ids = np.concatenate([products.sku_ids[rows.numpy()]] * 2 + [products.sku_ids[queries.targets.numpy()]])
    sources = ["product photo"] * len(rows) + ["product title"] * len(rows) + [QUERY_SOURCE[k] for k in queries.kinds]
    department = catalog.skus.set_index("sku_id").department.loc[sku_ids].to_numpy()
    return Points(vectors, pd.DataFrame({"source": sources, "sku_id": sku_ids, "department": department}))


def umap_2d(vectors: np.ndarray, seed: int = 0, n_neighbors: int = 15) -> np.ndarray:
    """A 2-D UMAP of unit vectors (cosine metric, one thread, fixed ``seed``: the same map on every run)."""
    if len(vectors) <= n_neighbors:
        raise ValueError(f"UMAP needs more points than n_neighbors={n_neighbors}, got {len(vectors)}; pass more "
                         "points or a smaller n_neighbors")
    import umap  # slow to import (numba compiles on first use): only when a map is drawn

    reducer = umap.UMAP(n_neighbors=n_neighbors, min_dist=0.3, metric="cosine", random_state=seed, n_jobs=1)
    return reducer.fit_transform(vectors)


def category_colours(n: int) -> list[tuple[float, float, float]]:
    """``n`` distinct colours: tab20's ten strong hues first, then their light twins; past 20, evenly spaced hues."""
    if n <= 20:
        tab20 = colormaps["tab20"].colors
        strong_then_light = tab20[0::2] + tab20[1::2]
        return list(strong_then_light[:n])
    return [colormaps["hsv"](i / n)[:3] for i in range(n)]


def scatter(ax: Axes, coords: np.ndarray, labels: pd.Series, title: str) -> None:
    """A scatter of ``coords`` (n, 2) coloured by ``labels`` (one colour per category, legend in order)."""
    values = sorted(labels.unique())
    for value, colour in zip(values, category_colours(len(values))):
        where = (labels == value).to_numpy()
        ax.scatter(*coords[where].T, s=6, alpha=0.6, color=colour, label=value, linewidths=0)
    ax.set(title=title, xticks=[], yticks=[])


def failure_reason(catalog: Catalog, wanted: str, got: str) -> str:
    """Why the SKU ``got`` was ranked first instead of ``wanted``, from what the two SKUs share."""
    skus = catalog.skus.set_index("sku_id")
    a, b = skus.loc[wanted], skus.loc[got]
    if a.type_id == b.type_id and a.colour == b.colour:
        return "same look: the SKUs differ only in brand, size or material, which no photo shows"
    if a.type_id == b.type_id:
        return f"right product, wrong colour ({b.colour or 'plain'} instead of {a.colour or 'plain'})"
    if a.department == b.department:
        return f"a neighbour in the same department ({b.name_en} for {a.name_en})"
    return f"wrong department ({b.department}: {b.name_en} for {a.name_en})"
