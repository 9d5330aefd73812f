"""Append-only JSON-lines writer safe across worker processes.

Each record is written with a single ``write(2)`` on a descriptor opened with
``O_APPEND``: the kernel positions and writes it as one unit, so lines from
several processes never interleave or tear.
"""

from __future__ import annotations

import os

__all__ = ["LogWriter"]


class LogWriter:
    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None

    def _open(self) -> int:
        return os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)

    def write(self, line: bytes, *, reopen: bool = False) -> None:
        if reopen and self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._fd is None:
            self._fd = self._open()
        view = memoryview(line)
        written = os.write(self._fd, view)
        while written < len(view):  # only on a full disk or a signal; keep the line whole
            written += os.write(self._fd, view[written:])

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
