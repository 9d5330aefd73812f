"""Whole-file checks of a declarative configuration, and Kong's code-14 answer.

:meth:`GatewayState.apply` stops at the first bad entity. Before it runs,
:func:`check_declarative` validates every entity on its own (schema and
plugin config), finds duplicates inside the file and references that name
nothing, so that one answer (or one CLI run) lists every error, each keyed by
the entity's path in the file (``services[0].routes[1]``) with Kong's nested
``fields`` under it. The Admin API (``POST /config``) and the CLI
(``lockgate gateway validate|apply|sync|diff``) share it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from lockgate.config.declarative import DeclarativeError
from lockgate.config.entities import is_uuid, validate_entity
from lockgate.config.errors import ConfigError
from lockgate.config.secrets import MASK, is_secret_field
from lockgate.config.state import KINDS, GatewayState
from lockgate.plugins import registry

__all__ = [
    "ENTITY_TYPES",
    "check_declarative",
    "declarative_error_body",
    "flat_lines",
    "parse_error_body",
]

#: decK's singular names, as its output prints them.
ENTITY_TYPES = {
    "services": "service",
    "routes": "route",
    "consumers": "consumer",
    "plugins": "plugin",
    "keyauth_credentials": "key-auth",
    "consumer_groups": "consumer-group",
    "consumer_group_consumers": "consumer-group-consumer",
}
_REFS: dict[str, tuple[tuple[str, str], ...]] = {
    "routes": (("service", "services"),),
    "plugins": (
        ("service", "services"),
        ("route", "routes"),
        ("consumer", "consumers"),
        ("consumer_group", "consumer_groups"),
    ),
    "keyauth_credentials": (("consumer", "consumers"),),
    "consumer_group_consumers": (("consumer_group", "consumer_groups"), ("consumer", "consumers")),
}
_UNIQUE: dict[str, tuple[str, ...]] = {
    "services": ("id", "name"),
    "routes": ("id", "name"),
    "consumers": ("id", "username", "custom_id"),
    "plugins": ("id", "instance_name"),
    "keyauth_credentials": ("id", "key"),
    "consumer_groups": ("id", "name"),
    "consumer_group_consumers": (),
}
_KEYS = {
    "services": ("id", "name"),
    "routes": ("id", "name"),
    "consumers": ("id", "username", "custom_id"),
    "consumer_groups": ("id", "name"),
}


def _path(item: dict[str, Any], kind: str, index: int) -> str:
    return str(item.get("_path") or f"{kind}[{index}]")


def _add(errors: dict[str, Any], path: str, fields: dict[str, Any]) -> None:
    node = errors.setdefault(path, {})
    for key, value in fields.items():
        if isinstance(value, dict) and isinstance(node.get(key), dict):
            _add(node, key, value)
        elif key == "@entity" and key in node:
            node[key] = [*node[key], *(value if isinstance(value, list) else [value])]
        else:
            node.setdefault(key, value)


def _error_fields(exc: ConfigError) -> dict[str, Any]:
    return exc.fields or {"@entity": [exc.message]}


def _ref_key(ref: Any) -> str | None:
    if isinstance(ref, str):
        return ref
    if not isinstance(ref, dict):
        return None
    key = ref.get("id") or ref.get("name") or ref.get("username")
    return key if isinstance(key, str) else None


def _hashable(value: Any) -> Any:
    # An invalid file may hold a list or a record where a name belongs.
    return value if value is None or isinstance(value, str | int | float) else repr(value)


def _plugin_scope(item: dict[str, Any]) -> tuple[Any, ...]:
    return (
        _hashable(item.get("name")),
        _hashable(item.get("instance_name")),
        *(
            _ref_key(item.get(field))
            for field in ("service", "route", "consumer", "consumer_group")
        ),
    )


def check_declarative(
    decl: dict[str, list[dict[str, Any]]],
    *,
    existing: GatewayState | None = None,
    check_refs: bool = True,
) -> dict[str, Any]:
    """Every error in a flat declarative configuration, ``{path: fields}``.

    References must name an entity of the file, or of ``existing`` when given
    (``apply`` on a gateway that already holds entities); ``check_refs=False``
    skips them (a local check before ``apply``, where only the server knows).
    """
    errors: dict[str, Any] = {}
    defined: dict[str, set[str]] = {kind: set() for kind in _KEYS}
    seen: dict[tuple[Any, ...], str] = {}
    for kind in KINDS:
        for index, raw in enumerate(decl.get(kind, [])):
            item = {k: v for k, v in raw.items() if k != "_path"}
            path = _path(raw, kind, index)
            try:
                entity = validate_entity(kind, item)
                if kind == "plugins":
                    registry.validate(entity["name"], entity.get("config"))
            except ConfigError as exc:
                _add(errors, path, _error_fields(exc))
            for field in _KEYS.get(kind, ()):
                if isinstance(item.get(field), str):
                    defined[kind].add(item[field])
            for field in _UNIQUE[kind]:
                value = item.get(field)
                if isinstance(value, str | int) and value != "":
                    shown = MASK if is_secret_field(field, kind) else f"'{value}'"
                    _duplicate(errors, seen, (kind, field, value), path, field, shown)
            if kind == "plugins":
                scope = _plugin_scope(item)
                where = ", ".join(
                    f"{f}={k}"
                    for f, k in zip(
                        ("service", "route", "consumer", "consumer_group"), scope[2:], strict=True
                    )
                    if k
                )
                _duplicate(
                    errors,
                    seen,
                    ("plugins", "@scope", *scope),
                    path,
                    "name",
                    f"'{item.get('name')}' plugin ({where or 'global'})",
                )
    if check_refs:
        for kind, refs in _REFS.items():
            for index, raw in enumerate(decl.get(kind, [])):
                for field, target in refs:
                    ref = raw.get(field)
                    if not ref:
                        continue
                    key = _ref_key(ref)
                    if key is not None and key in defined[target]:
                        continue
                    if (
                        key is not None
                        and existing is not None
                        and existing.find(target, key) is not None
                    ):
                        continue
                    shown = (
                        ", ".join(f'{k}="{v}"' for k, v in ref.items())
                        if isinstance(ref, dict)
                        else repr(ref)
                    )
                    _add(
                        errors,
                        _path(raw, kind, index),
                        {
                            field: f"the foreign key '{{{shown}}}' does not reference an existing '{target}' entity."
                        },
                    )
    return _in_file_order(errors)


_TOP_ORDER = {"services": 0, "routes": 1, "consumers": 2, "consumer_groups": 3, "plugins": 4}
_STEP = re.compile(r"(\w+)\[(\d+)\]")


def _in_file_order(errors: dict[str, Any]) -> dict[str, Any]:
    sources: dict[str, int] = {}

    def key(path: str) -> tuple[Any, ...]:
        source, sep, rest = path.rpartition(": ")
        steps = [
            (_TOP_ORDER.get(name, 9), int(index))
            for name, index in _STEP.findall(rest if sep else path)
        ]
        return (sources.setdefault(source, len(sources)), steps)

    for path in errors:
        key(path)
    return {path: errors[path] for path in sorted(errors, key=key)}


def _duplicate(
    errors: dict[str, Any],
    seen: dict[tuple[Any, ...], str],
    key: tuple[Any, ...],
    path: str,
    field: str,
    shown: str,
) -> None:
    try:
        first = seen.setdefault(key, path)
    except TypeError:  # a name that is a list or a map: its schema error already says so
        return
    if first != path:
        _add(errors, path, {field: f"duplicate {shown}: already defined at {first}"})


# -- answers -----------------------------------------------------------------------


def flat_lines(errors: dict[str, Any]) -> list[str]:
    """``path.field: message`` lines (what the CLI prints)."""
    return [line.replace(".@entity: ", ": ") for line in ConfigError("", errors).flat()]


def _leaves(node: Any, prefix: str) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "@entity":
                for message in value if isinstance(value, list) else [value]:
                    yield {"type": "entity", "message": str(message)}
            else:
                yield from _leaves(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(node, list):
        for value in node:
            yield from _leaves(value, prefix)
    elif prefix:
        yield {"type": "field", "field": prefix, "message": str(node)}
    else:
        yield {"type": "entity", "message": str(node)}


def _flattened(
    errors: dict[str, Any], items: dict[str, tuple[str, dict[str, Any]]]
) -> list[dict[str, Any]]:
    """Kong's ``flattened_errors``: one record per failing entity."""
    out: list[dict[str, Any]] = []
    for path, fields in errors.items():
        kind, item = items.get(path, ("", {}))
        entity = {k: v for k, v in item.items() if k != "_path"}
        record: dict[str, Any] = {"entity_type": ENTITY_TYPES.get(kind, kind)}
        name = entity.get("username") if kind == "consumers" else entity.get("name")
        if isinstance(name, str) and name:
            record["entity_name"] = name
        if isinstance(entity.get("id"), str) and is_uuid(entity["id"]):
            record["entity_id"] = entity["id"]
        tags = entity.get("tags")
        if isinstance(tags, list) and all(isinstance(t, str) for t in tags):
            record["entity_tags"] = tags
        record["entity"] = entity
        record["errors"] = list(_leaves(fields, ""))
        out.append(record)
    return out


def declarative_error_body(
    errors: dict[str, Any], decl: dict[str, list[dict[str, Any]]], *, strip: str = ""
) -> dict[str, Any]:
    """Kong's 400 (code 14) for ``errors`` as :func:`check_declarative` keys
    them; ``strip`` is removed from the front of each path (the source name)."""
    errors = {path.removeprefix(strip): fields for path, fields in errors.items()}
    items = {
        _path(item, kind, index).removeprefix(strip): (kind, item)
        for kind in KINDS
        for index, item in enumerate(decl.get(kind, []))
    }
    return {
        "code": 14,
        "name": "invalid declarative configuration",
        "message": "declarative config is invalid: " + "; ".join(flat_lines(errors)),
        "fields": errors,
        "flattened_errors": _flattened(errors, items),
    }


_PATH_MESSAGE = re.compile(r"^([A-Za-z_][\w\[\].]*): (.+)$", re.S)


def parse_error_body(exc: DeclarativeError) -> dict[str, Any]:
    """Kong's 400 (code 14) for a file that cannot be read or flattened."""
    match = _PATH_MESSAGE.match(exc.message)
    if match and not exc.message.startswith(
        ("invalid YAML", "invalid JSON", "environment variable")
    ):
        return {
            "code": 14,
            "name": "invalid declarative configuration",
            "message": f"declarative config is invalid: {exc.message}",
            "fields": {match.group(1): match.group(2)},
            "flattened_errors": [],
        }
    return {
        "code": 14,
        "name": "invalid declarative configuration",
        "message": f"failed parsing declarative configuration: {exc.message}",
        "fields": {},
        "flattened_errors": [],
    }
