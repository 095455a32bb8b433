"""Tests for mmlab.diagrams: the architecture figures name every part they draw and refuse unknown ones."""

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from mmlab import diagrams  # noqa: E402


def texts(fig: Figure) -> str:
    return "\n".join(text.get_text() for text in fig.axes[0].texts)


def test_two_tower_figure_draws_each_modality_and_query_kind():
    fig = diagrams.two_tower_figure(["image", "text", "review"], ["text", "composed"])
    drawn = texts(fig)
    for label in ("catalog photo", "title + description", "reviews", "typed query", "photo + modifier", "TIRG gate",
                  "product vector", "query vector"):
        assert label in drawn
    assert "sessions" not in drawn and "spoken query" not in drawn


def test_two_tower_figure_refuses_unknown_names():
    with pytest.raises(ValueError, match="product modalities"):
        diagrams.two_tower_figure(["image", "audio"], ["text"])
    with pytest.raises(ValueError, match="query kinds"):
        diagrams.two_tower_figure(["image"], [])


def test_tirg_figure_shows_gate_and_residual():
    drawn = texts(diagrams.tirg_figure())
    assert "gate MLP" in drawn and "residual MLP" in drawn and "composed" in drawn
