"""``GET /metrics``: the node's Prometheus metrics (the prometheus plugin's
families summed over the proxy workers, and the node gauges), served by the
Admin API and by the status listener alike."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from lockgate.plugins.prometheus.exposition import (
    CONTENT_TYPE,
    NodeGauge,
    metrics_dir,
    render_metrics,
)
from lockgate.store.base import ConfigStore

__all__ = ["add_metrics_route", "metrics_handler"]

log = logging.getLogger("lockgate.admin")


def metrics_handler(
    store: ConfigStore, node_id: str, directory: str | None, version: str
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """``directory``: the workers' value files (None: node gauges only);
    ``version``: the Kong version ``kong_node_info`` reports."""

    async def metrics(_: web.Request) -> web.Response:
        try:
            await store.version()
            reachable = 1.0
        except Exception:
            log.exception("metrics: the configuration store does not answer")
            reachable = 0.0
        gauges: list[NodeGauge] = [
            (
                "kong_datastore_reachable",
                "Datastore reachable from Kong, 0 is unreachable",
                [({}, reachable)],
            ),
            (
                "kong_node_info",
                "Kong Node metadata information",
                [({"node_id": node_id, "version": version}, 1.0)],
            ),
        ]
        text = render_metrics(directory, gauges)
        return web.Response(body=text.encode(), headers={"Content-Type": CONTENT_TYPE})

    return metrics


def add_metrics_route(
    app: web.Application, store: ConfigStore, node_info: dict[str, Any], version: str
) -> None:
    """``GET /metrics`` on the Admin API, reading the values of the node in
    ``node_info["prefix"]`` (without a prefix: the node gauges only)."""
    prefix = node_info.get("prefix")
    handler = metrics_handler(
        store, str(node_info["node_id"]), metrics_dir(prefix) if prefix else None, version
    )
    app.router.add_get("/metrics", handler, allow_head=False)
