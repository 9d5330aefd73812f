"""Append-only JSON-lines writer safe across worker processes.

Lines logged during one turn of the event loop are joined and written with a
single ``write(2)`` on a descriptor opened with ``O_APPEND``: the kernel
positions and writes it as one unit, so lines from several processes never
interleave or tear, and a busy worker makes one system call per loop turn
rather than one per request.
"""

from __future__ import annotations

import asyncio
import logging
import os

__all__ = ["LogWriter"]

log = logging.getLogger("lockgate.file-log")


class LogWriter:
    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        self._pending: list[bytes] = []
        self._reopen = False
        self._scheduled = False

    def _open(self) -> int:
        return os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)

    def write(self, line: bytes, *, reopen: bool = False) -> None:
        """Queue one line (ending in a newline); it is written at the end of this loop turn."""
        self._pending.append(line)
        self._reopen = self._reopen or reopen
        if self._scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        self._scheduled = True
        loop.call_soon(self.flush)

    def flush(self) -> None:
        self._scheduled = False
        if not self._pending:
            return
        data = b"".join(self._pending) if len(self._pending) > 1 else self._pending[0]
        self._pending.clear()
        if self._reopen and self._fd is not None:
            # reopen: follow a log file that was rotated away (Kong's `reopen`).
            os.close(self._fd)
            self._fd = None
        self._reopen = False
        try:
            if self._fd is None:
                self._fd = self._open()
            view = memoryview(data)
            written = os.write(self._fd, view)
            while written < len(view):  # only on a full disk or a signal; keep what is left whole
                written += os.write(self._fd, view[written:])
        except OSError as exc:
            log.error("file-log: cannot write to %s: %s", self.path, exc)

    def close(self) -> None:
        try:
            self.flush()
        finally:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
