"""``check_*`` helpers for the notebooks' exercises: each prints a pass/fail verdict with a hint and returns it.

A check never raises on a wrong answer (so a notebook still runs top to bottom); it raises only when the
answer has the wrong *kind* (for example a stub that raises ``NotImplementedError``), which it reports as not done.
Sections below are grouped by notebook.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def verdict(passed: bool, success: str, hint: str) -> bool:
    """Print ✅ with ``success`` or ❌ with ``hint``; return ``passed``."""
    print(f"✅ {success}" if passed else f"❌ {hint}")
    return passed


def attempt(solution: Callable[..., Any], *args: Any) -> tuple[bool, Any]:
    """Call a learner's function; (False, message) if it is still a stub or crashes, else (True, result)."""
    try:
        return True, solution(*args)
    except NotImplementedError as stub:
        return False, f"not done yet: {stub or 'replace the NotImplementedError with your code'}"
    except Exception as error:  # a learner's bug is feedback, not a crash of the notebook
        return False, f"your function raised {type(error).__name__}: {error}"
