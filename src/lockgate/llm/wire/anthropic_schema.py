"""JSON Schema reduced to the subset Anthropic's structured outputs accept.

``output_config.format`` (``{"type": "json_schema", "schema": ...}``) is
compiled into a grammar, and the API refuses with a 400 any schema outside a
narrow subset: every ``object`` must say ``additionalProperties: false``;
no numeric bounds (``minimum``, ``maximum``, ``multipleOf``), no string
lengths, no array bounds other than ``minItems`` 0 or 1; no ``oneOf``,
``not``, ``if``/``then``/``else``, ``prefixItems``, ``patternProperties``,
...; nothing beside an ``anyOf`` but a description or title; ``enum`` and
``const`` of primitive values only; a few string ``format`` values; no empty
schema (``{}``, "any value").

OpenAI's ``response_format`` accepts a much wider schema when it is not
strict, so a schema an OpenAI client sends is rewritten the way Anthropic's
own SDKs rewrite one (``transform_schema``): the meaning that can be kept is
kept, and each constraint the grammar cannot hold moves into the node's
``description`` (``{minimum: 1, maximum: 10}``), where the model still reads
it. Specifically:

- every object is closed (``additionalProperties: false``); an object that
  was open (``additionalProperties`` true or a schema) can then only hold
  its declared properties: that loss is unavoidable and is what the SDK does;
- ``oneOf`` is read as ``anyOf``; a ``type`` list becomes an ``anyOf`` of
  one branch per type;
- ``required`` keeps only declared properties;
- a node with no type, no combinator and no literal (any JSON value) becomes
  an ``anyOf`` of the scalar types, the closest value the grammar can hold;
- ``$ref``/``$defs``/``definitions`` are kept (local references are
  supported); a recursive schema is passed on and the upstream's 400 reaches
  the client, since no rewrite keeps its meaning.
"""

from __future__ import annotations

from typing import Any

__all__ = ["STRING_FORMATS", "anthropic_output_schema"]

#: ``format`` values Anthropic's grammar accepts on strings.
STRING_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"}
)
_TYPES = frozenset({"object", "array", "string", "integer", "number", "boolean", "null"})
#: Keys consumed by the rewrite itself (never moved into a description).
_HANDLED = frozenset(
    {
        "type", "anyOf", "oneOf", "allOf", "enum", "const", "description", "title",
        "properties", "additionalProperties", "required", "items", "minItems", "format",
        "pattern", "$ref", "$defs", "definitions", "$schema", "$id", "$comment",
    }
)  # fmt: skip
#: Annotations that carry no constraint: dropped rather than described.
_ANNOTATIONS = frozenset(
    {"default", "examples", "example", "deprecated", "readOnly", "writeOnly", "$anchor"}
)
#: Nesting beyond this is cut (a pathological schema must not cost unbounded time).
MAX_DEPTH = 32


def anthropic_output_schema(schema: Any) -> dict[str, Any]:
    """A JSON Schema (an OpenAI ``json_schema.schema``) -> one Anthropic accepts.

    The input is never modified.
    """
    if not isinstance(schema, dict):
        return _any_value(None)
    out: dict[str, Any] = {}
    for key in ("$defs", "definitions"):
        defs = schema.get(key)
        if isinstance(defs, dict):
            out[key] = {name: _node(sub, 1) for name, sub in defs.items()}
    out.update(_node(schema, 0))
    return out


def _is_primitive(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _any_value(description: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"anyOf": [{"type": t} for t in ("string", "number", "boolean", "null")]}
    if description:
        out["description"] = description
    return out


def _describe(out: dict[str, Any], extra: dict[str, Any]) -> None:
    """Append the constraints the grammar cannot hold to the description."""
    if not extra:
        return
    note = "{" + ", ".join(f"{key}: {value}" for key, value in extra.items()) + "}"
    description = out.get("description")
    out["description"] = f"{description}\n\n{note}" if isinstance(description, str) else note


def _node(schema: Any, depth: int) -> dict[str, Any]:
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        return _any_value(None)
    description = schema.get("description")
    description = description if isinstance(description, str) else None
    ref = schema.get("$ref")
    if isinstance(ref, str):
        # Anthropic takes nothing beside a reference; a description would be lost anyway.
        return {"$ref": ref}
    out: dict[str, Any] = {}
    extra = {
        key: value
        for key, value in schema.items()
        if key not in _HANDLED and key not in _ANNOTATIONS
    }
    literals = False
    enum = schema.get("enum")
    if isinstance(enum, list) and enum and all(_is_primitive(v) for v in enum):
        out["enum"] = list(enum)
        literals = True
    elif enum is not None:
        extra["enum"] = enum
    if "const" in schema:
        if _is_primitive(schema["const"]):
            out["const"] = schema["const"]
            literals = True
        else:
            extra["const"] = schema["const"]
    union = schema.get("anyOf")
    if not isinstance(union, list) or not union:
        union = schema.get("oneOf")
    all_of = schema.get("allOf")
    kind = schema.get("type")
    if literals:
        pass
    elif isinstance(union, list) and union:
        out["anyOf"] = [_node(branch, depth + 1) for branch in union]
    elif isinstance(all_of, list) and all_of:
        out["allOf"] = [_node(branch, depth + 1) for branch in all_of]
    elif isinstance(kind, list):
        kinds = [k for k in kind if isinstance(k, str) and k in _TYPES]
        if len(kinds) == 1:
            return _node({**schema, "type": kinds[0]}, depth)
        if kinds:
            branches = [_node({**schema, "type": k, "description": None}, depth) for k in kinds]
            out["anyOf"] = [{k: v for k, v in b.items() if k != "description"} for b in branches]
        else:
            return _any_value(description)
    else:
        if not isinstance(kind, str) or kind not in _TYPES:
            kind = _infer_type(schema)
        if kind is None:
            return _any_value(description)
        _typed(schema, kind, out, extra, depth)
    if description is not None:
        out["description"] = description
    title = schema.get("title")
    if isinstance(title, str) and "anyOf" not in out:
        out["title"] = title
    _describe(out, extra)
    return out


def _infer_type(schema: dict[str, Any]) -> str | None:
    if isinstance(schema.get("properties"), dict) or "additionalProperties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    if "format" in schema or "pattern" in schema:
        return "string"
    return None


def _typed(
    schema: dict[str, Any], kind: str, out: dict[str, Any], extra: dict[str, Any], depth: int
) -> None:
    out["type"] = kind
    if kind == "object":
        props = schema.get("properties")
        props = props if isinstance(props, dict) else {}
        out["properties"] = {name: _node(sub, depth + 1) for name, sub in props.items()}
        required = schema.get("required")
        if isinstance(required, list):
            out["required"] = [r for r in required if isinstance(r, str) and r in props]
        out["additionalProperties"] = False
    elif kind == "array":
        items = schema.get("items")
        if isinstance(items, dict):
            out["items"] = _node(items, depth + 1)
        elif isinstance(items, list) and items:
            # A tuple (draft 4 form): the grammar takes one schema for every item.
            out["items"] = {"anyOf": [_node(item, depth + 1) for item in items]}
        min_items = schema.get("minItems")
        if min_items in (0, 1) and not isinstance(min_items, bool):
            out["minItems"] = min_items
        elif min_items is not None:
            extra["minItems"] = min_items
    elif kind == "string":
        fmt = schema.get("format")
        if isinstance(fmt, str) and fmt in STRING_FORMATS:
            out["format"] = fmt
        elif fmt is not None:
            extra["format"] = fmt
        if schema.get("pattern") is not None:
            # Only simple regular expressions compile; like the SDK, leave it to the model.
            extra["pattern"] = schema["pattern"]
