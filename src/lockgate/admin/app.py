"""The Admin API: Kong's, trimmed to what lockgate implements.

:func:`build_admin_app` serves the operations of
``shared/reference/kong-admin-api/openapi.yaml`` with Kong's status codes and
bodies: ``GET /``, ``GET /status``, the entity endpoints
(:mod:`lockgate.admin.routes_entities`), the schema endpoints tools read
(``/plugins/enabled``, ``/schemas/...``: :mod:`lockgate.admin.routes_schemas`)
and ``POST /config``
(:mod:`lockgate.admin.routes_config`, which also documents lockgate's
extensions: ``mode=apply``, ``dry_run=true``, ``GET /config``). Unknown paths
answer 404 ``{"message": "Not found"}``, a known path with another method 405
``{"message": "Method not allowed"}``.

On startup the app loads the newest configuration from the store; every
change is serialised and saved whole (:class:`~lockgate.admin.live_state.LiveState`).

Choices where Kong's answer does not fit lockgate:

- ``GET /`` answers ``version`` with the Kong version whose Admin API and
  plugins lockgate follows (tools such as decK compare it), and lockgate's own
  version as ``lockgate_version``. ``configuration.database`` is ``"sqlite"``
  for the embedded store: not ``"off"``, because tools read ``"off"`` as
  DB-less Kong, where the entity endpoints refuse writes, and lockgate keeps
  them.
- ``GET /status`` counts Admin API requests (``server``); the proxy workers'
  connections are not visible here. ``database.reachable`` is whether the
  store answered.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from lockgate import __version__
from lockgate.admin.dashboard import add_dashboard_routes
from lockgate.admin.live_state import LiveState
from lockgate.admin.responses import AdminError, config_error_response, json_response
from lockgate.admin.routes_budgets import add_budget_routes
from lockgate.admin.routes_config import add_config_routes
from lockgate.admin.routes_entities import add_entity_routes
from lockgate.admin.routes_groups import add_group_routes
from lockgate.admin.routes_metrics import add_metrics_route
from lockgate.admin.routes_schemas import add_schema_routes
from lockgate.admin.routes_usage import add_usage_routes
from lockgate.config.errors import ConfigError
from lockgate.plugins.registry import plugin_class, plugin_names, plugin_schemas
from lockgate.proxy.malformed import BODY_ERRORS, body_fault
from lockgate.store.base import ConfigStore
from lockgate.store.sqlite import SQLiteStore

__all__ = ["KONG_VERSION", "LIVE_STATE", "build_admin_app"]

log = logging.getLogger("lockgate.admin")

#: The Kong release whose Admin API and plugin schemas lockgate follows.
KONG_VERSION = "3.13.0"
#: Largest request body (declarative files with Lua code can be large).
MAX_BODY = 32 * 1024 * 1024
#: Keys of ``node_info`` that belong at the top of ``GET /`` rather than in ``configuration``.
_TOP_LEVEL = ("node_id", "hostname", "lua_version", "pids", "edition")


@dataclass
class RequestCounters:
    total: int = 0
    active: int = 0


LIVE_STATE = web.AppKey("lockgate_live_state", LiveState)
_COUNTERS = web.AppKey("lockgate_request_counters", RequestCounters)
_INFO = web.AppKey("lockgate_node_info", dict)


@web.middleware
async def _kong_answers(request: web.Request, handler: Any) -> web.StreamResponse:
    counters = request.app[_COUNTERS]
    counters.total += 1
    counters.active += 1
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except AdminError as exc:
        return exc.response()
    except ConfigError as exc:
        return config_error_response(exc)
    except web.HTTPNotFound:
        return json_response({"message": "Not found"}, 404)
    except web.HTTPMethodNotAllowed:
        return json_response({"message": "Method not allowed"}, 405)
    except web.HTTPRequestEntityTooLarge:
        return json_response({"message": "Payload too large"}, 413)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return json_response({"message": exc.reason}, exc.status)
    except BODY_ERRORS as exc:
        # The body could not be read: a Content-Encoding that lies, a short body.
        fault = body_fault(exc, request.headers.get("Content-Encoding", ""))
        return json_response({"message": f"Cannot read the request body: {fault}"}, 400)
    except Exception:
        log.exception("Admin API: %s %s failed", request.method, request.path)
        return json_response({"message": "An unexpected error occurred"}, 500)
    finally:
        counters.active -= 1


def _listeners(value: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in value:
        address, *flags = item.split()
        host, _, port = address.rpartition(":")
        out.append(
            {
                "ip": host.strip("[]") or "0.0.0.0",
                "port": int(port) if port.isdigit() else None,
                "ssl": "ssl" in flags,
                "http2": "http2" in flags,
                "listener": item,
            }
        )
    return out


def _configuration(store: ConfigStore, node_info: dict[str, Any]) -> dict[str, Any]:
    conf: dict[str, Any] = {
        "database": "sqlite" if isinstance(store, SQLiteStore) else "custom",
        "role": "traditional",
        "router_flavor": "traditional_compatible",
        "proxy_listen": ["0.0.0.0:8000"],
        "admin_listen": ["127.0.0.1:8001"],
    }
    for key, value in node_info.items():
        if key in _TOP_LEVEL:
            continue
        if key.endswith("_listen") and isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        conf[key] = value
    conf["proxy_listeners"] = _listeners(conf["proxy_listen"])
    conf["admin_listeners"] = _listeners(conf["admin_listen"])
    return conf


async def _info(request: web.Request) -> web.Response:
    app = request.app
    node_info: dict[str, Any] = app[_INFO]
    state = await app[LIVE_STATE].read()
    available: dict[str, Any] = {}
    for name in plugin_names():
        cls = plugin_class(name)
        if cls is not None:
            available[name] = {"version": cls.VERSION, "priority": cls.PRIORITY}
    body: dict[str, Any] = {
        "version": KONG_VERSION,
        "lockgate_version": __version__,
        "edition": "community",
        "tagline": "Welcome to lockgate",
        "hostname": socket.gethostname(),
        "node_id": node_info["node_id"],
        "pids": {"master": os.getpid()},
        "plugins": {
            "available_on_server": available,
            "enabled_in_cluster": sorted({p["name"] for p in state.entities["plugins"].values()}),
        },
        "configuration": _configuration(app[LIVE_STATE].store, node_info),
    }
    body.update({k: node_info[k] for k in _TOP_LEVEL if k in node_info})
    return json_response(body)


async def _status(request: web.Request) -> web.Response:
    counters = request.app[_COUNTERS]
    try:
        await request.app[LIVE_STATE].store.version()
        reachable = True
    except Exception:
        log.exception("Admin API: the configuration store does not answer")
        reachable = False
    return json_response(
        {
            "server": {
                "connections_accepted": counters.total,
                "connections_handled": counters.total,
                "connections_active": counters.active,
                "connections_reading": 0,
                "connections_writing": counters.active,
                "connections_waiting": 0,
                "total_requests": counters.total,
            },
            "database": {"reachable": reachable},
        }
    )


def build_admin_app(
    store: ConfigStore, *, node_info: dict[str, Any] | None = None
) -> web.Application:
    """The Admin API over ``store``.

    ``node_info`` describes the node for ``GET /``: its ``node_id``,
    ``hostname``, ``lua_version``, ``pids`` and ``edition`` replace the
    answer's own; every other key goes into ``configuration`` (``*_listen``
    strings are split into lists as Kong shows them, e.g.
    ``{"proxy_listen": "0.0.0.0:8000", "admin_listen": "127.0.0.1:8001"}``).
    """
    app = web.Application(middlewares=[_kong_answers], client_max_size=MAX_BODY)
    live = LiveState(store, plugin_schemas())
    info = dict(node_info or {})
    info.setdefault("node_id", str(uuid.uuid4()))
    app[LIVE_STATE] = live
    app[_COUNTERS] = RequestCounters()
    app[_INFO] = info

    async def load(_: web.Application) -> None:
        await live.load()

    app.on_startup.append(load)
    app.router.add_get("/", _info, allow_head=False)
    app.router.add_get("/status", _status, allow_head=False)
    add_schema_routes(app)
    add_entity_routes(app, live)
    add_group_routes(app, live)
    add_budget_routes(app, live, info.get("prefix"))
    add_config_routes(app, live)
    add_usage_routes(app, store)
    add_metrics_route(app, store, info, KONG_VERSION)
    add_dashboard_routes(app)
    return app
