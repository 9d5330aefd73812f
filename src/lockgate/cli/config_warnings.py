"""Accepted configurations that will surprise their author.

Both checks read a whole configuration as ``lockgate gateway dump`` writes it
(top-level lists, references by name or id), so ``apply``/``sync`` can run
them on the gateway's configuration after a change, and ``start`` on the
stored one:

- two AI proxy plugins (``ai-proxy`` and ``ai-proxy-advanced``) that would
  both run for the same request: only one answers, which is how a plugin
  left over from an earlier tutorial answers the next tutorial's requests;
- a route whose AI proxy injects a provider credential, with no
  authentication plugin, while the proxy listens beyond loopback: anyone who
  reaches the port spends the provider key (Kong's quickstart does the same).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

__all__ = ["AUTH_PLUGINS", "config_warnings", "is_loopback"]

AI_PROXIES = ("ai-proxy", "ai-proxy-advanced")
#: Kong's plugins that authenticate a caller.
AUTH_PLUGINS = (
    "key-auth",
    "key-auth-enc",
    "basic-auth",
    "hmac-auth",
    "jwt",
    "oauth2",
    "openid-connect",
    "ldap-auth",
    "ldap-auth-advanced",
    "mtls-auth",
)
#: Auth fields whose presence means the plugin sends a credential upstream.
_CREDENTIALS = (
    "header_value",
    "param_value",
    "gcp_service_account_json",
    "aws_access_key_id",
    "azure_client_secret",
)
_SCOPE_RANK = {"route": 2, "service": 1, "global": 0}


def is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _key(ref: Any) -> str | None:
    if isinstance(ref, str):
        return ref
    if isinstance(ref, dict):
        value = ref.get("name") or ref.get("username") or ref.get("id")
        return str(value) if value else None
    return None


def _route_key(route: dict[str, Any]) -> str:
    return str(route.get("name") or route.get("id"))


def _label(plugin: dict[str, Any]) -> str:
    for field in ("route", "service"):
        key = _key(plugin.get(field))
        if key:
            return f"{plugin.get('name')} for {field} {key}"
    return f"{plugin.get('name')} (global)"


def _scope(plugin: dict[str, Any]) -> tuple[str, str | None]:
    for field in ("route", "service"):
        key = _key(plugin.get(field))
        if key:
            return field, key
    return "global", None


def _effective(
    plugins: list[dict[str, Any]], route: dict[str, Any] | None
) -> dict[str, dict[str, Any]]:
    """Plugin name -> the instance that runs for anonymous requests on ``route``
    (None: a route that does not exist yet, so only global plugins count).
    Kong's precedence: route, then service, then global; consumer-scoped
    plugins never run for an unidentified caller."""
    service = _key(route.get("service")) if route else None
    chosen: dict[str, tuple[int, dict[str, Any]]] = {}
    for plugin in plugins:
        if plugin.get("enabled") is False or plugin.get("consumer"):
            continue
        where, key = _scope(plugin)
        if where == "route" and (route is None or key not in (route.get("name"), route.get("id"))):
            continue
        if where == "service" and (service is None or key != service):
            continue
        rank = _SCOPE_RANK[where]
        name = str(plugin.get("name"))
        if name not in chosen or chosen[name][0] < rank:
            chosen[name] = (rank, plugin)
    return {name: plugin for name, (_, plugin) in chosen.items()}


def _injected(plugin: dict[str, Any]) -> str | None:
    """The config path of the first credential an AI proxy plugin injects."""
    config = plugin.get("config") or {}
    if not isinstance(config, dict):
        return None
    if plugin.get("name") == "ai-proxy":
        places = [("config.auth", config.get("auth"))]
    else:
        places = [
            (f"config.targets[{i}].auth", target.get("auth"))
            for i, target in enumerate(config.get("targets") or [])
            if isinstance(target, dict)
        ]
    for path, auth in places:
        if not isinstance(auth, dict):
            continue
        for field in _CREDENTIALS:
            if auth.get(field):
                return f"{path}.{field}"
        if auth.get("gcp_use_service_account") or auth.get("azure_use_managed_identity"):
            return f"{path}.gcp_use_service_account"
    return None


def config_warnings(document: dict[str, Any], proxy_hosts: Iterable[str]) -> list[str]:
    """Warning lines for a configuration (``document`` as ``dump`` writes it)
    served on ``proxy_hosts`` (the proxy's listen addresses)."""
    plugins = [p for p in document.get("plugins") or [] if isinstance(p, dict)]
    routes = [r for r in document.get("routes") or [] if isinstance(r, dict)]
    exposed = sorted({h for h in proxy_hosts if not is_loopback(h)})
    out: list[str] = []
    targets: list[dict[str, Any] | None] = [*routes] if routes else [None]
    for route in targets:
        where = f"route {_route_key(route)}" if route else "every route"
        effective = _effective(plugins, route)
        proxies = [effective[name] for name in AI_PROXIES if name in effective]
        if len(proxies) > 1:
            out.append(
                f"{where} is served by two AI proxy plugins, "
                + " and ".join(_label(p) for p in proxies)
                + ": a request gets only one of them. Remove the one left over "
                "(`lockgate gateway reset --force` empties the gateway; "
                "`lockgate gateway sync` keeps only what its files name)."
            )
        if route is None or not exposed or any(name in effective for name in AUTH_PLUGINS):
            continue
        for proxy in proxies:
            field = _injected(proxy)
            if field:
                out.append(
                    f"{where} injects the provider credential of {_label(proxy)} "
                    f"({field}) for any caller: it has no authentication plugin "
                    f"({', '.join(AUTH_PLUGINS[:3])}, ...) and the proxy listens on "
                    f"{', '.join(exposed)}. Add key-auth to the route, or listen on "
                    "loopback only (lockgate start --proxy-listen 127.0.0.1:8000)."
                )
                break
    return out
