"""Request bodies read the way Kong reads them.

JSON is taken as it is. Form bodies (``application/x-www-form-urlencoded``
and ``multipart/form-data``, what ``curl -d``/``-F`` send) carry flat string
pairs; like Kong's ``kong/api/arguments.lua`` they are nested
(``config.path=/tmp/x`` -> ``{"config": {"path": "/tmp/x"}}``,
``paths[]=/a`` and repeated keys -> arrays, ``paths[1]=/a`` -> an indexed
array, ``headers[x-a]=b`` -> a map key), then their values are inferred from
the entity's schema: ``""`` is null, numbers and booleans are converted, a
single value given for an array becomes a one-item array. Plugin ``config``
values are inferred from the plugin's own config schema.
"""

from __future__ import annotations

import types
from collections.abc import Iterable
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import orjson
from aiohttp import web
from pydantic import BaseModel

from lockgate.admin.responses import AdminError
from lockgate.config.entities import ENTITY_KINDS

__all__ = ["infer_value", "nest_form_pairs", "read_entity_body", "read_form_pairs"]

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_APPEND = object()  # the ``[]`` of ``paths[]``


def is_json(content_type: str) -> bool:
    return content_type == "application/json" or content_type.endswith("+json")


def cannot_parse_json() -> AdminError:
    return AdminError(400, {"message": "Cannot parse JSON body"})


async def read_form_pairs(request: web.Request) -> list[tuple[str, str]]:
    """The pairs of a form body, file parts read as text."""
    try:
        form = await request.post()
    except (ValueError, LookupError, RuntimeError, AssertionError) as exc:
        # aiohttp's form and multipart readers raise these for a missing or
        # wrong boundary, an unknown charset, a bad part encoding.
        raise AdminError(400, {"message": f"Cannot parse form body: {_form_fault(exc)}"}) from exc
    pairs: list[tuple[str, str]] = []
    for key, value in form.items():
        if isinstance(value, web.FileField):
            pairs.append((key, value.file.read().decode("utf-8", "replace")))
        else:
            pairs.append((key, str(value)))
    return pairs


def _form_fault(exc: Exception) -> str:
    if isinstance(exc, LookupError):
        return "unknown charset"
    text = str(exc)
    if "boundary" in text:
        return "no multipart boundary" if "missed" in text else "the multipart boundary is wrong"
    return "malformed body"


async def read_entity_body(
    request: web.Request, kind: str, *, plugin_name: str | None = None
) -> dict[str, Any]:
    """The body of a POST/PUT/PATCH on an entity, as a dict.

    ``plugin_name`` names the plugin whose config schema types form values
    when the body itself has no ``name`` (a PATCH of ``config.x`` only).
    """
    content_type = request.content_type
    if content_type in FORM_TYPES:
        data = nest_form_pairs(await read_form_pairs(request))
        return infer_entity(kind, data, plugin_name=plugin_name)
    raw = await request.read()
    if not raw.strip():
        return {}
    if is_json(content_type) or content_type == "application/octet-stream":
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise cannot_parse_json() from exc
        if not isinstance(data, dict):
            raise AdminError(400, {"message": "Cannot parse JSON body: expected an object"})
        return data
    raise AdminError(415, {"message": f"Unsupported Content-Type: {content_type}"})


# -- form nesting --------------------------------------------------------------


def _segments(key: str) -> list[Any]:
    out: list[Any] = []
    for part in key.split("."):
        head, bracket, rest = part.partition("[")
        if head or not bracket:
            out.append(head)
        if not bracket:
            continue
        for inner in ("[" + rest).split("[")[1:]:
            name = inner.rstrip("]")
            if name == "":
                out.append(_APPEND)
            elif name.isdigit():
                out.append(int(name))
            else:
                out.append(name)
    return out


def _put(node: dict[Any, Any], key: Any, value: Any) -> None:
    if key not in node:
        node[key] = value
    elif isinstance(node[key], list):
        node[key].append(value)
    else:
        node[key] = [node[key], value]


def _assign(node: dict[Any, Any], segments: list[Any], value: Any) -> None:
    key = segments[0]
    rest = segments[1:]
    if not rest:
        _put(node, key, value)
        return
    if rest == [_APPEND]:
        existing = node.get(key)
        if existing is None:
            node[key] = [value]
        elif isinstance(existing, list):
            existing.append(value)
        else:
            node[key] = [existing, value]
        return
    child = node.get(key)
    if not isinstance(child, dict):
        child = {}
        node[key] = child
    _assign(child, [("" if s is _APPEND else s) for s in rest], value)


def _finish(node: Any) -> Any:
    if isinstance(node, dict):
        done = {k: _finish(v) for k, v in node.items()}
        if done and all(isinstance(k, int) for k in done):
            return [done[k] for k in sorted(done)]
        # Indexes mixed with names (``tags[1]=a&tags[b]=c``) make a map, as Kong's
        # JSON encoder does: its keys are strings.
        return {str(k): v for k, v in done.items()}
    if isinstance(node, list):
        return [_finish(x) for x in node]
    return node


def nest_form_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    root: dict[Any, Any] = {}
    for key, value in pairs:
        segments = _segments(key)
        if segments and segments[0] not in ("", _APPEND):
            _assign(root, segments, value)
    finished: dict[str, Any] = _finish(root)
    return finished


# -- value inference -------------------------------------------------------------


def infer_value(value: Any, annotation: Any) -> Any:
    """A form value converted to what ``annotation`` expects (Kong's ``infer_value``)."""
    if value == "":
        return None
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Annotated:
        return infer_value(value, args[0])
    if origin is Union or origin is types.UnionType:
        options = [a for a in args if a is not type(None)]
        return infer_value(value, options[0]) if len(options) == 1 else value
    if origin is Literal:
        if isinstance(value, str) and args and all(isinstance(a, int) for a in args):
            return _to_number(value, int)
        return value
    if annotation is bool:
        return {"true": True, "false": False}.get(value, value) if isinstance(value, str) else value
    if annotation is int or annotation is float:
        return _to_number(value, annotation) if isinstance(value, str) else value
    if origin in (list, set, tuple, frozenset):
        items = value if isinstance(value, list) else [value]
        item_type = args[0] if args else Any
        return [infer_value(item, item_type) for item in items]
    if origin is dict and isinstance(value, dict):
        value_type = args[1] if len(args) == 2 else Any
        return {k: infer_value(v, value_type) for k, v in value.items()}
    if (
        isinstance(annotation, type)
        and issubclass(annotation, BaseModel)
        and isinstance(value, dict)
    ):
        return infer_record(value, annotation)
    return value


def _to_number(value: str, kind: Any) -> Any:
    try:
        return kind(value)
    except ValueError:
        return value


def infer_record(data: dict[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    fields = model.model_fields
    return {
        k: (infer_value(v, fields[k].annotation) if k in fields else v) for k, v in data.items()
    }


def infer_entity(
    kind: str, data: dict[str, Any], *, plugin_name: str | None = None
) -> dict[str, Any]:
    out = infer_record(data, ENTITY_KINDS[kind])
    if kind == "plugins" and isinstance(out.get("config"), dict):
        from lockgate.plugins.registry import plugin_class

        name = out.get("name") or plugin_name
        cls = plugin_class(name) if isinstance(name, str) else None
        if cls is not None:
            out["config"] = infer_record(out["config"], cls.Config)
    return out
