"""decK files: reading, ``${{ env "DECK_X" }}`` substitution, flattening.

A decK file nests entities (routes and plugins under services, credentials
under consumers). :func:`load_files` turns one or more files into flat lists
per kind, each item carrying ``_path``, its location in the file
(``services[0].routes[1]``), so that every error can name file, entity and
field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import yaml

from lockgate.config.yaml_core import load_yaml

__all__ = ["TOP_LEVEL_KINDS", "DeclarativeError", "load_files", "parse_document", "substitute_env"]

_ENV_RE = re.compile(r"\$\{\{\s*env\s+\"([^\"]*)\"\s*\}\}")
_TOKEN = "__lockgate_env_{}__"
_TOKEN_RE = re.compile(r"__lockgate_env_(\d+)__")
_TOP_LEVEL = {
    "_format_version",
    "_transform",
    "_info",
    "_workspace",
    "_konnect",
    "services",
    "routes",
    "plugins",
    "consumers",
    "consumer_groups",
    "upstreams",
    "certificates",
    "ca_certificates",
    "vaults",
}
#: The top-level lists of a decK file that lockgate takes, in file order.
TOP_LEVEL_KINDS = ("services", "routes", "consumers", "consumer_groups", "plugins")
_SUPPORTED = set(TOP_LEVEL_KINDS)


class DeclarativeError(Exception):
    """An error in a declarative file; ``str()`` names the file and the path."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.message = message


def substitute_env(text: str, env: Mapping[str, str], source: str) -> tuple[str, list[str]]:
    """Replace each placeholder by a token; return the text and the values by token index.

    Substituting after parsing (token -> value in the parsed strings) keeps
    values exact whatever YAML-special characters they hold: a whole
    service-account JSON inside a double-quoted scalar survives unchanged.
    """
    values: list[str] = []

    def repl(match: re.Match[str]) -> str:
        name = match.group(1)
        if not name.startswith("DECK_"):
            raise DeclarativeError(
                source,
                f"environment variable '{name}' is not allowed: only variables prefixed with 'DECK_' can be used",
            )
        if name not in env:
            raise DeclarativeError(source, f"environment variable '{name}' is not set")
        values.append(env[name])
        return _TOKEN.format(len(values) - 1)

    return _ENV_RE.sub(repl, text), values


def _restore(node: Any, values: list[str]) -> Any:
    if isinstance(node, str):
        if "__lockgate_env_" not in node:
            return node
        return _TOKEN_RE.sub(lambda m: values[int(m.group(1))], node)
    if isinstance(node, list):
        return [_restore(x, values) for x in node]
    if isinstance(node, dict):
        return {k: _restore(v, values) for k, v in node.items()}
    return node


def parse_document(text: str, source: str, env: Mapping[str, str]) -> dict[str, Any]:
    """Parse one file (YAML or JSON) with env substitution; check its top level."""
    substituted, values = substitute_env(text, env, source)
    try:
        if substituted.lstrip().startswith("{"):
            data = json.loads(substituted)
        else:
            data = load_yaml(substituted)
    except json.JSONDecodeError as exc:
        raise DeclarativeError(
            source, f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DeclarativeError(source, f"invalid YAML: {problem}{where}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise DeclarativeError(source, "expected a mapping at the top level of the file")
    data = _restore(data, values)
    version = data.get("_format_version")
    if version is None:
        raise DeclarativeError(source, '_format_version: required field missing (expected "3.0")')
    if str(version) not in ("1.1", "2.1", "3.0"):
        raise DeclarativeError(
            source, f"_format_version: unsupported version '{version}' (expected \"3.0\")"
        )
    for key in data:
        if key not in _TOP_LEVEL:
            raise DeclarativeError(source, f"{key}: unknown field")
        if key not in _SUPPORTED and not key.startswith("_") and data[key]:
            raise DeclarativeError(
                source, f"{key}: entities of this kind are not supported by lockgate yet"
            )
    return data


def _list(data: Mapping[str, Any], key: str, path: str, source: str) -> list[dict[str, Any]]:
    items = data.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        raise DeclarativeError(source, f"{path}{key}: expected an array")
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise DeclarativeError(source, f"{path}{key}[{i}]: expected a record")
    return items


_UUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def _named_refs(item: dict[str, Any]) -> dict[str, Any]:
    """Kong's declarative files let a reference be a bare name or id
    (``route: my-route``); every later step expects a record."""
    for field in ("service", "route", "consumer"):
        value = item.get(field)
        if isinstance(value, str):
            key = "id" if _UUID.match(value) else ("username" if field == "consumer" else "name")
            item[field] = {key: value}
    return item


def flatten(data: dict[str, Any], source: str) -> dict[str, list[dict[str, Any]]]:
    """Nested decK entities -> flat lists per kind, with ``_path`` and references."""
    out: dict[str, list[dict[str, Any]]] = {
        "services": [],
        "routes": [],
        "consumers": [],
        "consumer_groups": [],
        "consumer_group_consumers": [],
        "plugins": [],
        "keyauth_credentials": [],
    }

    def plugins(parent: dict[str, Any], path: str, scope: dict[str, Any]) -> None:
        for i, plugin in enumerate(_list(parent, "plugins", path, source)):
            item = {**plugin, **scope, "_path": f"{source}: {path}plugins[{i}]"}
            out["plugins"].append(_named_refs(item))

    def ref(entity: dict[str, Any], field: str) -> dict[str, Any]:
        if entity.get("id"):
            return {"id": entity["id"]}
        return (
            {"username": entity["username"]}
            if field == "consumer" and entity.get("username")
            else {"name": entity.get("name")}
        )

    for i, service in enumerate(_list(data, "services", "", source)):
        path = f"services[{i}]."
        item = {k: v for k, v in service.items() if k not in ("routes", "plugins")}
        out["services"].append({**item, "_path": f"{source}: services[{i}]"})
        for j, route in enumerate(_list(service, "routes", path, source)):
            rpath = f"{path}routes[{j}]."
            ritem = {k: v for k, v in route.items() if k != "plugins"}
            ritem["service"] = ref(service, "service")
            out["routes"].append({**ritem, "_path": f"{source}: {path}routes[{j}]"})
            plugins(route, rpath, {"route": ref(route, "route")})
        plugins(service, path, {"service": ref(service, "service")})
    for i, route in enumerate(_list(data, "routes", "", source)):
        item = {k: v for k, v in route.items() if k != "plugins"}
        out["routes"].append(_named_refs({**item, "_path": f"{source}: routes[{i}]"}))
        plugins(route, f"routes[{i}].", {"route": ref(route, "route")})
    for i, consumer in enumerate(_list(data, "consumers", "", source)):
        path = f"consumers[{i}]."
        item = {
            k: v
            for k, v in consumer.items()
            if k not in ("plugins", "keyauth_credentials", "groups")
        }
        out["consumers"].append({**item, "_path": f"{source}: consumers[{i}]"})
        for j, group in enumerate(_list(consumer, "groups", path, source)):
            out["consumer_group_consumers"].append(
                {
                    "consumer_group": ref(group, "consumer_group"),
                    "consumer": ref(consumer, "consumer"),
                    "_path": f"{source}: {path}groups[{j}]",
                }
            )
        for j, cred in enumerate(_list(consumer, "keyauth_credentials", path, source)):
            out["keyauth_credentials"].append(
                {
                    **cred,
                    "consumer": ref(consumer, "consumer"),
                    "_path": f"{source}: {path}keyauth_credentials[{j}]",
                }
            )
        plugins(consumer, path, {"consumer": ref(consumer, "consumer")})
    for i, group in enumerate(_list(data, "consumer_groups", "", source)):
        path = f"consumer_groups[{i}]."
        item = {k: v for k, v in group.items() if k not in ("plugins", "consumers")}
        out["consumer_groups"].append({**item, "_path": f"{source}: consumer_groups[{i}]"})
        for j, member in enumerate(_list(group, "consumers", path, source)):
            out["consumer_group_consumers"].append(
                {
                    "consumer_group": ref(group, "consumer_group"),
                    "consumer": ref(member, "consumer"),
                    "_path": f"{source}: {path}consumers[{j}]",
                }
            )
        plugins(group, path, {"consumer_group": ref(group, "consumer_group")})
    plugins(data, "", {})
    return out


def load_files(
    sources: list[tuple[str, str]], env: Mapping[str, str]
) -> dict[str, list[dict[str, Any]]]:
    """Several ``(name, text)`` files -> one flat declarative configuration."""
    merged: dict[str, list[dict[str, Any]]] = {}
    for name, text in sources:
        flat = flatten(parse_document(text, name, env), name)
        for kind, items in flat.items():
            merged.setdefault(kind, []).extend(items)
    return merged
