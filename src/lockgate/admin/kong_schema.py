"""lockgate's pydantic schemas written the way Kong's Admin API shows its own.

Kong answers ``GET /schemas/{entity}`` and ``GET /schemas/plugins/{name}``
with its schema DSL made JSON (``kong/api/api_helpers.lua``,
``schema_to_jsonable``): ``{"fields": [{"<name>": {...}}, ...],
"entity_checks": [...]}``, one single-key object per field, in order. A
field says its ``type`` (``string``, ``integer``, ``number``, ``boolean``,
``array``, ``set``, ``map``, ``record``, ``foreign``), and as needed
``required``, ``default``, ``one_of``, ``between``, ``gt``, ``len_min``,
``elements`` (array items), ``keys``/``values`` (maps), ``fields``
(records), ``reference`` (foreign keys), ``uuid``/``auto``/``timestamp``.

Translation from pydantic:

- ``required`` is true where the field cannot be null (Kong's meaning: a
  value must be there once defaults are applied), not where pydantic has no
  default.
- ``Literal`` choices become ``one_of``; ``ge``/``le`` become ``between``
  (an open end written ``"inf"``/``"-inf"``, as Kong's JSON writes
  ``math.huge``); length bounds ``len_min``/``len_max``.
- A free-form ``dict[str, Any]`` is Kong's ``map`` of strings to ``json``
  values (Kong's own name for untyped JSON); a plugin entity's ``config`` is
  Kong's abstract ``record`` (each plugin's schema says what it holds).
- Regex ``pattern`` constraints are left out: Kong's ``match`` means a Lua
  pattern, and saying a regex under that name would mislead a tool.
- Entity checks that live in model validators (``host`` required unless
  ``url``, a route needs a matcher) are not written out: ``entity_checks``
  is ``[]``.
"""

from __future__ import annotations

import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

__all__ = ["describe_field", "entity_schema", "record_fields", "schema_of"]

#: Foreign keys of the entities, and the entity each one names.
_REFERENCES = {
    "service": "services",
    "route": "routes",
    "consumer": "consumers",
    "client_certificate": "certificates",
}
_SIZED = ("string", "array", "set", "map")
_SCALARS: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


def _without_none(annotation: Any) -> tuple[Any, bool]:
    """``(annotation without None, whether None was allowed)``."""
    origin = get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        options = [a for a in get_args(annotation) if a is not type(None)]
        nullable = len(options) != len(get_args(annotation))
        inner = options[0] if len(options) == 1 else Union[tuple(options)]  # noqa: UP007
        return inner, nullable
    return annotation, annotation is Any or annotation is None


def _constraints(metadata: list[Any], kind: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    low = high = None
    for item in metadata:
        if isinstance(item, annotated_types.Ge):
            low = item.ge
        elif isinstance(item, annotated_types.Le):
            high = item.le
        elif isinstance(item, annotated_types.Gt):
            out["gt"] = item.gt
        elif isinstance(item, annotated_types.Lt):
            out["lt"] = item.lt
        elif isinstance(item, annotated_types.MinLen) and kind in _SIZED:
            out["len_min"] = item.min_length
        elif isinstance(item, annotated_types.MaxLen) and kind in _SIZED:
            out["len_max"] = item.max_length
    if low is not None or high is not None:
        # Kong's ``between`` has both ends; its JSON writes an open end as "inf"/"-inf".
        out["between"] = [low if low is not None else "-inf", high if high is not None else "inf"]
    return out


def _type_of(annotation: Any) -> dict[str, Any]:
    """A Kong field description for ``annotation`` (no field-level attributes)."""
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Annotated:
        inner = _type_of(args[0])
        inner.update(_constraints(list(args[1:]), inner.get("type", "")))
        return inner
    if origin is Union or origin is types.UnionType:
        inner, _ = _without_none(annotation)
        if get_origin(inner) is Union or get_origin(inner) is types.UnionType:
            return {"type": "json"}  # several shapes: Kong has no union type
        return _type_of(inner)
    if origin is Literal:
        kind = (
            "integer"
            if all(isinstance(a, int) and not isinstance(a, bool) for a in args)
            else "string"
        )
        return {"type": kind, "one_of": list(args)}
    if annotation in _SCALARS:
        return {"type": _SCALARS[annotation]}
    if origin in (list, tuple, set, frozenset):
        kind = "set" if origin in (set, frozenset) else "array"
        return {"type": kind, "elements": _type_of(args[0]) if args else {"type": "json"}}
    if origin is dict:
        value = args[1] if len(args) == 2 else Any
        return {"type": "map", "keys": {"type": "string"}, "values": _type_of(value)}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {"type": "record", "fields": record_fields(annotation)}
    return {"type": "json"}


def _default(field: FieldInfo) -> Any:
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
    elif field.default is PydanticUndefined:
        return None
    else:
        value = field.default
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return value


def describe_field(name: str, field: FieldInfo) -> dict[str, Any]:
    annotation, nullable = _without_none(field.annotation)
    out = _type_of(annotation)
    out.update(_constraints(list(field.metadata), out.get("type", "")))
    if not nullable:
        out["required"] = True
    default = _default(field)
    if default is not None:
        out["default"] = default
    if field.description:
        out["description"] = field.description
    return out


def record_fields(model: type[BaseModel]) -> list[dict[str, Any]]:
    """``[{"<name>": {...}}, ...]``: Kong's ``fields`` of a record."""
    return [
        {name: describe_field(name, field)}
        for name, field in model.model_fields.items()
        if not field.exclude
    ]


def schema_of(fields: list[dict[str, Any]]) -> dict[str, Any]:
    """The answer's shape: ``fields`` and (empty) ``entity_checks``."""
    return {"fields": fields, "entity_checks": []}


def entity_schema(model: type[BaseModel]) -> dict[str, Any]:
    """An entity's schema: its own fields, with Kong's markings for the ones
    the gateway fills in (``id``, timestamps) and for foreign keys."""
    fields = []
    for item in record_fields(model):
        name, described = next(iter(item.items()))
        if name == "id":
            described = {"type": "string", "uuid": True, "auto": True}
        elif name in ("created_at", "updated_at"):
            described = {"type": "integer", "timestamp": True, "auto": True}
        elif name in _REFERENCES:
            described = {"type": "foreign", "reference": _REFERENCES[name]}
        elif name == "config" and described.get("type") == "map":
            described = {"type": "record", "abstract": True}
        fields.append({name: described})
    return schema_of(fields)
