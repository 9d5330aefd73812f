"""Fixtures of the end-to-end tests."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator

import pytest


@pytest.fixture
def tutorial_log() -> Iterator[None]:
    """The README's tutorials log to /tmp/claude.json: one test that uses it at a
    time, across pytest-xdist workers and across test runs on the machine."""
    with open("/tmp/lockgate-tutorial-log.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
