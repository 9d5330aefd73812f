"""The status listener (Kong's ``status_listen``; ``lockgate start
--status-listen HOST:PORT``, off by default): read-only, for monitoring
systems and load balancers, apart from the Admin API.

- ``GET /metrics``: as the Admin API's;
- ``GET /status/ready``: as the Admin API's (:mod:`lockgate.admin.readiness`).
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from lockgate.admin.readiness import add_readiness_route
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
    app.router.add_get(
        "/metrics", metrics_handler(store, node_id, metrics_dir, version), allow_head=False
    )
    add_readiness_route(app, ready)
    return app
