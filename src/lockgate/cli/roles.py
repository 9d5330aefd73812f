"""What differs between a node's roles (Kong's names): ``traditional``
(store, Admin API, proxy), ``control_plane`` (store, Admin API, cluster
listener, no proxy) and ``data_plane`` (proxy fed by its control plane, with
the local SQLite store as its cache and only a status listener)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lockgate.cli.process import Settings

__all__ = ["NodeRole", "cluster_problem"]


def cluster_problem(settings: Settings) -> str | None:
    """Why a hybrid-mode node cannot start, or None."""
    if settings.role == "traditional":
        return None
    if settings.role == "data_plane" and not settings.cluster_control_plane:
        return "a data plane needs --cluster-control-plane HOST:PORT"
    if settings.role == "data_plane" and settings.store:
        return "a data plane has no store: its control plane sends the configuration (drop --store)"
    if not settings.cluster_cert or not settings.cluster_cert_key:
        return (
            f"a {settings.role.replace('_', ' ')} needs --cluster-cert and --cluster-cert-key "
            "(make a pair with `lockgate cluster gen-cert`)"
        )
    import ssl

    from lockgate.cluster.certs import server_context

    try:
        server_context(settings.cluster_cert, settings.cluster_cert_key)
    except (OSError, ssl.SSLError) as exc:
        return f"cannot use the cluster certificate {settings.cluster_cert}: {exc}"
    return None


class NodeRole:
    """What differs between the roles: the store, the HTTP app, the cluster link."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._tasks: list[asyncio.Task[None]] = []
        self._closers: list[Any] = []

    @property
    def worker_store_url(self) -> str:
        if self.settings.role == "data_plane":
            # The data plane's cache of what its control plane sent; workers follow it.
            from lockgate.store import default_store_url

            return default_store_url(self.settings.prefix)
        return self.settings.store_url

    def open_store(self) -> Any:
        from lockgate.store import open_store

        return open_store(self.worker_store_url)

    async def build_app(self, store: Any, not_ready: Any) -> Any:
        from lockgate import __version__
        from lockgate.admin.readiness import add_readiness_route, build_status_app
        from lockgate.cli.process import split_listen

        settings = self.settings
        if settings.role == "data_plane":
            from lockgate.cluster.certs import client_context
            from lockgate.cluster.data_plane import DataPlaneLink, node_id

            link = DataPlaneLink(
                store,
                split_listen(settings.cluster_control_plane),
                client_context(settings.cluster_cert, settings.cluster_cert_key),
                node=node_id(settings.prefix),
                version=__version__,
            )
            self._tasks.append(asyncio.create_task(link.run()))
            return build_status_app(not_ready)
        from lockgate.admin.app import build_admin_app
        from lockgate.store import parse_store_url

        node_info: dict[str, Any] = {
            "proxy_listen": settings.proxy_listen,
            "admin_listen": settings.admin_listen,
            "workers": settings.workers,
            "prefix": settings.prefix,
            "role": settings.role,
            **parse_store_url(settings.store_url).kong_fields(),
        }
        if settings.role == "control_plane":
            node_info["workers"] = 0
            node_info["cluster_listen"] = settings.cluster_listen
        app = build_admin_app(store, node_info=node_info)
        add_readiness_route(app, not_ready)
        if settings.role == "control_plane":
            from lockgate.admin.clustering import add_clustering_routes
            from lockgate.cluster.certs import server_context
            from lockgate.cluster.control_plane import ControlPlane

            plane = ControlPlane(
                store, server_context(settings.cluster_cert, settings.cluster_cert_key)
            )
            await plane.start(*split_listen(settings.cluster_listen))
            self._closers.append(plane.close)
            add_clustering_routes(app, plane.list)
        return app

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for close in self._closers:
            await close()
