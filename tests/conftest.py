"""Fixtures shared by the test modules."""

import pytest

from mmlab.config import one_thread as single_thread


@pytest.fixture
def one_thread():
    """Tiny tensors gain nothing from threads, and on a busy 2-core machine each op can wait for a second one."""
    with single_thread():
        yield
