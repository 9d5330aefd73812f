"""The dashboard: a page served by the Admin API at ``/dashboard/``.

Static files only (``static/``): the page reads the Admin API's own
endpoints (``/ai/summary``, ``/ai/usage``, ``/ai/requests``, ``/services``,
``/routes``, ``/plugins``), so it shows nothing the API does not also
offer. Charts use uPlot 1.6.32 (MIT, ``static/uPlot-LICENSE.txt``), shipped
with the package: the page loads nothing from the internet.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

__all__ = ["STATIC", "add_dashboard_routes"]

STATIC = Path(__file__).resolve().parent / "static"


def add_dashboard_routes(app: web.Application) -> None:
    async def index(_: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    async def to_index(_: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently("/dashboard/")

    app.router.add_get("/dashboard", to_index, allow_head=False)
    app.router.add_get("/dashboard/", index, allow_head=False)
    app.router.add_static("/dashboard/static/", STATIC, append_version=False)
