"""The usage ledger's endpoints (lockgate's own; Kong has none):

- ``GET /ai/usage?from=&to=&group_by=consumer|model|provider|route|day|hour|minute[&consumer=]``:
  totals per group; ``from`` defaults to 7 days before ``to``, ``to`` to
  now, ``group_by`` to ``model``;
- ``GET /ai/requests?limit=&before=``: the newest rows (``limit`` 1 to
  1000, default 100), and ``next``, the ``before`` of the following page;
- ``GET /ai/requests/{request_id}``: one request's row (404 when unknown);
- ``GET /ai/summary?from=&to=``: the window's totals, error rate, and p50
  and p95 of latency and time to first token (the dashboard's figures).

Times: seconds since the epoch, ISO 8601, or an age such as ``7d``
(:mod:`lockgate.usage.queries`). A parameter that cannot be understood is
answered 400 in Kong's ``invalid options`` shape.
"""

from __future__ import annotations

from aiohttp import web

from lockgate.admin.responses import AdminError, invalid_options, json_response, not_found
from lockgate.store.base import ConfigStore
from lockgate.usage import UsageStorage, open_usage_storage
from lockgate.usage.queries import (
    BadQuery,
    recent_requests,
    request_detail,
    usage_summary,
    usage_totals,
)

__all__ = ["add_usage_routes"]


def add_usage_routes(app: web.Application, store: ConfigStore) -> None:
    opened: list[UsageStorage] = []

    def storage() -> UsageStorage:
        # Opened on first use: the ledger's table is created by whoever comes first.
        if not opened:
            try:
                opened.append(open_usage_storage(store))
            except NotImplementedError as exc:
                raise AdminError(501, {"message": str(exc)}) from exc
        return opened[0]

    def params(request: web.Request) -> dict[str, str]:
        return {k: v for k, v in request.query.items()}

    async def usage(request: web.Request) -> web.Response:
        try:
            return json_response(await usage_totals(storage(), params(request)))
        except BadQuery as exc:
            option, _, message = str(exc).partition(": ")
            raise invalid_options(option, message) from exc

    async def requests(request: web.Request) -> web.Response:
        try:
            return json_response(await recent_requests(storage(), params(request)))
        except BadQuery as exc:
            option, _, message = str(exc).partition(": ")
            raise invalid_options(option, message) from exc

    async def summary(request: web.Request) -> web.Response:
        try:
            return json_response(await usage_summary(storage(), params(request)))
        except BadQuery as exc:
            option, _, message = str(exc).partition(": ")
            raise invalid_options(option, message) from exc

    async def one(request: web.Request) -> web.Response:
        row = await request_detail(storage(), request.match_info["request_id"])
        if row is None:
            raise not_found()
        return json_response(row)

    async def close(_: web.Application) -> None:
        for item in opened:
            await item.close()

    app.on_cleanup.append(close)
    app.router.add_get("/ai/usage", usage, allow_head=False)
    app.router.add_get("/ai/requests", requests, allow_head=False)
    app.router.add_get("/ai/requests/{request_id}", one, allow_head=False)
    app.router.add_get("/ai/summary", summary, allow_head=False)
