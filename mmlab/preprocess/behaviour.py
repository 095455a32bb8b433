"""Event cleaning: repeated rows, unknown users, bots and blind searches removed, each with its reason."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmlab.preprocess.checks import check_columns, cleaning_report, split_removed


BOT_CLICKS_PER_MINUTE = 30  # nobody reads and clicks 30 results within one minute (shoppers here peak at 6)


def user_activity(events: pd.DataFrame) -> pd.DataFrame:
    """Per user: sessions, searches, clicks, purchases and ``peak_clicks_per_minute`` (most clicks in any
    60-second window), the evidence the bot rule looks at."""
    check_columns(events, "events", ("session_id", "user_id", "t", "event"))
    if not pd.api.types.is_numeric_dtype(events["t"]):
        raise TypeError(f"events.t must hold seconds as numbers, got dtype {events['t'].dtype}; convert timestamps "
                        "first, e.g. (time - time.min()).dt.total_seconds()")
    counts = events.groupby("user_id").agg(sessions=("session_id", "nunique"))
    for column, kind in (("searches", "search"), ("clicks", "click"), ("purchases", "purchase")):
        of_kind = events[events["event"] == kind]
        counts[column] = of_kind.groupby("user_id").size().reindex(counts.index, fill_value=0)
    clicks = events[events["event"] == "click"]
    peak = clicks.groupby("user_id")["t"].agg(_most_in_a_minute)
    counts["peak_clicks_per_minute"] = peak.reindex(counts.index, fill_value=0).astype(int)
    return counts.reset_index()


def clean_events(
    events: pd.DataFrame, users: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Split behaviour events into ``(kept, removed, report)``; ``removed`` adds ``reason`` and ``detail``.

    Rules, in order, each on the rows the earlier ones kept:
    "repeated row" (an exact copy of an earlier row: a logging glitch), "unknown user" (not in ``users``),
    "bot" (all events of a user with ``BOT_CLICKS_PER_MINUTE`` or more clicks within a minute), "no results
    logged" (a session with searches but no impressions: its results page was never logged, so it says
    nothing about what shoppers saw). ``report`` is ``cleaning_report(removed)``. Ground-truth columns
    such as ``users.is_bot`` are never read.
    """
    check_columns(events, "events", ("session_id", "user_id", "t", "event"))
    check_columns(users, "users", ("user_id",))
    reason = pd.Series("", index=events.index)
    detail = pd.Series("", index=events.index)
    reason[events.duplicated(keep="first")] = "repeated row"
    unknown = (reason == "") & ~events["user_id"].isin(users["user_id"])
    reason[unknown], detail[unknown] = "unknown user", "user_id not in users"

    activity = user_activity(events[reason == ""]).set_index("user_id")["peak_clicks_per_minute"]
    peak = events["user_id"].map(activity)
    bot = (reason == "") & (peak >= BOT_CLICKS_PER_MINUTE)
    reason[bot], detail[bot] = "bot", peak[bot].map(lambda n: f"{n:.0f} clicks within a minute")

    remaining = events[reason == ""]
    kinds = remaining.groupby("session_id")["event"].agg(set)
    blind = kinds[kinds.map(lambda seen: "search" in seen and "impression" not in seen)].index
    no_results = (reason == "") & events["session_id"].isin(blind)
    reason[no_results], detail[no_results] = "no results logged", "session has searches but no impressions"
    kept, removed = split_removed(events, reason, detail)
    return kept, removed, cleaning_report(removed)


def _most_in_a_minute(times: pd.Series) -> int:
    """The largest number of events inside any 60-second window."""
    t = np.sort(times.to_numpy())
    return int((np.searchsorted(t, t + 60, side="left") - np.arange(len(t))).max())
