"""Exceptions raised by the Lua runtime.

The tree::

    LuaError                  anything a snippet can do wrong
    ├── LuaSyntaxError        the snippet does not compile (raised at apply time)
    └── LuaRuntimeError       the snippet raised an error while running
        └── LuaTimeoutError   the snippet used up its instruction budget

lupa's own exceptions never leave this package: they are converted here, at the
boundary, so callers depend on one small tree.
"""

from __future__ import annotations

import re

_LINE_RE = re.compile(r":(\d+): ")


class LuaError(Exception):
    """Base class of every error a Lua snippet can cause."""


class LuaSyntaxError(LuaError):
    """The snippet does not compile; ``line`` is where Lua noticed it."""

    def __init__(self, message: str, *, line: int | None, chunk_name: str) -> None:
        super().__init__(message)
        self.line = line
        self.chunk_name = chunk_name

    @classmethod
    def from_lua_message(cls, lua_message: str, chunk_name: str) -> LuaSyntaxError:
        """Build from LuaJIT's ``name:LINE: message`` text."""
        match = _LINE_RE.search(lua_message)
        if match is None:
            return cls(
                f"syntax error in {chunk_name}: {lua_message}", line=None, chunk_name=chunk_name
            )
        line = int(match.group(1))
        detail = lua_message[match.end() :]
        return cls(
            f"syntax error in {chunk_name} at line {line}: {detail}",
            line=line,
            chunk_name=chunk_name,
        )


class LuaRuntimeError(LuaError):
    """The snippet raised an error; ``traceback`` is Lua's stack traceback."""

    def __init__(self, message: str, traceback: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.traceback = traceback

    def __str__(self) -> str:
        if not self.traceback:
            return self.message
        return f"{self.message}\n{self.traceback}"


class LuaTimeoutError(LuaRuntimeError):
    """The snippet ran past ``max_instructions`` (an infinite loop, usually)."""
