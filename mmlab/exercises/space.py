"""Checks for the exercises of notebook 10 (embedding space)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mmlab.exercises.common import as_number, attempt, verdict
from mmlab.space import modality_gap


def _clouds(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two clouds of different scales on either side of the origin: the rows are NOT unit vectors."""
    rng = np.random.default_rng(seed)
    a = (rng.normal(size=(120, 12)) + 1.5) * rng.uniform(0.5, 3, size=(120, 1))
    b = (rng.normal(size=(80, 12)) - 0.5) * rng.uniform(0.5, 3, size=(80, 1))
    return a, b


def check_modality_gap(gap: Callable[[np.ndarray, np.ndarray], float]) -> bool:
    """10, exercise 1: ``gap(a, b)`` is the distance between the centroids of the unit-normalised rows."""
    a, b = _clouds()
    want = modality_gap(a, b)
    ok, got = attempt(gap, a.copy(), b.copy())
    if not ok:
        return verdict(False, "", got)
    value = as_number(got)
    if value is None:
        return verdict(False, "", f"return one number (a float), got {got!r}")
    if np.isclose(value, np.linalg.norm(a.mean(0) - b.mean(0))):
        return verdict(False, "", "normalise every row to unit length first: embeddings are compared by cosine, so "
                       "a vector's length must not move the centroid")
    pairwise = np.linalg.norm(a[:, None] - b[None], axis=2).mean()
    if np.isclose(value, pairwise):
        return verdict(False, "", "that is the mean pairwise distance; the gap is the distance between the two "
                       "centroids (means) of the unit rows")
    if not np.isclose(value, want, atol=1e-6):
        return verdict(False, "", f"expected {want:.4f}, got {value:.4f}. Hint: "
                       "np.linalg.norm(unit(a).mean(0) - unit(b).mean(0)) with unit(x) = x / norm of each row")
    return verdict(True, f"gap {want:.4f}: the two clouds' centres are that far apart on the unit sphere", "")


def check_close_gap(close: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]) -> bool:
    """10, exercise 2: ``close(a, b)`` centres each modality on its own centroid and renormalises the rows."""
    a, b = _clouds(1)
    ok, got = attempt(close, a.copy(), b.copy())
    if not ok:
        return verdict(False, "", got)
    if not (isinstance(got, tuple) and len(got) == 2):
        return verdict(False, "", f"return a tuple (a_new, b_new) of two arrays, got {type(got).__name__}")
    new_a, new_b = (np.asarray(x, dtype=float) for x in got)
    if new_a.shape != a.shape or new_b.shape != b.shape:
        return verdict(False, "", f"keep the shapes: expected {a.shape} and {b.shape}, got {new_a.shape} and "
                       f"{new_b.shape}")
    if not (np.allclose(np.linalg.norm(new_a, axis=1), 1) and np.allclose(np.linalg.norm(new_b, axis=1), 1)):
        return verdict(False, "", "renormalise the rows to unit length after centring (embeddings live on the "
                       "unit sphere)")
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)  # noqa: E731
    want_a, want_b = unit(unit(a) - unit(a).mean(0)), unit(unit(b) - unit(b).mean(0))
    if not (np.allclose(new_a, want_a, atol=1e-6) and np.allclose(new_b, want_b, atol=1e-6)):
        both = np.concatenate([unit(a), unit(b)]).mean(0)
        if np.allclose(new_a, unit(unit(a) - both), atol=1e-6):
            return verdict(False, "", "you subtracted one shared centroid: that moves both clouds together and "
                           "leaves the gap. Subtract each modality's OWN centroid")
        return verdict(False, "", "expected unit(unit(a) - unit(a).mean(0)) and the same for b; normalise the "
                       "rows first, then centre, then normalise again")
    before, after = modality_gap(a, b), modality_gap(new_a, new_b)
    return verdict(True, f"gap {before:.3f} → {after:.3f}: centring each modality closes most of it", "")
