"""``GET /status/ready``: Kong's readiness probe for a load balancer.

200 ``{"message": "ready"}`` only when every proxy worker of this node
listens and holds a configuration; 503 with the reason before then (while
the node starts, while a dead worker is being replaced, or while a worker
waits for the store to give it its first configuration). A node that keeps
serving its last configuration during a database outage stays ready.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from lockgate.admin.responses import json_response

__all__ = ["add_readiness_route"]


def add_readiness_route(app: web.Application, not_ready: Callable[[], str | None]) -> None:
    """``not_ready()`` returns why the node is not ready, or None when it is."""

    async def ready(_: web.Request) -> web.Response:
        reason = not_ready()
        if reason is not None:
            return json_response({"message": reason}, 503)
        return json_response({"message": "ready"})

    app.router.add_get("/status/ready", ready, allow_head=True)
