"""The store interface.

Exceptions a store raises, besides the driver's own programming errors::

    StoreError
     ├── StaleVersion        a compare-and-swap save lost to another writer
     └── StoreUnavailable    the store cannot be reached now (a database outage)

A store's messages never hold a password: connection URLs are shown through
:func:`lockgate.store.url.redact_url`.
"""

from __future__ import annotations

from typing import Protocol

from lockgate.config.state import GatewayState

__all__ = ["ConfigStore", "StaleVersion", "StoreError", "StoreUnavailable"]


class StoreError(Exception):
    """Base of the errors a store raises on purpose."""


class StaleVersion(StoreError):
    """A save said which version its state was computed from, and another
    writer (a second admin node) has saved a newer one since."""

    def __init__(self, expected: int, current: int) -> None:
        super().__init__(f"configuration version {current} replaced {expected} meanwhile")
        self.expected = expected
        self.current = current


class StoreUnavailable(StoreError):
    """The store did not answer (database down, restarting, unreachable).
    Callers keep what they hold and try again later."""


class ConfigStore(Protocol):
    #: What ``GET /`` shows as ``configuration.database`` ("sqlite", "postgres").
    database: str

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

    async def watch(self, known: int, timeout: float) -> int:
        """Change notification: return the newest version as soon as it
        differs from ``known``, or ``known`` after ``timeout`` seconds without
        a change. Raises :class:`StoreUnavailable` when the store cannot be
        reached (the caller waits and calls again)."""
        ...

    async def close(self) -> None: ...
