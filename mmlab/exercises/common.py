"""``check_*`` helpers for the notebooks' exercises: each prints a pass/fail verdict with a hint and returns it.

A check never raises on a wrong answer (so a notebook still runs top to bottom); it raises only when the
answer has the wrong *kind* (for example a stub that raises ``NotImplementedError``), which it reports as not done.
One module per notebook; this one holds what they share.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch


def verdict(passed: bool, success: str, hint: str) -> bool:
    """Print ✅ with ``success`` or ❌ with ``hint``; return ``passed``."""
    print(f"✅ {success}" if passed else f"❌ {hint}")
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
