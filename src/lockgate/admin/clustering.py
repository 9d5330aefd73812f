"""``GET /clustering/data-planes`` on a control plane, in Kong's shape:
``{"data": [{"id", "hostname", "ip", "last_seen", "config_hash", "version",
"sync_status"}], "next": null}``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from lockgate.admin.responses import json_response

__all__ = ["add_clustering_routes"]


def add_clustering_routes(
    app: web.Application, data_planes: Callable[[], list[dict[str, Any]]]
) -> None:
    async def listing(_: web.Request) -> web.Response:
        return json_response({"data": data_planes(), "next": None})

    app.router.add_get("/clustering/data-planes", listing, allow_head=False)
