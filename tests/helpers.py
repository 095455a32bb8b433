"""Assertions shared by the tests of the notebooks' ``check_*`` helpers."""

from __future__ import annotations

import pytest


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
