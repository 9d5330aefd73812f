"""Process set-up shared by the gateway's processes: logging and the event loop."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Coroutine
from typing import Any

__all__ = ["run_loop", "setup_logging"]


def setup_logging(log_file: str | None, *, foreground: bool) -> None:
    handlers: list[logging.Handler] = []
    if log_file:
        os.makedirs(os.path.dirname(log_file), exist_ok=True)
        handlers.append(logging.FileHandler(log_file))
    if not log_file or (foreground and not _stderr_is(log_file)):
        handlers.append(logging.StreamHandler(sys.stderr))
    level = os.environ.get("LOCKGATE_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(
        level=level,
        format="%(asctime)s [%(levelname)s] %(process)d %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def _stderr_is(path: str) -> bool:
    """Whether stderr already writes to ``path`` (a daemon's does), so that a
    record is not written there twice."""
    try:
        err, target = os.fstat(sys.stderr.fileno()), os.stat(path)
    except (OSError, ValueError, AttributeError):
        return False
    return (err.st_dev, err.st_ino) == (target.st_dev, target.st_ino)


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run ``main`` on uvloop where available (it is a dependency on Linux and macOS)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        asyncio.run(main)
        return
    uvloop.run(main)
