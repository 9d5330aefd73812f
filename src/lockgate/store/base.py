"""The store interface."""

from __future__ import annotations

from typing import Protocol

from lockgate.config.state import GatewayState

__all__ = ["ConfigStore"]


class ConfigStore(Protocol):
    async def version(self) -> int:
        """The newest version number (0 when nothing was ever saved). Cheap: polled."""
        ...

    async def load(self) -> tuple[int, GatewayState]:
        """The newest configuration and its version."""
        ...

    async def save(self, state: GatewayState) -> int:
        """Store a new whole configuration atomically; return its version."""
        ...

    async def close(self) -> None: ...
