"""The store interface."""

from __future__ import annotations

from typing import Protocol

from lockgate.config.state import GatewayState

__all__ = ["ConfigStore", "StaleVersion"]


class StaleVersion(Exception):
    """A save said which version its state was computed from, and another
    writer (a second admin node) has saved a newer one since."""

    def __init__(self, expected: int, current: int) -> None:
        super().__init__(f"configuration version {current} replaced {expected} meanwhile")
        self.expected = expected
        self.current = current


class ConfigStore(Protocol):
    async def version(self) -> int:
        """The newest version number (0 when nothing was ever saved). Cheap: polled."""
        ...

    async def load(self) -> tuple[int, GatewayState]:
        """The newest configuration and its version."""
        ...

    async def save(self, state: GatewayState, expected_version: int | None = None) -> int:
        """Store a new whole configuration atomically; return its version.
        With ``expected_version``, raise :class:`StaleVersion` instead when
        the newest version is another (compare-and-swap)."""
        ...

    async def close(self) -> None: ...
