"""The status listener (Kong's ``status_listen``; ``lockgate start
--status-listen HOST:PORT``, off by default): read-only, for monitoring
systems and load balancers, apart from the Admin API.

- ``GET /metrics``: as the Admin API's;
- ``GET /status/ready``: 200 ``{"message": "ready"}`` once the node serves
  (its store answers and ``ready()`` says so), else 503 with the reason.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from lockgate.admin.responses import json_response
from lockgate.admin.routes_metrics import metrics_handler
from lockgate.store.base import ConfigStore

__all__ = ["build_status_app"]


def build_status_app(
    store: ConfigStore,
    *,
    node_id: str,
    metrics_dir: str | None,
    version: str,
    ready: Callable[[], str | None] = lambda: None,
) -> web.Application:
    """``ready()`` returns why the node is not ready, or None when it is."""
    app = web.Application()

    async def status_ready(_: web.Request) -> web.Response:
        reason = ready()
        if reason is None:
            try:
                await store.version()
            except Exception:
                reason = "the configuration store does not answer"
        if reason is not None:
            return json_response({"message": reason}, 503)
        return json_response({"message": "ready"})

    app.router.add_get(
        "/metrics", metrics_handler(store, node_id, metrics_dir, version), allow_head=False
    )
    app.router.add_get("/status/ready", status_ready, allow_head=True)
    return app
