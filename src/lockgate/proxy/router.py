"""Kong's route matching, compiled once per configuration.

A route matches when every condition it sets matches (methods, hosts,
headers, paths); among matching routes the most specific wins, in the order
Kong's ``traditional_compatible`` router uses: more conditions first, then
more header conditions, then higher ``regex_priority``, then plain paths
before regex paths, then the longest path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from multidict import CIMultiDictProxy

__all__ = ["Match", "Router"]


@dataclass(slots=True)
class Match:
    route: dict[str, Any]
    service: dict[str, Any] | None
    #: The part of the path the route matched, removed when ``strip_path`` is set.
    matched_prefix: str


class _CompiledRoute:
    __slots__ = (
        "exact_hosts",
        "headers",
        "methods",
        "plain_paths",
        "priority",
        "regex_paths",
        "route",
        "service",
        "wildcard_hosts",
    )

    def __init__(self, route: dict[str, Any], service: dict[str, Any] | None) -> None:
        self.route = route
        self.service = service
        self.methods = frozenset(route.get("methods") or ())
        hosts = route.get("hosts") or ()
        self.exact_hosts = frozenset(h.lower() for h in hosts if "*" not in h)
        self.wildcard_hosts = tuple(
            re.compile("^" + re.escape(h.lower()).replace(r"\*", r"[^.]+") + "$")
            for h in hosts
            if "*" in h
        )
        self.headers = tuple(
            (name.lower(), frozenset(v.lower() for v in values))
            for name, values in (route.get("headers") or {}).items()
        )
        paths = route.get("paths") or ()
        self.plain_paths = tuple(
            sorted((p for p in paths if not p.startswith("~")), key=len, reverse=True)
        )
        self.regex_paths = tuple(re.compile(p[1:]) for p in paths if p.startswith("~"))
        conditions = sum(1 for c in (self.methods, hosts, self.headers, paths) if c)
        longest = max((len(p) for p in paths), default=0)
        plain = 1 if self.plain_paths and not self.regex_paths else 0
        self.priority = (
            conditions,
            len(self.headers),
            route.get("regex_priority") or 0,
            plain,
            longest,
        )

    def match(
        self, method: str, host: str, path: str, headers: CIMultiDictProxy[str]
    ) -> str | None:
        if self.methods and method not in self.methods:
            return None
        if self.exact_hosts or self.wildcard_hosts:
            h = host.rsplit(":", 1)[0].lower() if not host.startswith("[") else host.lower()
            if h not in self.exact_hosts and not any(r.match(h) for r in self.wildcard_hosts):
                return None
        for name, values in self.headers:
            got = headers.getall(name, ())
            if not any(v.lower() in values for v in got):
                return None
        if not self.plain_paths and not self.regex_paths:
            return ""
        for prefix in self.plain_paths:
            if path.startswith(prefix):
                return prefix
        for regex in self.regex_paths:
            m = regex.match(path)
            if m:
                return m.group(0)
        return None


class Router:
    def __init__(self, routes: list[dict[str, Any]], services: dict[str, dict[str, Any]]) -> None:
        compiled = []
        for route in routes:
            if not ({"http", "https"} & set(route.get("protocols") or ())):
                continue
            service_ref = route.get("service")
            service = services.get(service_ref["id"]) if service_ref else None
            if service is not None and not service.get("enabled", True):
                continue
            compiled.append(_CompiledRoute(route, service))
        compiled.sort(key=lambda c: c.priority, reverse=True)
        self._routes = tuple(compiled)

    def match(
        self, method: str, host: str, path: str, headers: CIMultiDictProxy[str]
    ) -> Match | None:
        for compiled in self._routes:
            prefix = compiled.match(method, host, path, headers)
            if prefix is not None:
                return Match(compiled.route, compiled.service, prefix)
        return None


def upstream_path(match: Match, request_path: str, service_path: str | None) -> str:
    """The path sent upstream: service path joined with the (stripped) request path (Kong's v0 handling)."""
    rest = request_path
    if match.route.get("strip_path", True) and match.matched_prefix:
        rest = request_path[len(match.matched_prefix) :]
    base = service_path or ""
    if not base:
        return rest if rest.startswith("/") else "/" + rest
    if not rest:
        return base
    if base.endswith("/") and rest.startswith("/"):
        return base + rest[1:]
    if not base.endswith("/") and not rest.startswith("/"):
        return base + "/" + rest
    return base + rest
