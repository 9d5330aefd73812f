"""A node on PostgreSQL keeps its ledger in that database: rows written by
both workers are read back through the Admin API, and a graceful stop
leaves none behind."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
from pathlib import Path

from lockgate.usage.postgres import PostgresUsage
from tests.monitoring.test_metrics_and_ledger import ask, config, get, records, wait_rows
from tests.support.postgres import PASSWORD, PostgresServer
from tests.support.processes import start_emulator, start_gateway


def test_rows_land_in_postgres_and_survive_a_stop(tmp_path: Path, pg: PostgresServer) -> None:
    url = pg.new_database()
    log_path = tmp_path / "file-log.json"
    with (
        start_emulator() as emulator,
        start_gateway(tmp_path, workers=2, env={"LOCKGATE_STORE": url}) as gw,
    ):
        applied = gw.apply(config(emulator, log_path, prometheus=False))
        assert applied.returncode == 0, applied.stderr
        gw.wait_config()
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            statuses = list(
                pool.map(lambda i: ask(gw, "bob-key", f"q{i}", stream=i % 3 == 0), range(9))
            )
        assert statuses == [200] * 9
        rows = wait_rows(gw, 9)
        assert {r["consumer"] for r in rows} == {"bob"} and len(rows) == 9
        status, raw = get(gw.admin_url + "/ai/usage?group_by=provider")
        assert status == 200 and json.loads(raw)["data"][0]["requests"] == 9
        more = list(map(lambda i: ask(gw, "alice-key", f"late {i}", stream=False), range(5)))
        assert more == [200] * 5
        assert gw.stop() == 0  # the last rows may still be queued in the workers
        assert PASSWORD not in gw.error_log()
    ids = {r["request"]["id"] for r in records(log_path)}

    async def stored() -> set[str]:
        ledger = PostgresUsage(url)
        try:
            return {r["request_id"] for r in await ledger.recent(100, None)}
        finally:
            await ledger.close()

    assert asyncio.run(stored()) == ids and len(ids) == 14
