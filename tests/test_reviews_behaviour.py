"""Generated reviews and shopper behaviour: determinism, the documented model, injected dirt, bad input."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from mmlab.config import DATA_DIR
from mmlab.data import behaviour, reviews
from mmlab.data.behaviour import session_item_sequences, simulate_behaviour
from mmlab.data.reviews import generate_reviews, load_review_sentences

SENTENCES_PATH = DATA_DIR / "reviews" / "amazon.json"
DEPARTMENTS = ("fashion", "home", "food", "toys")
COLOURS = ("red", "blue", "green", "black", "white")


def make_skus(n_types: int, per_type: int, seed: int = 0) -> pd.DataFrame:
    """A synthetic SKU table with the catalog's columns that matter here (food has no colour)."""
    rng = np.random.default_rng(seed)
    rows = []
    for type_id in range(n_types):
        department = DEPARTMENTS[type_id % len(DEPARTMENTS)]
        typical_price = rng.lognormal(3, 1)
        for _ in range(per_type):
            rows.append(
                {
                    "sku_id": f"S{len(rows) + 1:05d}",
                    "type_id": type_id,
                    "department": department,
                    "name_en": f"product {type_id}",
                    "colour": "" if department == "food" else str(rng.choice(COLOURS)),
                    "price": round(typical_price * rng.uniform(0.7, 1.4), 2),
                    "quality": rng.random(),
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def skus() -> pd.DataFrame:
    return make_skus(n_types=60, per_type=4)


@pytest.fixture(scope="module")
def sentences() -> pd.DataFrame:
    return load_review_sentences(SENTENCES_PATH)


@pytest.fixture(scope="module")
def clean_reviews(skus, sentences) -> pd.DataFrame:
    return generate_reviews(skus, sentences, np.random.default_rng(0), noise=False)


@pytest.fixture(scope="module")
def noisy_reviews(skus, sentences) -> pd.DataFrame:
    return generate_reviews(skus, sentences, np.random.default_rng(0), noise=True)


@pytest.fixture(scope="module")
def simulation(skus) -> tuple[pd.DataFrame, pd.DataFrame]:
    return simulate_behaviour(skus, n_users=300, sessions_per_user=6, rng=np.random.default_rng(0), noise=True)


@pytest.fixture(scope="module")
def clean_simulation(skus) -> tuple[pd.DataFrame, pd.DataFrame]:
    return simulate_behaviour(skus, n_users=300, sessions_per_user=6, rng=np.random.default_rng(0), noise=False)


# --- review sentences -------------------------------------------------------------------------------------


def test_review_sentences_load_unique_and_labelled(sentences):
    assert len(sentences) > 900
    assert set(sentences["label"]) == {0, 1}
    assert not sentences["text"].duplicated().any()
    assert (sentences["text"].str.strip() != "").all()


def test_missing_sentences_file_is_named(tmp_path):
    path = tmp_path / "nope.json"
    with pytest.raises(FileNotFoundError, match="nope.json"):
        load_review_sentences(path)


@pytest.mark.parametrize(
    "content", ['{"text": "fine", "class": 1}', '[{"text": "fine"}]', '[{"text": "fine", "class": 3}]', "not json"]
)
def test_malformed_sentences_file_is_named(tmp_path, content):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match="bad.json"):
        load_review_sentences(path)


# --- reviews ----------------------------------------------------------------------------------------------


def test_reviews_are_deterministic(skus, sentences, noisy_reviews):
    again = generate_reviews(skus, sentences, np.random.default_rng(0))
    pd.testing.assert_frame_equal(noisy_reviews, again)
    other = generate_reviews(skus, sentences, np.random.default_rng(1))
    assert not noisy_reviews.equals(other)


def test_three_to_eight_clean_reviews_per_sku(skus, clean_reviews):
    assert list(clean_reviews.columns) == reviews.COLUMNS
    per_sku = clean_reviews["sku_id"].value_counts()
    assert set(per_sku.index) == set(skus["sku_id"])
    assert per_sku.between(3, 8).all()
    assert clean_reviews["review_id"].is_unique
    assert (clean_reviews["noise"] == "").all()


def test_ratings_are_one_to_five_stars(noisy_reviews):
    assert pd.api.types.is_integer_dtype(noisy_reviews["rating"])
    assert noisy_reviews["rating"].between(1, 5).all()


def test_mean_rating_follows_quality(skus, clean_reviews):
    mean_rating = clean_reviews.groupby("sku_id")["rating"].mean()
    quality = skus.set_index("sku_id")["quality"].reindex(mean_rating.index)
    assert len(mean_rating) >= 200
    assert np.corrcoef(mean_rating, quality)[0, 1] > 0.5
    assert mean_rating.rank().corr(quality.rank()) > 0.5


def test_clean_reviews_are_made_of_real_sentences(sentences, noisy_reviews):
    known = set(sentences["text"])
    positive = set(sentences.loc[sentences["label"] == 1, "text"])
    clean = noisy_reviews[noisy_reviews["noise"] == ""]
    for text, sentiment in zip(clean["text"], clean["sentiment"]):
        parts = split_into_sentences(text, known)
        assert parts is not None and 1 <= len(parts) <= 3, text
        assert sentiment == pytest.approx(np.mean([part in positive for part in parts]))


def split_into_sentences(text: str, known: set[str]) -> list[str] | None:
    """``text`` as a space-joined sequence of known sentences, or None if it is not one."""
    if text in known:
        return [text]
    for cut in (i for i, char in enumerate(text) if char == " "):
        if text[:cut] in known and (rest := split_into_sentences(text[cut + 1 :], known)) is not None:
            return [text[:cut], *rest]
    return None


def test_noise_is_injected_at_the_documented_rates(noisy_reviews):
    clean = noisy_reviews[noisy_reviews["noise"] == ""]
    counts = noisy_reviews["noise"].value_counts()
    rates = {"duplicate": reviews.DUPLICATE_RATE, "empty": reviews.EMPTY_RATE, "spam": reviews.SPAM_RATE}
    for kind, rate in rates.items():
        assert counts.get(kind, 0) == pytest.approx(rate * len(clean), abs=1)
        assert counts[kind] > 0
    assert not clean.duplicated(["sku_id", "text"]).any()
    duplicates = noisy_reviews[noisy_reviews["noise"] == "duplicate"]
    originals = duplicates.merge(clean, on=["sku_id", "text", "rating"], how="left", indicator=True)
    assert (originals["_merge"] == "both").all()
    assert ((noisy_reviews["text"].str.strip() == "") == (noisy_reviews["noise"] == "empty")).all()
    spammy = re.compile(r"http|www\.|\.example|BUY|[A-Z]{4}|(.)\1{3}|(\w+ )\2{2}")
    assert all(spammy.search(text) for text in noisy_reviews.loc[noisy_reviews["noise"] == "spam", "text"])
    assert noisy_reviews["review_id"].is_unique


def test_generating_reviews_rejects_bad_input(skus, sentences):
    with pytest.raises(ValueError, match="quality"):
        generate_reviews(skus.drop(columns="quality"), sentences, np.random.default_rng(0))
    with pytest.raises(ValueError, match="label"):
        generate_reviews(skus, sentences.rename(columns={"label": "class"}), np.random.default_rng(0))


# --- behaviour --------------------------------------------------------------------------------------------


def test_behaviour_is_deterministic(skus, simulation):
    users, events = simulation
    users_again, events_again = simulate_behaviour(skus, 300, 6, np.random.default_rng(0))
    pd.testing.assert_frame_equal(users, users_again)
    pd.testing.assert_frame_equal(events, events_again)
    _, other_events = simulate_behaviour(skus, 300, 6, np.random.default_rng(1))
    assert not events.equals(other_events)


def test_tables_have_the_documented_columns(skus, simulation):
    users, events = simulation
    assert list(users.columns) == behaviour.USER_COLUMNS
    assert list(events.columns) == behaviour.EVENT_COLUMNS
    assert users["user_id"].is_unique
    assert set(users["top_department"]) <= set(DEPARTMENTS)
    assert set(users["colour_pref"]) <= {"", *COLOURS}
    assert (users["price_sensitivity"] >= 0).all()
    assert set(events["event"]) == {"search", "impression", "click", "cart", "purchase"}
    searches = events["event"] == "search"
    assert (events.loc[searches, "sku_id"] == "").all() and (events.loc[searches, "query"] != "").all()
    assert (events.loc[~searches, "query"] == "").all() and (events.loc[~searches, "sku_id"] != "").all()
    assert events.loc[events["event"].isin(["impression", "click"]), "position"].between(1, 10).all()
    assert (events.loc[events["event"].isin(["search", "cart", "purchase"]), "position"] == -1).all()


def test_sessions_are_contiguous_and_time_ordered(simulation):
    _, events = simulation
    starts = events["session_id"] != events["session_id"].shift()
    assert starts.sum() == events["session_id"].nunique()
    assert (events.groupby("session_id")["t"].diff().dropna() >= 0).all()
    assert events.groupby("session_id")["event"].first().eq("search").all()


def test_every_interaction_follows_an_impression_in_its_session(simulation):
    _, events = simulation
    impressed: set[tuple[str, str]] = set()
    for session, event, sku in events[["session_id", "event", "sku_id"]].itertuples(index=False):
        if event == "impression":
            impressed.add((session, sku))
        elif event in ("click", "cart", "purchase"):
            assert (session, sku) in impressed, (session, event, sku)


def test_purchases_within_carts_within_clicks(simulation):
    _, events = simulation
    pairs = {
        kind: set(events.loc[events["event"] == kind, ["session_id", "sku_id"]].itertuples(index=False))
        for kind in ("click", "cart", "purchase")
    }
    assert pairs["purchase"] and pairs["purchase"] <= pairs["cart"] <= pairs["click"]


def human_impressions(users: pd.DataFrame, events: pd.DataFrame, skus: pd.DataFrame) -> pd.DataFrame:
    """Human impressions with the shown SKU's attributes, the searched type and whether it was clicked."""
    humans = events[events["user_id"].isin(users.loc[~users["is_bot"], "user_id"])]
    searched = humans["query"].where(humans["event"] == "search").ffill()
    shown = humans.assign(searched=searched)[humans["event"] == "impression"]
    clicked = humans.loc[humans["event"] == "click", ["session_id", "sku_id"]].drop_duplicates().assign(clicked=True)
    return (
        shown.merge(skus, on="sku_id")
        .merge(users, on="user_id")
        .merge(clicked, on=["session_id", "sku_id"], how="left")
        .fillna({"clicked": False})
        .astype({"clicked": bool})
    )


def test_relevant_items_are_clicked_more(skus, clean_simulation):
    shown = human_impressions(*clean_simulation, skus)
    department_of = skus.drop_duplicates("name_en").set_index("name_en")["department"]
    same_type = shown["name_en"] == shown["searched"]
    same_department = ~same_type & (shown["department"] == shown["searched"].map(department_of))
    other = ~same_type & ~same_department
    assert other.mean() > 0.1  # the comparison below has data
    ctr_type, ctr_department, ctr_other = (shown.loc[m, "clicked"].mean() for m in (same_type, same_department, other))
    assert ctr_type > 2 * ctr_department
    assert ctr_department > 1.5 * ctr_other > 0


def test_shoppers_click_their_favourite_department_more_than_chance(skus, clean_simulation):
    users, events = clean_simulation
    clicks = events[events["event"] == "click"].merge(skus, on="sku_id").merge(users, on="user_id")
    in_favourite = (clicks["department"] == clicks["top_department"]).mean()
    assert in_favourite > 2 / len(DEPARTMENTS)


def test_colour_lovers_click_their_colour_more(skus, clean_simulation):
    shown = human_impressions(*clean_simulation, skus)
    coloured = shown[(shown["colour"] != "") & (shown["colour_pref"] != "")]
    match = coloured["colour"] == coloured["colour_pref"]
    assert coloured.loc[match, "clicked"].mean() > 1.3 * coloured.loc[~match, "clicked"].mean()


def clicks_per_minute(events: pd.DataFrame) -> pd.Series:
    """Clicks per minute of session time, per user."""
    per_session = events.groupby("session_id").agg(
        user_id=("user_id", "first"),
        clicks=("event", lambda kinds: (kinds == "click").sum()),
        seconds=("t", lambda t: t.max() - t.min()),
    )
    per_user = per_session.groupby("user_id")[["clicks", "seconds"]].sum()
    return per_user["clicks"] / (per_user["seconds"] + 1) * 60


def test_bots_only_with_noise_and_much_faster_than_humans(simulation, clean_simulation):
    clean_users, _ = clean_simulation
    assert not clean_users["is_bot"].any()
    users, events = simulation
    bots = users.loc[users["is_bot"], "user_id"]
    assert 1 <= len(bots) <= 0.02 * len(users)
    rate = clicks_per_minute(events)
    assert rate[bots].min() > 10 * rate.drop(bots).quantile(0.99)
    clicks = events[events["event"] == "click"].groupby("user_id").size()
    assert clicks[bots].min() > 100 > clicks.drop(bots).max()


def test_sessions_without_results_only_with_noise(simulation, clean_simulation):
    def sessions_without_impressions(events: pd.DataFrame) -> int:
        has_impressions = events.groupby("session_id")["event"].agg(lambda kinds: (kinds == "impression").any())
        return int((~has_impressions).sum())

    _, events = simulation
    n_sessions = events["session_id"].nunique()
    assert 0 < sessions_without_impressions(events) <= 0.02 * n_sessions
    assert sessions_without_impressions(clean_simulation[1]) == 0


def test_duplicate_events_only_with_noise(simulation, clean_simulation):
    _, events = simulation
    assert events.duplicated().sum() == pytest.approx(behaviour.DUPLICATE_EVENT_RATE * len(events), rel=0.1)
    assert not clean_simulation[1].duplicated().any()


def test_session_item_sequences_keep_order_and_collapse_repeats():
    events = pd.DataFrame(
        [
            ("V1", "search", ""), ("V1", "impression", "A"), ("V1", "impression", "B"), ("V1", "click", "B"),
            ("V1", "cart", "B"), ("V1", "click", "A"), ("V1", "purchase", "B"),
            ("V2", "search", ""), ("V2", "impression", "C"),
            ("V3", "search", ""), ("V3", "impression", "C"), ("V3", "click", "C"),
        ],
        columns=["session_id", "event", "sku_id"],
    )
    assert session_item_sequences(events) == [["B", "A", "B"], ["C"]]
    assert session_item_sequences(events, kinds=("impression",)) == [["A", "B"], ["C"], ["C"]]


def test_item_sequences_cover_every_session_with_clicks(simulation):
    _, events = simulation
    sequences = session_item_sequences(events)
    assert len(sequences) == events.loc[events["event"] == "click", "session_id"].nunique()
    assert all(sequence and all(sku.startswith("S") for sku in sequence) for sequence in sequences)


def test_simulation_rejects_bad_input(skus):
    with pytest.raises(ValueError, match="colour"):
        simulate_behaviour(skus.drop(columns="colour"), 10, 2, np.random.default_rng(0))
    with pytest.raises(ValueError, match="n_users"):
        simulate_behaviour(skus, 0, 2, np.random.default_rng(0))
    with pytest.raises(ValueError, match="sessions_per_user"):
        simulate_behaviour(skus, 10, 0.5, np.random.default_rng(0))
