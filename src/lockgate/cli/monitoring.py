"""What ``lockgate start`` runs for monitoring beside the Admin API:

- the directory where every proxy worker keeps its Prometheus values
  (``<prefix>/prometheus``, emptied at start: a node counts from zero, as a
  restarted Kong does);
- the status listener (``--status-listen``), when asked for;
- the usage ledger's retention: rows older than ``--usage-retention-days``
  are deleted at start and every hour.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web

    from lockgate.cli.process import Settings
    from lockgate.store.base import ConfigStore

__all__ = ["NodeMonitoring"]

log = logging.getLogger("lockgate")

PRUNE_EVERY = 3600.0


class NodeMonitoring:
    def __init__(self, settings: Settings, store: ConfigStore) -> None:
        from lockgate.plugins.prometheus.exposition import metrics_dir, prepare_metrics_dir

        self.settings = settings
        self.store = store
        self.metrics_dir = metrics_dir(settings.prefix)
        prepare_metrics_dir(self.metrics_dir)
        self._runner: web.AppRunner | None = None
        self._pruner: asyncio.Task[None] | None = None

    async def start(
        self, node_id: str, not_ready: Callable[[], str | None], *, serve: bool = True
    ) -> None:
        """Start the status listener (when set and ``serve``) and the ledger's pruning."""
        from aiohttp import web

        from lockgate.admin.app import KONG_VERSION
        from lockgate.admin.status_listener import build_status_app
        from lockgate.cli.process import split_listen

        if serve and self.settings.status_listen:
            host, port = split_listen(self.settings.status_listen)
            app = build_status_app(
                self.store,
                node_id=node_id,
                metrics_dir=self.metrics_dir,
                version=KONG_VERSION,
                ready=not_ready,
            )
            self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
            await self._runner.setup()
            await web.TCPSite(self._runner, host, port, reuse_address=True).start()
            log.info("status listener on %s:%d (/metrics, /status/ready)", host, port)
        if self.settings.usage_retention_days > 0:
            self._pruner = asyncio.create_task(self._prune_forever())

    async def _prune_forever(self) -> None:
        from lockgate.usage import open_usage_storage

        storage = open_usage_storage(self.store)
        keep = self.settings.usage_retention_days * 86400
        try:
            while True:
                try:
                    deleted = await storage.prune(time.time() - keep)
                    if deleted:
                        log.info("usage ledger: deleted %d rows past retention", deleted)
                except Exception:
                    log.exception("usage ledger: could not delete rows past retention")
                await asyncio.sleep(PRUNE_EVERY)
        finally:
            await storage.close()

    async def stop(self) -> None:
        if self._pruner is not None:
            self._pruner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pruner
        if self._runner is not None:
            await self._runner.cleanup()
