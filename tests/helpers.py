"""Helpers shared by the tests: the exercise checks' assertions, and a two-tower model from mmlab's own classes."""

from __future__ import annotations

import pytest

from mmlab.models.fusion import FUSIONS, GatedFusion, TowerConfig, TwoTower
from mmlab.models.losses import alignment_loss, logit_scale


def two_tower(config: TowerConfig, product_dims: dict[str, int], image_dim: int, text_dim: int) -> TwoTower:
    """An untrained two-tower model built from notebook 06's fusers and notebook 07's losses, as saved in mmlab."""
    return TwoTower(config, product_dims, image_dim, text_dim, FUSIONS, GatedFusion, alignment_loss, logit_scale)


def stub(*args):
    """An unfinished exercise, as the student edition hands it out."""
    raise NotImplementedError


def assert_passes(capsys: pytest.CaptureFixture, passed: bool) -> None:
    """The check returned True and printed ✅."""
    out = capsys.readouterr().out
    assert passed is True and out.startswith("✅"), out


def assert_fails(capsys: pytest.CaptureFixture, passed: bool, *words: str) -> None:
    """The check returned False (never raised), printed ❌, and its hint holds every one of ``words``."""
    out = capsys.readouterr().out
    assert passed is False and out.startswith("❌"), out
    for word in words:
        assert word in out, f"expected {word!r} in the hint: {out}"
