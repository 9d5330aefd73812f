"""The PostgreSQL store against a real server: the same contract as SQLite
(versions, compare-and-swap), migrations, notification, outages."""

from __future__ import annotations

import asyncio

import pytest

from lockgate.admin.live_state import LiveState
from lockgate.admin.responses import AdminError
from lockgate.config.state import GatewayState
from lockgate.store import StaleVersion, StoreUnavailable, open_store
from lockgate.store.postgres import PostgresStore, SchemaNotReady
from tests.support.postgres import PASSWORD, PostgresServer, postgres_server


def _state(*names: str) -> GatewayState:
    state = GatewayState()
    for name in names:
        state.put("services", {"name": name, "host": "h"})
    return state


def _names(state: GatewayState) -> list[str]:
    return sorted(s["name"] for s in state.entities["services"].values())


async def _migrated(url: str) -> PostgresStore:
    store = PostgresStore(url)
    await store.migrate()
    return store


async def test_open_store_picks_postgres_by_url(pg_url: str) -> None:
    store = open_store(pg_url)
    assert isinstance(store, PostgresStore)
    assert store.database == "postgres"
    await store.close()


async def test_migrations_apply_once_and_report_current(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    before = await store.schema_status()
    assert not before.current and [m.name for m in before.pending] == ["config_versions"]
    assert await store.migrate() == ["001_config_versions"]
    assert await store.migrate() == []
    after = await store.schema_status()
    assert after.current and after.applied == (1,)
    await store.close()


async def test_nodes_migrating_together_apply_each_migration_once(pg_url: str) -> None:
    stores = [PostgresStore(pg_url) for _ in range(4)]
    results = await asyncio.gather(*(s.migrate() for s in stores))
    assert sorted(len(r) for r in results) == [0, 0, 0, 1]
    for s in stores:
        await s.close()


async def test_without_schema_the_error_says_what_to_run(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    with pytest.raises(SchemaNotReady, match="lockgate migrations up"):
        await store.load()
    await store.close()


async def test_versions_and_compare_and_swap(pg_url: str) -> None:
    store = await _migrated(pg_url)
    empty_version, empty = await store.load()
    assert (empty_version, _names(empty)) == (0, [])
    first = await store.save(_state("a"), expected_version=0)
    with pytest.raises(StaleVersion) as raised:
        await store.save(_state("b"), expected_version=0)
    assert (raised.value.expected, raised.value.current) == (0, first)
    version, state = await store.load()
    assert version == first == await store.version()
    assert _names(state) == ["a"]
    second = await store.save(_state("a", "c"))
    assert second > first
    assert _names((await store.load())[1]) == ["a", "c"]
    await store.close()


async def test_concurrent_saves_on_two_nodes_both_land(pg_url: str) -> None:
    a, b = await _migrated(pg_url), await _migrated(pg_url)
    live_a, live_b = LiveState(a), LiveState(b)
    await live_a.load()
    await live_b.load()

    async def add(live: LiveState, name: str) -> None:
        await live.mutate(lambda s: s.put("services", {"name": name, "host": "h"}))

    await asyncio.gather(*(add(live_a if i % 2 else live_b, f"s{i}") for i in range(10)))
    assert _names((await a.load())[1]) == sorted(f"s{i}" for i in range(10))
    await a.close()
    await b.close()


async def test_watch_wakes_on_another_nodes_save(pg_url: str) -> None:
    writer, watcher = await _migrated(pg_url), await _migrated(pg_url)
    assert await watcher.watch(0, 0.01) == 0  # no change: returns the known version
    waiting = asyncio.create_task(watcher.watch(0, 30))
    await asyncio.sleep(0.3)
    assert not waiting.done()
    version = await writer.save(_state("x"))
    assert await asyncio.wait_for(waiting, 10) == version
    await writer.close()
    await watcher.close()


async def test_outage_raises_unavailable_without_password_then_reconnects() -> None:
    with postgres_server() as server:
        url = server.new_database()
        store = await _migrated(url)
        await store.save(_state("kept"))
        server.stop()
        for call in (store.version(), store.load(), store.save(_state("lost")), store.watch(1, 1)):
            with pytest.raises(StoreUnavailable) as raised:
                await call
            assert PASSWORD not in str(raised.value)
            assert f"lockgate:***@127.0.0.1:{server.port}" in str(raised.value)
        server.start()
        version, state = await store.load()  # the same object reconnects by itself
        assert _names(state) == ["kept"]
        assert version == await store.version()
        await store.close()


async def test_live_state_answers_503_during_an_outage_and_serves_reads() -> None:
    with postgres_server() as server:
        store = await _migrated(server.new_database())
        live = LiveState(store)
        await live.load()
        await live.mutate(lambda s: s.put("services", {"name": "before", "host": "h"}))
        server.stop()
        with pytest.raises(AdminError) as raised:
            await live.mutate(lambda s: s.put("services", {"name": "during", "host": "h"}))
        assert raised.value.status == 503
        assert "unavailable" in raised.value.body["message"]
        assert PASSWORD not in raised.value.body["message"]
        assert _names(await live.read()) == ["before"]
        server.start()
        await live.mutate(lambda s: s.put("services", {"name": "after", "host": "h"}))
        assert _names(await live.read()) == ["after", "before"]
        await store.close()


async def test_wrong_password_is_unavailable_and_not_echoed(pg: PostgresServer) -> None:
    store = PostgresStore(pg.url(password="not-the-Pa55word"))
    with pytest.raises(StoreUnavailable) as raised:
        await store.version()
    assert "not-the-Pa55word" not in str(raised.value)
    assert "password authentication failed" in str(raised.value)
    await store.close()
