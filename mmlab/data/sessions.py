"""One simulated session on MiniMart: what a shopper is shown, clicks, carts and buys, and what a bot does.

The model and its assumptions are described in :mod:`mmlab.data.behaviour`, which draws the shoppers and their
sessions and calls :func:`human_session` or :func:`bot_session` for each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

EVENT_COLUMNS = ["session_id", "user_id", "t", "event", "sku_id", "position", "query"]

SECOND_SEARCH_PROB = 0.3
IMPRESSIONS_PER_SEARCH = 10
SAME_TYPE_SLOTS = 6
OTHER_DEPARTMENT_SLOTS = 2
POSITION_BIAS = 1 / np.log2(np.arange(1, IMPRESSIONS_PER_SEARCH + 1) + 1)  # at positions 1, 2, ...

CLICK_BIAS = -3.5
SAME_TYPE_BONUS = 3.0
SAME_DEPARTMENT_BONUS = 1.0
COLOUR_BONUS = 1.5
QUALITY_WEIGHT = 2.0
CART_BIAS = -1.0
PURCHASE_PROB = 0.6

CLICK_GAP_MEAN = 20.0
CART_GAP_MEAN = 10.0
NEXT_SEARCH_GAP_MEAN = 30.0
CHECKOUT_GAP_MEAN = 60.0

BOT_SEARCHES_PER_SESSION = 20
BOT_PAUSE_PROB = 0.3  # chance that a bot's next click comes 1 s (not 0 s) later

NO_SKU = -1
NO_POSITION = -1


@dataclass(frozen=True)
class CatalogIndex:
    """The SKU table as integer-coded arrays, plus the candidate pools a search draws from."""

    departments: np.ndarray  # department names, indexed by department code
    sku_id: np.ndarray
    department: np.ndarray  # department code per SKU
    type: np.ndarray  # type code per SKU
    colour: np.ndarray
    quality: np.ndarray
    log_price_ratio: np.ndarray  # log(price / median price of the SKU's type)
    type_name: np.ndarray  # query text per type code
    type_department: np.ndarray  # department code per type code
    types_in_department: list[np.ndarray]
    skus_of_type: list[np.ndarray]
    department_skus_of_other_types: list[np.ndarray]  # per type code
    skus_outside_department: list[np.ndarray]  # per department code


@dataclass(frozen=True)
class Shopper:
    cumulative_affinity: np.ndarray
    colour_pref: str
    price_sensitivity: float


class EventLog:
    """Events as growing columns: cheap to append to, turned into one DataFrame at the end."""

    def __init__(self) -> None:
        self.session: list[int] = []
        self.t: list[int] = []
        self.event: list[str] = []
        self.sku: list[int] = []
        self.position: list[int] = []
        self.query: list[str] = []

    def add(
        self,
        session: int,
        t: int,
        event: str,
        skus: Sequence[int] = (NO_SKU,),
        positions: Sequence[int] | None = None,
        query: str = "",
    ) -> None:
        n = len(skus)
        self.session += [session] * n
        self.t += [t] * n
        self.event += [event] * n
        self.sku += list(skus)
        self.position += list(positions) if positions is not None else [NO_POSITION] * n
        self.query += [query] * n

    def to_frame(self, session_users: np.ndarray, sku_ids: np.ndarray) -> pd.DataFrame:
        session = np.asarray(self.session)
        sku = np.asarray(self.sku)
        session_names = np.array([f"V{number:06d}" for number in range(1, len(session_users) + 1)])
        return pd.DataFrame(
            {
                "session_id": session_names[session],
                "user_id": session_users[session],
                "t": self.t,
                "event": self.event,
                "sku_id": np.where(sku == NO_SKU, "", sku_ids[sku]),
                "position": self.position,
                "query": self.query,
            },
            columns=EVENT_COLUMNS,
        )


def _gap(mean: float, rng: np.random.Generator, minimum: int = 2) -> int:
    return minimum + int(rng.exponential(mean))


def _pick(pool: np.ndarray, rng: np.random.Generator) -> int:
    return pool[rng.integers(len(pool))]


def _sample(pool: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Up to ``k`` distinct members of ``pool``."""
    return pool[rng.choice(len(pool), size=min(k, len(pool)), replace=False)]


def human_session(
    log: EventLog, session: int, start: int, shopper: Shopper, catalog: CatalogIndex, rng: np.random.Generator
) -> None:
    """Log a shopper's session: one or two searches in a department it likes, then the purchases."""
    # min(): a cumulative sum of floats may end a hair below 1
    department = min(np.searchsorted(shopper.cumulative_affinity, rng.random()), len(catalog.departments) - 1)
    types = catalog.types_in_department[department]
    searched = _pick(types, rng)
    carted, t = _search(log, session, start, searched, shopper, catalog, rng)
    if rng.random() < SECOND_SEARCH_PROB:
        other_types = types[types != searched] if len(types) > 1 else types
        t += _gap(NEXT_SEARCH_GAP_MEAN, rng, minimum=5)
        more, t = _search(log, session, t, _pick(other_types, rng), shopper, catalog, rng)
        carted += more
    bought = [sku for sku in dict.fromkeys(carted) if rng.random() < PURCHASE_PROB]  # each distinct SKU once
    if bought:
        log.add(session, t + _gap(CHECKOUT_GAP_MEAN, rng, minimum=10), "purchase", bought)


def _search(
    log: EventLog, session: int, t: int, type_code: int, shopper: Shopper, catalog: CatalogIndex, rng: np.random.Generator
) -> tuple[list[int], int]:
    """Log one search with its impressions, clicks and carts; return the carted SKUs and the last event's time."""
    log.add(session, t, "search", query=catalog.type_name[type_code])
    shown = _impressions(type_code, catalog, rng)
    t += 1
    log.add(session, t, "impression", shown, positions=range(1, len(shown) + 1))
    clicked = np.flatnonzero(rng.random(len(shown)) < _click_probability(shown, type_code, shopper, catalog))
    to_cart = rng.random(len(clicked)) < _cart_probability(shown[clicked], shopper, catalog)
    carted = []
    for index, cart in zip(clicked.tolist(), to_cart.tolist()):
        sku = shown[index]
        t += _gap(CLICK_GAP_MEAN, rng)
        log.add(session, t, "click", [sku], positions=[index + 1])
        if cart:
            t += _gap(CART_GAP_MEAN, rng)
            log.add(session, t, "cart", [sku])
            carted.append(sku)
    return carted, t


def _impressions(type_code: int, catalog: CatalogIndex, rng: np.random.Generator) -> np.ndarray:
    """SKU indices shown for a search of ``type_code``, in display order."""
    same_type = rng.permutation(catalog.skus_of_type[type_code])[:SAME_TYPE_SLOTS]
    fill = IMPRESSIONS_PER_SEARCH - OTHER_DEPARTMENT_SLOTS - len(same_type)
    same_department = _sample(catalog.department_skus_of_other_types[type_code], fill, rng)
    other = _sample(catalog.skus_outside_department[catalog.type_department[type_code]], OTHER_DEPARTMENT_SLOTS, rng)
    return rng.permutation(np.concatenate([same_type, same_department, other]))


def _click_probability(shown: np.ndarray, type_code: int, shopper: Shopper, catalog: CatalogIndex) -> np.ndarray:
    colour_match = (catalog.colour[shown] == shopper.colour_pref) & (shopper.colour_pref != "")
    utility = (
        CLICK_BIAS
        + SAME_TYPE_BONUS * (catalog.type[shown] == type_code)
        + SAME_DEPARTMENT_BONUS * (catalog.department[shown] == catalog.type_department[type_code])
        + COLOUR_BONUS * colour_match
        + QUALITY_WEIGHT * (catalog.quality[shown] - 0.5)
        - shopper.price_sensitivity * catalog.log_price_ratio[shown]
    )
    return POSITION_BIAS[: len(shown)] * _sigmoid(utility)


def _cart_probability(clicked: np.ndarray, shopper: Shopper, catalog: CatalogIndex) -> np.ndarray:
    utility = (
        CART_BIAS
        + QUALITY_WEIGHT * (catalog.quality[clicked] - 0.5)
        - shopper.price_sensitivity * catalog.log_price_ratio[clicked]
    )
    return _sigmoid(utility)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def bot_session(log: EventLog, session: int, start: int, catalog: CatalogIndex, rng: np.random.Generator) -> None:
    """Log a bot's session: random searches, every result clicked 0-1 s apart, nothing bought."""
    t = start
    for type_code in rng.integers(len(catalog.type_name), size=BOT_SEARCHES_PER_SESSION):
        log.add(session, t, "search", query=catalog.type_name[type_code])
        shown = _impressions(type_code, catalog, rng)
        log.add(session, t, "impression", shown, positions=range(1, len(shown) + 1))
        pauses = rng.random(len(shown)) < BOT_PAUSE_PROB
        for position, (sku, pause) in enumerate(zip(shown.tolist(), pauses.tolist()), 1):
            t += pause
            log.add(session, t, "click", [sku], positions=[position])
        t += 1
