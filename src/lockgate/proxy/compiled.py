"""A configuration version turned into what the hot path needs: the router,
one handler object per plugin, and plugin chains per (route, service,
consumer), so no request repeats work that the configuration fixes."""

from __future__ import annotations

from typing import Any

from lockgate.config.state import GatewayState
from lockgate.proxy.plugin import PluginHandler
from lockgate.proxy.router import Router
from lockgate.proxy.worker_env import WorkerEnv

__all__ = ["Chain", "CompiledConfig"]

# Kong's precedence, higher wins, by which of (consumer, consumer group, route, service) a
# plugin names: consumer+route+service, group+route+service, consumer+route,
# consumer+service, group+route, group+service, route+service, consumer, group,
# route, service, global.
_SPECIFICITY = {
    (True, False, True, True): 12,
    (False, True, True, True): 11,
    (True, False, True, False): 10,
    (True, False, False, True): 9,
    (False, True, True, False): 8,
    (False, True, False, True): 7,
    (False, False, True, True): 6,
    (True, False, False, False): 5,
    (False, True, False, False): 4,
    (False, False, True, False): 3,
    (False, False, False, True): 2,
    (False, False, False, False): 1,
}


class Chain:
    """The plugins that run for one (route, service, consumer), by phase, in priority order."""

    __slots__ = (
        "access",
        "all",
        "body_filter",
        "consumer_scoped",
        "header_filter",
        "log",
        "needs_body",
        "rewrite",
    )

    def __init__(self, handlers: list[PluginHandler], consumer_scoped: bool) -> None:
        handlers = sorted(handlers, key=lambda h: h.PRIORITY, reverse=True)
        self.all = handlers
        self.needs_body = any(h.needs_body for h in handlers)
        self.consumer_scoped = consumer_scoped

        def of(phase: str) -> tuple[PluginHandler, ...]:
            return tuple(h for h in handlers if h.implements(phase))

        self.rewrite = of("rewrite")
        self.access = of("access")
        self.header_filter = of("header_filter")
        self.body_filter = of("body_filter")
        self.log = of("log")


class CompiledConfig:
    def __init__(self, state: GatewayState, version: int, env: WorkerEnv) -> None:
        self.version = version
        self.state = state
        services = state.entities["services"]
        self.router = Router(state.all("routes"), services)
        self.handlers: list[PluginHandler] = []
        self.failed: list[str] = []
        for entity in state.all("plugins"):
            if not entity.get("enabled", True):
                continue
            cls = env.plugins.get(entity["name"])
            if cls is None:
                self.failed.append(entity["name"])
                continue
            config = cls.Config.model_validate(entity.get("config") or {})
            self.handlers.append(cls(entity, config, env))
        self.has_consumer_plugins = any(
            h.entity.get("consumer") or h.entity.get("consumer_group") for h in self.handlers
        )
        self.consumers = state.entities["consumers"]
        #: Each consumer's groups, by name (a consumer in several groups: the first name wins
        #: between group-scoped plugins of the same name).
        self.groups_of: dict[str, list[str]] = {
            cid: [g["id"] for g in state.groups_of(cid)] for cid in self.consumers
        }
        self.keyauth_by_key = {c["key"]: c for c in state.entities["keyauth_credentials"].values()}
        self._chains: dict[tuple[str | None, str | None, str | None], Chain] = {}

    def chain(
        self, route_id: str | None, service_id: str | None, consumer_id: str | None = None
    ) -> Chain:
        key = (route_id, service_id, consumer_id)
        chain = self._chains.get(key)
        if chain is None:
            chain = self._chains[key] = self._build(route_id, service_id, consumer_id)
        return chain

    def _build(
        self, route_id: str | None, service_id: str | None, consumer_id: str | None
    ) -> Chain:
        best: dict[tuple[str, str | None], tuple[int, int, PluginHandler]] = {}
        consumer_scoped = False
        groups = self.groups_of.get(consumer_id or "", [])
        for handler in self.handlers:
            e = handler.entity
            refs = {
                f: (e.get(f) or {}).get("id")
                for f in ("consumer", "consumer_group", "route", "service")
            }
            if refs["route"] and refs["route"] != route_id:
                continue
            if refs["service"] and refs["service"] != service_id:
                continue
            if refs["consumer"]:
                consumer_scoped = True
                if refs["consumer"] != consumer_id:
                    continue
            rank = 0
            if refs["consumer_group"]:
                consumer_scoped = True
                if refs["consumer_group"] not in groups:
                    continue
                rank = groups.index(refs["consumer_group"])
            score = _SPECIFICITY[
                (
                    bool(refs["consumer"]),
                    bool(refs["consumer_group"]),
                    bool(refs["route"]),
                    bool(refs["service"]),
                )
            ]
            key = (e["name"], None)
            current = best.get(key)
            if current is None or (score, -rank) > (current[0], -current[1]):
                best[key] = (score, rank, handler)
        return Chain([h for _, _, h in best.values()], consumer_scoped)

    async def close(self) -> None:
        for handler in self.handlers:
            await handler.close()

    def describe(self) -> dict[str, Any]:
        return {"version": self.version, "plugins": len(self.handlers), **self.state.counts()}
