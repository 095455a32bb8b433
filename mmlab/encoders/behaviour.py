"""Behaviour features: a vector per SKU from what shoppers did, learned two ways.

- item2vec: skip-gram (:mod:`mmlab.encoders.embeddings`) over each session's clicked/carted/bought SKUs, as
  if a session were a sentence. SKUs that shoppers handle in the same sessions get similar vectors.
- matrix factorisation of implicit feedback: the user x SKU matrix of weighted interactions (``EVENT_WEIGHTS``)
  is approximated by ``X @ Y.T`` with weighted alternating least squares (Hu, Koren & Volinsky, 2008):
  every cell counts, an interaction with confidence ``1 + alpha * weight``, an empty cell with confidence 1.

Both learn from the cleaned log (:func:`mmlab.preprocess.clean_events`: no bots, no repeated rows) and both
know nothing about a SKU nobody interacted with. Such cold-start SKUs come back with ``has_behaviour = False``
beside the embeddings (their rows are zero and must not be used as vectors). New arrivals: by default the
zero-shot product types, held out of every training split, are treated as launched after the log was
collected, so their events are dropped and they are cold start by construction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import torch
from scipy import sparse

from mmlab.data.behaviour import session_item_sequences
from mmlab.data.catalog import Catalog
from mmlab.encoders.embeddings import SkipGramConfig, data_version, skipgram_embeddings
from mmlab.models.reviews import SkipGram
from mmlab.preprocess import clean_events
from mmlab.retrieval import search
from mmlab.zoo import trained

EVENT_WEIGHTS = {"click": 1.0, "cart": 3.0, "purchase": 5.0}
KINDS = ("item2vec", "mf")
ITEM2VEC = SkipGramConfig(dim=32, window=5, negatives=5, min_count=1, subsample=None, epochs=5, batches_per_epoch=20,
                          lr=0.03)


@dataclass(frozen=True)
class ALSConfig:
    """Everything that determines a matrix factorisation (the zoo keys checkpoints by it)."""

    dim: int = 32
    alpha: float = 10.0  # confidence per unit of interaction weight
    reg: float = 1.0  # L2 penalty on every factor
    iterations: int = 10


def training_events(catalog: Catalog, hold_out_zero_shot: bool = True) -> pd.DataFrame:
    """Cleaned click, cart and purchase events (without the zero-shot types' SKUs unless told otherwise)."""
    kept, _, _ = clean_events(catalog.events, catalog.users)
    events = kept[kept["event"].isin(list(EVENT_WEIGHTS))]
    if hold_out_zero_shot:
        new = catalog.skus["type_id"].isin(catalog.types.loc[catalog.types["zero_shot"], "type_id"])
        events = events[~events["sku_id"].isin(catalog.skus.loc[new, "sku_id"])]
    return events


def _version(catalog: Catalog) -> str:
    return data_version(catalog, catalog.events, catalog.users)


# --- item2vec ------------------------------------------------------------------------------------------------


def item2vec(catalog: Catalog, seed: int = 0, hold_out_zero_shot: bool = True, config: SkipGramConfig = ITEM2VEC,
             skipgram: type[torch.nn.Module] = SkipGram) -> tuple[np.ndarray, np.ndarray]:
    """Item2vec vectors in ``catalog.skus`` order and ``has_behaviour``: the SKU shares a session with another.

    ``skipgram`` is notebook 04's ``SkipGram`` (a notebook passes its own)."""
    sessions = [s for s in session_item_sequences(training_events(catalog, hold_out_zero_shot)) if len(s) > 1]
    if not sessions:
        raise ValueError("no session has two or more SKUs after cleaning, so item2vec has nothing to learn from")
    emb, _ = skipgram_embeddings(f"item2vec-{'new' if hold_out_zero_shot else 'all'}", sessions, config,
                                 _version(catalog), seed, skipgram)
    return _align(catalog, emb.vocab.tokens, emb.vectors)


def _align(catalog: Catalog, sku_ids: list[str], vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows for every catalog SKU: the learned vector where there is one, else zeros with mask False."""
    row = pd.Series(np.arange(len(sku_ids)), index=sku_ids).reindex(catalog.skus["sku_id"])
    has_behaviour = row.notna().to_numpy()
    emb = np.zeros((len(catalog.skus), vectors.shape[1]), dtype=np.float32)
    emb[has_behaviour] = vectors[row[has_behaviour].astype(int)]
    return emb, has_behaviour


# --- matrix factorisation --------------------------------------------------------------------------------------


class MatrixFactorisation(torch.nn.Module):
    """User factors X (n_users, dim) and item factors Y (n_items, dim): the predicted preference is X @ Y.T."""

    def __init__(self, n_users: int, n_items: int, dim: int) -> None:
        super().__init__()
        self.users = torch.nn.Parameter(torch.zeros(n_users, dim))
        self.items = torch.nn.Parameter(torch.zeros(n_items, dim))


def interaction_matrix(events: pd.DataFrame, user_ids: np.ndarray, sku_ids: np.ndarray) -> np.ndarray:
    """The (n_users, n_skus) sum of ``EVENT_WEIGHTS`` of each user's events on each SKU."""
    unknown = set(events["event"]) - set(EVENT_WEIGHTS)
    if unknown:
        raise ValueError(f"events has kinds {sorted(unknown)} without a weight; keep only {list(EVENT_WEIGHTS)}")
    users = pd.Index(user_ids).get_indexer(events["user_id"])
    skus = pd.Index(sku_ids).get_indexer(events["sku_id"])
    if (users < 0).any() or (skus < 0).any():
        raise ValueError("events name users or SKUs that are not in user_ids / sku_ids")
    matrix = np.zeros((len(user_ids), len(sku_ids)))
    np.add.at(matrix, (users, skus), events["event"].map(EVENT_WEIGHTS).to_numpy())
    return matrix


def _least_squares(weights: sparse.csr_matrix, fixed: np.ndarray, config: ALSConfig) -> np.ndarray:
    """Every row's best factors with the other side ``fixed`` (F): solve (Fᵀ C_u F + reg I) x_u = Fᵀ C_u p_u.

    With c = 1 + alpha r and p = [r > 0]: Fᵀ C_u F = FᵀF + alpha sum_i r_ui f_i f_iᵀ (only the SKUs the user
    touched add to the shared FᵀF) and C_u p_u = p_u + alpha r_u, so a sparse ``weights`` matrix does the work.
    """
    dim = fixed.shape[1]
    outer = (fixed[:, :, None] * fixed[:, None, :]).reshape(len(fixed), dim * dim)  # f_i f_iᵀ, flattened
    lhs = fixed.T @ fixed + config.alpha * (weights @ outer).reshape(-1, dim, dim) + config.reg * np.eye(dim)
    rhs = (weights.sign() + config.alpha * weights) @ fixed
    return np.linalg.solve(lhs, rhs[:, :, None])[:, :, 0]


def weighted_als(model: MatrixFactorisation, matrix: np.ndarray, config: ALSConfig, seed: int = 0) -> dict:
    """Fit the factors by alternating least squares (users, then items, ``config.iterations`` times)."""
    preference = (matrix > 0).astype(float)
    confidence = 1 + config.alpha * matrix
    weights = sparse.csr_matrix(matrix)
    rng = np.random.default_rng(seed)
    users = rng.normal(0, 0.1, (matrix.shape[0], config.dim))
    items = rng.normal(0, 0.1, (matrix.shape[1], config.dim))
    loss = []
    for _ in range(config.iterations):
        users = _least_squares(weights, items, config)
        items = _least_squares(weights.T.tocsr(), users, config)
        error = (confidence * (preference - users @ items.T) ** 2).sum()
        loss.append(float((error + config.reg * ((users**2).sum() + (items**2).sum())) / matrix.size))
    with torch.no_grad():
        model.users.copy_(torch.from_numpy(users))
        model.items.copy_(torch.from_numpy(items))
    return {"loss": loss}


def matrix_factorisation(catalog: Catalog, seed: int = 0, hold_out_zero_shot: bool = True,
                         config: ALSConfig = ALSConfig()) -> tuple[np.ndarray, np.ndarray]:
    """Item factors in ``catalog.skus`` order and ``has_behaviour``: the SKU has at least one interaction."""
    events = training_events(catalog, hold_out_zero_shot)
    user_ids, sku_ids = catalog.users["user_id"].to_numpy(), catalog.skus["sku_id"].to_numpy()
    matrix = interaction_matrix(events, user_ids, sku_ids)
    model, _ = trained(f"mf-als-{'new' if hold_out_zero_shot else 'all'}", asdict(config), _version(catalog),
                       build=lambda: MatrixFactorisation(len(user_ids), len(sku_ids), config.dim),
                       train=lambda m: weighted_als(m, matrix, config, seed), seed=seed)
    has_behaviour = matrix.sum(axis=0) > 0
    emb = model.items.detach().numpy().astype(np.float32) * has_behaviour[:, None]
    return emb, has_behaviour


# --- public API ------------------------------------------------------------------------------------------------


def behaviour_embeddings(catalog: Catalog, seed: int = 0, kind: str = "item2vec", hold_out_zero_shot: bool = True,
                         skipgram: type[torch.nn.Module] = SkipGram) -> tuple[np.ndarray, np.ndarray]:
    """Public API: ``(emb (n_skus, dim) float32, has_behaviour (n_skus,) bool)`` in ``catalog.skus`` order.

    ``kind`` is "item2vec" (trained with ``skipgram``) or "mf". Rows where ``has_behaviour`` is False are zeros:
    mask them, never rank them.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if kind == "item2vec":
        return item2vec(catalog, seed, hold_out_zero_shot, skipgram=skipgram)
    return matrix_factorisation(catalog, seed, hold_out_zero_shot)


def also_bought(emb: np.ndarray, has_behaviour: np.ndarray, row: int, k: int = 5) -> np.ndarray:
    """Catalog rows of the ``k`` SKUs nearest (cosine) to SKU ``row``, among SKUs with behaviour, best first."""
    if not has_behaviour[row]:
        raise ValueError(f"SKU row {row} has no behaviour (cold start): it has no neighbours to show; "
                         "fall back to its text or image embedding")
    candidates = np.flatnonzero(has_behaviour)
    _, top = search(emb[row][None], emb[candidates], k=min(k + 1, len(candidates)))
    neighbours = candidates[top[0]]
    return neighbours[neighbours != row][:k]
