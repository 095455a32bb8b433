"""Simulated shoppers: a small generative model of search sessions on MiniMart.

Every number below is a module constant; the assumptions are:

Shoppers (the ``users`` table keeps what a data scientist would like to know but never sees in real logs)
- Department affinity ~ Dirichlet(0.5, ..., 0.5) over the catalog's departments, so most shoppers favour one
  or two departments; ``top_department`` is the favourite. Half the shoppers prefer one colour
  (``colour_pref``, drawn in proportion to how common each colour is in the catalog); the rest have none ("").
  ``price_sensitivity`` ~ Gamma(shape 2, scale 0.5): mean 1, always >= 0.
- Each shopper has 1 + Poisson(sessions_per_user - 1) sessions, starting at uniform random times over 30 days.

A session
- The shopper picks a department by affinity, then a product type in it uniformly, and searches for the type's
  English name (``search`` event, ``query`` = ``skus.name_en``). With probability 0.3 a second search follows
  for another type of the same department, which links related products within a session.
- Each search shows up to 10 impressions: up to 6 SKUs of the searched type, SKUs of other types in the same
  department to fill 8 slots, then 2 SKUs from other departments; shown in a random order at positions 1-10
  (random, so position bias can be told apart from relevance).
- The shopper clicks each impression independently with probability
  ``position_bias * sigmoid(utility)``, where ``position_bias = 1 / log2(position + 1)`` (people look at the top
  of a list more) and ``utility = -3.5 + 3 [same type] + 1 [same department] + 1.5 [shopper's colour]
  + 2 (quality - 0.5) - price_sensitivity * log(price / median price of the SKU's type)``.
  Shoppers sense the hidden quality only through such indirect cues (photos, ratings).
- A clicked SKU goes to the cart with probability ``sigmoid(-1 + 2 (quality - 0.5) - price_sensitivity *
  log price ratio)``; at the end of the session each distinct carted SKU is bought with probability 0.6.
- Time: the search at the session's start, impressions 1 s later, then clicks in position order each
  2 + Exponential(20) s after the previous event, a cart 2 + Exponential(10) s after its click, a second search
  5 + Exponential(30) s later, and the checkout 10 + Exponential(60) s after the last event.

Events have columns ``session_id`` ("V000001", numbered by start time), ``user_id``, ``t`` (whole seconds since
the simulation starts, non-decreasing within a session), ``event`` (search, impression, click, cart, purchase),
``sku_id`` ("" for a search), ``position`` (of the impression, also on its click; -1 otherwise) and ``query``
(only on searches). Every click follows an impression of the same SKU in the session, and purchases are a
subset of carts, which are a subset of clicks.

With ``noise=True`` known dirt is injected for the data-cleaning lesson: 1% of the shoppers (at least one)
are bots (``is_bot``) whose 5 sessions each search 20 random product types and click every result, 0-1 s
apart (hundreds of clicks at an impossible speed; they never buy); 1% of the human sessions keep only
their searches (the results page never logged); and 0.5% of the event rows are repeated (an exact copy
straight after the original).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

REQUIRED_COLUMNS = ("sku_id", "type_id", "department", "name_en", "colour", "price", "quality")
EVENT_COLUMNS = ["session_id", "user_id", "t", "event", "sku_id", "position", "query"]
USER_COLUMNS = ["user_id", "top_department", "colour_pref", "price_sensitivity", "is_bot"]

DEPARTMENT_CONCENTRATION = 0.5
COLOUR_PREF_RATE = 0.5
PRICE_SENSITIVITY_GAMMA = (2.0, 0.5)  # shape, scale
SIMULATION_SECONDS = 30 * 24 * 3600

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

BOT_RATE = 0.01
BOT_SESSIONS = 5
BOT_SEARCHES_PER_SESSION = 20
BOT_PAUSE_PROB = 0.3  # chance that a bot's next click comes 1 s (not 0 s) later
EMPTY_SESSION_RATE = 0.01
DUPLICATE_EVENT_RATE = 0.005

NO_SKU = -1
NO_POSITION = -1


@dataclass(frozen=True)
class _Catalog:
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
class _Shopper:
    cumulative_affinity: np.ndarray
    colour_pref: str
    price_sensitivity: float


class _EventLog:
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


def simulate_behaviour(
    skus: pd.DataFrame, n_users: int, sessions_per_user: float, rng: np.random.Generator, noise: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate shoppers and their sessions (see the module docstring); returns ``(users, events)``."""
    if n_users < 1:
        raise ValueError(f"n_users must be at least 1, got {n_users}")
    if sessions_per_user < 1:
        raise ValueError(f"sessions_per_user must be at least 1, got {sessions_per_user}")
    catalog = _index_catalog(skus)
    users, affinity = _make_users(n_users, catalog, rng, noise)
    is_bot = users["is_bot"].to_numpy()
    shoppers = [
        _Shopper(np.cumsum(weights), colour, sensitivity)
        for weights, colour, sensitivity in zip(affinity, users["colour_pref"], users["price_sensitivity"])
    ]
    session_user, session_start = _schedule_sessions(is_bot, sessions_per_user, rng)
    log = _EventLog()
    for session, (user, start) in enumerate(zip(session_user, session_start)):
        if is_bot[user]:
            _bot_session(log, session, start, catalog, rng)
        else:
            _human_session(log, session, start, shoppers[user], catalog, rng)
    events = log.to_frame(users["user_id"].to_numpy()[session_user], catalog.sku_id)
    if noise:
        events = _repeat_rows(_drop_results_pages(events, users, rng), rng)
    return users, events


def session_item_sequences(
    events: pd.DataFrame, kinds: tuple[str, ...] = ("click", "cart", "purchase")
) -> list[list[str]]:
    """Per session, the SKUs of its ``kinds`` events in order (for item2vec).

    Consecutive repeats of a SKU (a click followed by its cart) are collapsed; sessions without such events are
    left out. Bots are not removed here: that is the cleaning step's job.
    """
    items = events.loc[events["event"].isin(kinds), ["session_id", "sku_id"]]
    new_item = (items["sku_id"] != items["sku_id"].shift()) | (items["session_id"] != items["session_id"].shift())
    return items[new_item].groupby("session_id", sort=False)["sku_id"].agg(list).tolist()


def _index_catalog(skus: pd.DataFrame) -> _Catalog:
    missing = [column for column in REQUIRED_COLUMNS if column not in skus.columns]
    if missing:
        raise ValueError(f"skus is missing required column(s) {missing}; it has {list(skus.columns)}")
    if skus.empty:
        raise ValueError("skus is empty: shoppers need products to look at")
    if not (skus["price"] > 0).all():
        raise ValueError("skus.price must be positive")
    department, departments = pd.factorize(skus["department"], sort=True)
    type_code, _ = pd.factorize(skus["type_id"], sort=True)
    n_types = type_code.max() + 1
    first_of_type = pd.Series(np.arange(len(skus))).groupby(type_code).first().to_numpy()
    type_department = department[first_of_type]
    log_price = np.log(skus["price"].to_numpy(dtype=float))
    log_price_ratio = log_price - pd.Series(log_price).groupby(type_code).transform("median").to_numpy()
    return _Catalog(
        departments=np.asarray(departments),
        sku_id=skus["sku_id"].to_numpy(dtype=str),
        department=department,
        type=type_code,
        colour=skus["colour"].fillna("").to_numpy(dtype=str),
        quality=skus["quality"].to_numpy(dtype=float),
        log_price_ratio=log_price_ratio,
        type_name=skus["name_en"].to_numpy(dtype=str)[first_of_type],
        type_department=type_department,
        types_in_department=[np.flatnonzero(type_department == d) for d in range(len(departments))],
        skus_of_type=[np.flatnonzero(type_code == t) for t in range(n_types)],
        department_skus_of_other_types=[
            np.flatnonzero((department == type_department[t]) & (type_code != t)) for t in range(n_types)
        ],
        skus_outside_department=[np.flatnonzero(department != d) for d in range(len(departments))],
    )


def _make_users(
    n_users: int, catalog: _Catalog, rng: np.random.Generator, noise: bool
) -> tuple[pd.DataFrame, np.ndarray]:
    """The users table and each user's department affinity (rows sum to 1)."""
    affinity = rng.dirichlet(np.full(len(catalog.departments), DEPARTMENT_CONCENTRATION), size=n_users)
    colours = catalog.colour[catalog.colour != ""]
    colour_pref = np.full(n_users, "", dtype=object)
    if len(colours):
        has_pref = rng.random(n_users) < COLOUR_PREF_RATE
        colour_pref[has_pref] = rng.choice(colours, size=has_pref.sum())
    is_bot = np.zeros(n_users, dtype=bool)
    if noise:
        is_bot[rng.choice(n_users, size=max(1, round(BOT_RATE * n_users)), replace=False)] = True
    users = pd.DataFrame(
        {
            "user_id": [f"U{number:05d}" for number in range(1, n_users + 1)],
            "top_department": catalog.departments[affinity.argmax(axis=1)],
            "colour_pref": colour_pref.astype(str),
            "price_sensitivity": rng.gamma(*PRICE_SENSITIVITY_GAMMA, size=n_users),
            "is_bot": is_bot,
        }
    )
    return users[USER_COLUMNS], affinity


def _schedule_sessions(
    is_bot: np.ndarray, sessions_per_user: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Each session's user index and start time, ordered by start time."""
    counts = np.where(is_bot, BOT_SESSIONS, 1 + rng.poisson(sessions_per_user - 1, size=len(is_bot)))
    user = np.repeat(np.arange(len(is_bot)), counts)
    start = rng.integers(0, SIMULATION_SECONDS, size=len(user))
    order = np.argsort(start, kind="stable")
    return user[order], start[order]


def _gap(mean: float, rng: np.random.Generator, minimum: int = 2) -> int:
    return minimum + int(rng.exponential(mean))


def _pick(pool: np.ndarray, rng: np.random.Generator) -> int:
    return pool[rng.integers(len(pool))]


def _sample(pool: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Up to ``k`` distinct members of ``pool``."""
    return pool[rng.choice(len(pool), size=min(k, len(pool)), replace=False)]


def _human_session(
    log: _EventLog, session: int, start: int, shopper: _Shopper, catalog: _Catalog, rng: np.random.Generator
) -> None:
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
    log: _EventLog, session: int, t: int, type_code: int, shopper: _Shopper, catalog: _Catalog, rng: np.random.Generator
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


def _impressions(type_code: int, catalog: _Catalog, rng: np.random.Generator) -> np.ndarray:
    """SKU indices shown for a search of ``type_code``, in display order."""
    same_type = rng.permutation(catalog.skus_of_type[type_code])[:SAME_TYPE_SLOTS]
    fill = IMPRESSIONS_PER_SEARCH - OTHER_DEPARTMENT_SLOTS - len(same_type)
    same_department = _sample(catalog.department_skus_of_other_types[type_code], fill, rng)
    other = _sample(catalog.skus_outside_department[catalog.type_department[type_code]], OTHER_DEPARTMENT_SLOTS, rng)
    return rng.permutation(np.concatenate([same_type, same_department, other]))


def _click_probability(shown: np.ndarray, type_code: int, shopper: _Shopper, catalog: _Catalog) -> np.ndarray:
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


def _cart_probability(clicked: np.ndarray, shopper: _Shopper, catalog: _Catalog) -> np.ndarray:
    utility = (
        CART_BIAS
        + QUALITY_WEIGHT * (catalog.quality[clicked] - 0.5)
        - shopper.price_sensitivity * catalog.log_price_ratio[clicked]
    )
    return _sigmoid(utility)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _bot_session(log: _EventLog, session: int, start: int, catalog: _Catalog, rng: np.random.Generator) -> None:
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


def _drop_results_pages(events: pd.DataFrame, users: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Keep only the searches of a few human sessions, as if their results pages never logged."""
    bots = users.loc[users["is_bot"], "user_id"]
    human_sessions = events.loc[~events["user_id"].isin(bots), "session_id"].unique()
    n_picked = max(1, round(EMPTY_SESSION_RATE * len(human_sessions)))
    picked = rng.choice(human_sessions, size=min(n_picked, len(human_sessions)), replace=False)
    lost = events["session_id"].isin(picked) & (events["event"] != "search")
    return events[~lost].reset_index(drop=True)


def _repeat_rows(events: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Insert an exact copy of a few rows straight after the original."""
    repeated = rng.choice(len(events), size=round(DUPLICATE_EVENT_RATE * len(events)), replace=False)
    order = np.sort(np.concatenate([np.arange(len(events)), repeated]), kind="stable")
    return events.iloc[order].reset_index(drop=True)
