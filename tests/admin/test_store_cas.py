"""Two admin nodes on one store: the save is a compare-and-swap on the
version a change was computed from, so neither node's change is lost."""

from __future__ import annotations

import pathlib
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from lockgate.admin.live_state import ATTEMPTS, LiveState
from lockgate.admin.responses import AdminError
from lockgate.config.state import GatewayState
from lockgate.store import StaleVersion
from lockgate.store.sqlite import SQLiteStore


class RacingStore(SQLiteStore):
    """Runs ``before_save`` (another node's write) right before each save."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.before_save: Callable[[], Awaitable[Any]] | None = None
        self.saves = 0

    async def save(self, state: GatewayState, expected_version: int | None = None) -> int:
        self.saves += 1
        if self.before_save is not None:
            await self.before_save()
        return await super().save(state, expected_version)


def _service(name: str) -> Callable[[GatewayState], dict[str, Any]]:
    return lambda state: state.put("services", {"name": name, "host": "h"})


def _names(state: GatewayState) -> list[str]:
    return sorted(s["name"] for s in state.entities["services"].values())


async def test_stale_expected_version_saves_nothing(tmp_path: pathlib.Path) -> None:
    store = SQLiteStore(str(tmp_path / "lockgate.db"))
    first = await store.save(GatewayState(), expected_version=0)
    assert first == 1
    with pytest.raises(StaleVersion) as raised:
        await store.save(GatewayState(), expected_version=0)
    assert (raised.value.expected, raised.value.current) == (0, 1)
    assert await store.version() == 1
    assert await store.save(GatewayState(), expected_version=1) == 2
    assert await store.save(GatewayState()) == 3  # no expectation: always saves
    await store.close()


async def test_a_write_lost_to_another_node_is_computed_again(tmp_path: pathlib.Path) -> None:
    path = str(tmp_path / "lockgate.db")
    racing, plain = RacingStore(path), SQLiteStore(path)
    a, b = LiveState(racing), LiveState(plain)
    await a.load()
    await b.load()

    async def b_writes_first() -> None:
        racing.before_save = None  # once
        await b.mutate(_service("from-b"))

    racing.before_save = b_writes_first
    await a.mutate(_service("from-a"))
    assert racing.saves == 2  # the first save found b's version and was computed again
    version, state = await plain.load()
    assert _names(state) == ["from-a", "from-b"]
    assert a.version == version == 2
    assert _names(await b.read()) == ["from-a", "from-b"]
    await racing.close()
    await plain.close()


async def test_a_node_that_keeps_losing_gives_up(tmp_path: pathlib.Path) -> None:
    path = str(tmp_path / "lockgate.db")
    racing, plain = RacingStore(path), SQLiteStore(path)
    a, b = LiveState(racing), LiveState(plain)
    await a.load()
    count = 0

    async def b_always_first() -> None:
        nonlocal count
        count += 1
        await b.mutate(_service(f"b{count}"))

    racing.before_save = b_always_first
    with pytest.raises(AdminError) as raised:
        await a.mutate(_service("from-a"))
    assert raised.value.status == 409  # a clear conflict, never a silent loss
    assert "retry" in raised.value.body["message"]
    assert racing.saves == ATTEMPTS
    _, state = await plain.load()
    assert "from-a" not in _names(state) and len(_names(state)) == ATTEMPTS
    await racing.close()
    await plain.close()
