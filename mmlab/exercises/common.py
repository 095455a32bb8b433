"""``check_*`` helpers for the notebooks' exercises: each prints a pass/fail verdict with a hint and returns it.

A check never raises on a wrong answer, so a notebook still runs top to bottom; a stub that raises
``NotImplementedError`` is reported as "not done yet" with its hint. With ``MMLAB_STRICT_EXERCISES=1`` (set by
``make test``) a failed check raises :class:`ExerciseFailed` instead, so CI proves every solution passes.
One module per notebook; this one holds what they share.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch


STRICT = "MMLAB_STRICT_EXERCISES"


class ExerciseFailed(AssertionError):
    """A check failed in strict mode (CI runs the solutions strictly)."""


@contextmanager
def strict_exercises(on: bool) -> Iterator[None]:
    """Inside the block, failed checks raise (``on``) or only print (not ``on``); restored afterwards."""
    before = os.environ.get(STRICT)
    os.environ[STRICT] = "1" if on else "0"
    try:
        yield
    finally:
        if before is None:
            del os.environ[STRICT]
        else:
            os.environ[STRICT] = before


def verdict(passed: bool, success: str, hint: str) -> bool:
    """Print ✅ with ``success`` or ❌ with ``hint``; return ``passed`` (in strict mode a failure raises)."""
    print(f"✅ {success}" if passed else f"❌ {hint}")
    if not passed and os.environ.get(STRICT) == "1":
        raise ExerciseFailed(f"{hint} ({STRICT}=1: every solution must pass its check)")
    return passed


def attempt(solution: Callable[..., Any], *args: Any) -> tuple[bool, Any]:
    """Call a learner's function; (False, message) if it is still a stub or crashes, else (True, result)."""
    try:
        return True, solution(*args)
    except NotImplementedError as stub:
        return False, f"not done yet: {str(stub) or 'replace the NotImplementedError with your code'}"
    except Exception as error:  # a learner's bug is feedback, not a crash of the notebook
        return False, f"your function raised {type(error).__name__}: {error}"


def as_number(value: Any) -> float | None:
    """``value`` as a float if it is one number (a Python or NumPy scalar, a 0-d array), else None."""
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        return None
    return float(array) if array.ndim == 0 and array.dtype.kind in "biuf" else None


def speech_like_signal(n: int, rng: np.random.Generator) -> np.ndarray:
    """A speech-like test clip: a few harmonics with a syllable-rate envelope and a silent start."""
    t = np.arange(n) / 16_000
    tone = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) / k for k, f in enumerate((180, 360, 900), 1))
    envelope = np.clip(np.sin(2 * np.pi * 4 * t), 0, None) * (t > 0.1)
    return (0.3 * tone * envelope).astype(np.float32)


def same_tensor(got: Any, want: torch.Tensor) -> bool:
    """``got`` is a tensor (or array) of ``want``'s shape with the same values."""
    try:
        got = torch.as_tensor(np.asarray(got.detach() if isinstance(got, torch.Tensor) else got), dtype=want.dtype)
    except (TypeError, ValueError, RuntimeError):
        return False
    return got.shape == want.shape and torch.allclose(got, want, atol=1e-5)


def verify_stub(student_cell: str, check_call: str, hint: str, namespace: dict) -> None:
    """Run a student's stub cell and its check in ``namespace``; raise AssertionError unless the check fails,
    says the exercise is not done yet and shows the hint. The teacher's cell runs next and restores the answer."""
    printed = io.StringIO()
    with strict_exercises(False), contextlib.redirect_stdout(printed):
        exec(compile(student_cell, "<student stub>", "exec"), namespace)  # noqa: S102 (our own notebook's cell)
        passed = eval(compile(check_call, "<check>", "eval"), namespace)  # noqa: S307
    text = printed.getvalue()
    if passed is not False or "not done yet" not in text or hint not in text:
        raise AssertionError(f"the student stub of {check_call} should fail with 'not done yet' and the hint "
                             f"{hint!r}; the check returned {passed!r} and printed:\n{text}")
    print(f"student stub fails as it should: {text.strip().splitlines()[-1]}")
