"""The Admin API's copy of the configuration, and the one way to change it.

Every change runs under one :class:`asyncio.Lock`: reload if another process
(a second admin node on the same store) saved a newer version, compute the
new state from a copy, save it, then swap it in. A change that raises
(:class:`~lockgate.config.errors.ConfigError`) leaves both the held state and
the store untouched. Readers get the held state, refreshed when the store's
version moved; a held state is never mutated, so readers need no copy.

Within one node, writes are serialised by the lock; between nodes, the save
is a compare-and-swap on the version the change was computed from. A node
that lost the race reloads and computes its change again on the newer state,
so two nodes writing in the same instant both keep their changes (or the
second one gets the conflict its change now causes, e.g. a duplicate name).
A node that keeps losing gives up with 409 rather than retry forever.

When the store cannot be reached (a database outage), reads answer with the
held state and changes answer 503: the Admin API never pretends to have saved.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import TypeVar

from lockgate.admin.responses import AdminError
from lockgate.config.plugin_schema import PluginSchemas
from lockgate.config.state import GatewayState
from lockgate.store.base import ConfigStore, StaleVersion, StoreUnavailable

__all__ = ["LiveState"]

T = TypeVar("T")
#: Saves lost to another node in a row before giving up (each retry reloads first).
ATTEMPTS = 10
#: Longest pause before a retry, times the attempt number: a random pause lets two
#: nodes that keep colliding fall out of step.
RETRY_JITTER = 0.01

log = logging.getLogger("lockgate.admin")


def store_unavailable(exc: StoreUnavailable) -> AdminError:
    return AdminError(
        503,
        {"message": f"configuration store unavailable, nothing was changed ({exc}); retry later"},
    )


def lost_race(exc: StaleVersion) -> AdminError:
    return AdminError(
        409,
        {
            "message": f"the configuration was changed concurrently ({exc}) "
            f"{ATTEMPTS} times in a row; nothing was changed by this request, retry it"
        },
    )


class LiveState:
    def __init__(self, store: ConfigStore, plugins: PluginSchemas | None = None) -> None:
        self.store = store
        self.plugins = plugins
        self.state = GatewayState(plugins=plugins)
        self.version = 0
        self._lock = asyncio.Lock()

    async def load(self) -> None:
        self.version, state = await self.store.load()
        state.plugins = self.plugins  # changes to it validate plugins against these schemas
        self.state = state

    async def _refresh(self) -> None:
        if await self.store.version() != self.version:
            await self.load()

    async def read(self) -> GatewayState:
        """The newest configuration (do not mutate it); the held one while
        the store is away."""
        async with self._lock:
            try:
                await self._refresh()
            except StoreUnavailable as exc:
                log.warning("Admin API: answering a read from version %d: %s", self.version, exc)
            return self.state

    async def change(self, compute: Callable[[GatewayState], tuple[GatewayState | None, T]]) -> T:
        """Run ``compute(current)`` -> ``(new_state or None, result)``; save and
        swap in ``new_state`` unless it is None (nothing to change)."""
        async with self._lock:
            try:
                return await self._change(compute)
            except StoreUnavailable as exc:
                raise store_unavailable(exc) from exc
            except StaleVersion as exc:
                raise lost_race(exc) from exc

    async def _change(self, compute: Callable[[GatewayState], tuple[GatewayState | None, T]]) -> T:
        for attempt in range(ATTEMPTS):
            await self._refresh()
            new, result = compute(self.state)
            if new is None:
                return result
            try:
                self.version = await self.store.save(new, expected_version=self.version)
            except StaleVersion:
                if attempt == ATTEMPTS - 1:
                    raise
                # Another node saved first: start again from its version.
                await asyncio.sleep(random.uniform(0, RETRY_JITTER * (attempt + 1)))
                continue
            self.state = new
            return result
        raise AssertionError("unreachable")

    async def mutate(self, edit: Callable[[GatewayState], T]) -> T:
        """Run ``edit`` on a copy of the current state, then save the copy."""

        def compute(current: GatewayState) -> tuple[GatewayState | None, T]:
            new = current.copy()
            return new, edit(new)

        return await self.change(compute)
