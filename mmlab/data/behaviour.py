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

import numpy as np
import pandas as pd

from mmlab.data.sessions import (EVENT_COLUMNS, POSITION_BIAS, CatalogIndex, EventLog, Shopper, bot_session,
                                 human_session)

__all__ = ["EVENT_COLUMNS", "POSITION_BIAS", "USER_COLUMNS", "simulate_behaviour", "session_item_sequences"]

REQUIRED_COLUMNS = ("sku_id", "type_id", "department", "name_en", "colour", "price", "quality")
USER_COLUMNS = ["user_id", "top_department", "colour_pref", "price_sensitivity", "is_bot"]

DEPARTMENT_CONCENTRATION = 0.5
COLOUR_PREF_RATE = 0.5
PRICE_SENSITIVITY_GAMMA = (2.0, 0.5)  # shape, scale
SIMULATION_SECONDS = 30 * 24 * 3600

BOT_RATE = 0.01
BOT_SESSIONS = 5
EMPTY_SESSION_RATE = 0.01
DUPLICATE_EVENT_RATE = 0.005


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
        Shopper(np.cumsum(weights), colour, sensitivity)
        for weights, colour, sensitivity in zip(affinity, users["colour_pref"], users["price_sensitivity"])
    ]
    session_user, session_start = _schedule_sessions(is_bot, sessions_per_user, rng)
    log = EventLog()
    for session, (user, start) in enumerate(zip(session_user, session_start)):
        if is_bot[user]:
            bot_session(log, session, start, catalog, rng)
        else:
            human_session(log, session, start, shoppers[user], catalog, rng)
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


def _index_catalog(skus: pd.DataFrame) -> CatalogIndex:
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
    return CatalogIndex(
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
    n_users: int, catalog: CatalogIndex, rng: np.random.Generator, noise: bool
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
