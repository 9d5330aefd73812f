"""JSON Schema reduced to the subset Gemini accepts in function declarations.

Gemini (Vertex AI and the public API) validates ``parameters`` and
``responseSchema`` against its own ``Schema`` message, a subset of OpenAPI
3.0, and rejects the whole request for one unknown or misplaced keyword. The
rules it enforces, and which this module guarantees for every node it emits:

- only the keywords in :data:`ALLOWED_KEYWORDS` appear;
- every node has a ``type`` (one of :data:`TYPES`) or an ``anyOf`` list;
- ``properties``/``required``/``propertyOrdering`` only on ``object`` nodes,
  never an empty ``properties``; ``required`` names only declared properties;
- ``items`` on every ``array`` node and nowhere else;
- ``enum`` only on ``string`` nodes, with string values;
- ``format`` only where Gemini knows it (:data:`FORMATS`);
- length bounds only on strings, numeric bounds only on numbers, item counts
  only on arrays.

JSON Schema constructs with no Gemini equivalent are rewritten where the
meaning survives (``$ref`` inlined, ``allOf`` merged, ``oneOf`` read as
``anyOf``, ``const`` as a one-value ``enum``, ``type`` lists and null
branches as ``nullable``, numeric ``exclusiveMinimum`` as ``minimum``) and
dropped otherwise (``additionalProperties``, ``propertyNames``,
``patternProperties``, ``if``/``then``/``else``, ``default``, ``examples``,
``title``, ...). A value of no stated type becomes an ``anyOf`` of the JSON
types, since Gemini has no "any". Enum values of a non-string type cannot be
expressed (Gemini enums are strings and the tool would reject ``"1"`` for
``1``), so they move into the description and the type is kept.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import orjson

__all__ = [
    "ALLOWED_KEYWORDS",
    "FORMATS",
    "TYPES",
    "sanitize_parameters",
    "sanitize_schema",
]

ALLOWED_KEYWORDS = frozenset(
    {
        "type",
        "format",
        "description",
        "nullable",
        "enum",
        "items",
        "properties",
        "required",
        "propertyOrdering",
        "minItems",
        "maxItems",
        "minLength",
        "maxLength",
        "pattern",
        "minimum",
        "maximum",
        "anyOf",
    }
)

TYPES = ("string", "number", "integer", "boolean", "array", "object")

#: ``format`` values Gemini accepts, per type; any other format is dropped.
FORMATS: dict[str, frozenset[str]] = {
    "string": frozenset({"enum", "date-time"}),
    "number": frozenset({"float", "double"}),
    "integer": frozenset({"int32", "int64"}),
}

#: Nesting beyond this is cut to a plain object (Gemini has its own limits, and
#: a pathological schema must not cost unbounded time on the hot path).
MAX_DEPTH = 24
#: ``$ref`` expansions allowed per schema: a DAG of references can otherwise
#: grow exponentially when inlined.
MAX_REF_EXPANSIONS = 512

_OBJECT_HINTS = ("properties", "required", "additionalProperties", "propertyNames", "minProperties")
_ARRAY_HINTS = ("items", "prefixItems", "minItems", "maxItems", "uniqueItems", "contains")
_STRING_HINTS = ("minLength", "maxLength", "pattern")
_NUMBER_HINTS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")


def sanitize_schema(schema: Any) -> dict[str, Any]:
    """Any JSON Schema (or garbage) -> a schema Gemini accepts. Never raises,
    never mutates the input."""
    return _Sanitizer(schema).node(schema, 0)


def sanitize_parameters(schema: Any) -> dict[str, Any] | None:
    """A tool's input schema -> ``functionDeclaration.parameters``, or None
    when the tool takes no arguments.

    Gemini requires the root to be an ``object`` with non-empty
    ``properties`` (an empty one is rejected; an absent ``parameters`` means
    "no arguments"). A root union of objects is flattened into one object
    with every branch's properties, none required.
    """
    out = sanitize_schema(schema)
    out.pop("nullable", None)
    if out.get("type") == "object":
        return out if "properties" in out else None
    branches = out.get("anyOf")
    if not isinstance(branches, list):
        return None
    props: dict[str, Any] = {}
    for branch in branches:
        if branch.get("type") == "object":
            for name, sub in branch.get("properties", {}).items():
                props.setdefault(name, sub)
    if not props:
        return None
    merged: dict[str, Any] = {"type": "object", "properties": props}
    if isinstance(out.get("description"), str):
        merged = {"description": out["description"], **merged}
    return merged


def _any_value() -> dict[str, Any]:
    """Gemini has no "any" type: the closest is a union of the JSON types."""
    return {
        "anyOf": [
            {"type": "string"},
            {"type": "number"},
            {"type": "boolean"},
            {"type": "object"},
            {"type": "array", "items": {"type": "string"}},
        ]
    }


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _enum_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return str(value)


def _value_type(values: list[Any]) -> str:
    """The single JSON type of a list of enum values, else "string"."""
    if all(isinstance(v, bool) for v in values):
        return "boolean"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "integer"
    if all(_is_number(v) for v in values):
        return "number"
    return "string"


def _merge_into(target: dict[str, Any], extra: dict[str, Any]) -> None:
    """``allOf`` semantics, approximately: properties merge, required unions,
    otherwise the first value of a keyword wins."""
    for key, value in extra.items():
        if key == "properties" and isinstance(value, dict):
            current = target.get("properties")
            target["properties"] = (
                {**value, **current} if isinstance(current, dict) else dict(value)
            )
        elif key == "required" and isinstance(value, list):
            current = target.get("required")
            base = list(current) if isinstance(current, list) else []
            target["required"] = base + [r for r in value if r not in base]
        elif key not in target:
            target[key] = value


def _is_null_schema(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False
    t = schema.get("type")
    if t == "null" or t == ["null"]:
        return True
    if "const" in schema and schema["const"] is None and "type" not in schema:
        return True
    enum = schema.get("enum")
    return isinstance(enum, list) and bool(enum) and all(v is None for v in enum)


class _Sanitizer:
    """One run over one schema: the root (for ``$ref``), the refs being
    expanded (to cut cycles) and the expansion budget."""

    __slots__ = ("expansions", "root", "stack")

    def __init__(self, root: Any) -> None:
        self.root = root
        self.stack: list[str] = []
        self.expansions = 0

    # -- references ---------------------------------------------------------

    def _lookup(self, ref: str) -> Any:
        """A local JSON pointer (``#``, ``#/$defs/X``, ``#/definitions/X``, any
        ``#/a/b``), or None when it cannot be resolved here."""
        if not ref.startswith("#"):
            return None
        node: Any = self.root
        pointer = unquote(ref[1:])
        if not pointer:
            return node
        if not pointer.startswith("/"):
            return None
        for token in pointer[1:].split("/"):
            token = token.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict):
                node = node.get(token)
            elif isinstance(node, list) and token.isdecimal() and int(token) < len(node):
                node = node[int(token)]
            else:
                return None
            if node is None:
                return None
        return node

    def _deref(self, schema: dict[str, Any]) -> dict[str, Any] | None:
        """The schema with its ``$ref`` replaced by the target (siblings win),
        or None when the reference is unresolvable, recursive or over budget."""
        ref = schema.get("$ref")
        if not isinstance(ref, str):
            return schema
        target = self._lookup(ref)
        if (
            not isinstance(target, dict)
            or ref in self.stack
            or self.expansions >= MAX_REF_EXPANSIONS
        ):
            return None
        self.expansions += 1
        merged = dict(target)
        for key, value in schema.items():
            if key != "$ref":
                merged[key] = value
        return merged

    # -- nodes --------------------------------------------------------------

    def node(self, schema: Any, depth: int) -> dict[str, Any]:
        if not isinstance(schema, dict):
            return _any_value()  # true, {} and garbage all mean "anything"
        if depth > MAX_DEPTH:
            return self._plain_object(schema)
        ref = schema.get("$ref")
        if isinstance(ref, str):
            resolved = self._deref(schema)
            if resolved is None:
                return self._plain_object(schema)
            self.stack.append(ref)
            try:
                return self.node(resolved, depth + 1)
            finally:
                self.stack.pop()
        all_of = schema.get("allOf")
        if isinstance(all_of, list):
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            for sub in all_of:
                if isinstance(sub, dict):
                    sub = self._deref(sub) or {}
                    _merge_into(merged, sub)
            return self.node(merged, depth + 1)
        return self._node(schema, depth)

    @staticmethod
    def _plain_object(schema: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "object"}
        if isinstance(schema.get("description"), str):
            out["description"] = schema["description"]
        return out

    def _node(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        description = schema.get("description")
        description = description if isinstance(description, str) else None
        nullable = schema.get("nullable") is True

        only_null = False
        alternatives = schema.get("anyOf")
        if not isinstance(alternatives, list):
            alternatives = schema.get("oneOf")
        if isinstance(alternatives, list) and alternatives:
            union = self._union(schema, alternatives, depth)
            if union is not None:
                out, branch_null = union
                return _finish(out, description, nullable or branch_null)
            only_null = any(_is_null_schema(a) for a in alternatives)
            nullable = nullable or only_null

        raw_type = schema.get("type")
        names = raw_type if isinstance(raw_type, list) else [raw_type]
        types = [t for t in names if isinstance(t, str) and t in TYPES]
        if "null" in names:
            nullable = True
        types = list(dict.fromkeys(types))

        enum = schema.get("enum")
        values: list[Any] | None = list(enum) if isinstance(enum, list) else None
        if "const" in schema:
            values = [schema["const"]]
        if values is not None:
            if any(v is None for v in values):
                nullable = True
                values = [v for v in values if v is not None]
            if not values:
                values = None

        if not types:
            inferred = _infer_type(schema, values)
            if inferred is None:
                if only_null or "null" in names or _is_null_schema(schema):
                    # Only null is allowed: Gemini has no null type.
                    return _finish({"type": "string"}, description, True)
                return _finish(_any_value(), description, nullable)
            types = [inferred]

        if len(types) == 1:
            out, note = self._typed(schema, types[0], values, depth)
            return _finish(out, _with_note(description, note), nullable)
        branches = []
        notes: list[str] = []
        for t in types:
            branch, note = self._typed(schema, t, values, depth)
            branches.append(branch)
            if note and note not in notes:
                notes.append(note)
        return _finish({"anyOf": branches}, _with_note(description, " ".join(notes)), nullable)

    def _union(
        self, schema: dict[str, Any], alternatives: list[Any], depth: int
    ) -> tuple[dict[str, Any], bool] | None:
        """``anyOf``/``oneOf`` -> Gemini ``anyOf`` (flattened, null branches as
        nullable, one branch collapsed), or None when nothing but null is left.
        Keywords beside the union apply to every branch, so they are merged in."""
        shared = {
            k: v
            for k, v in schema.items()
            if k not in ("anyOf", "oneOf", "description", "nullable", "title")
        }
        null = False
        branches: list[dict[str, Any]] = []
        for alt in alternatives:
            ref = alt.get("$ref") if isinstance(alt, dict) else None
            if isinstance(ref, str):
                resolved = self._deref(alt)
                alt = resolved if resolved is not None else {"type": "object"}
            if _is_null_schema(alt):
                null = True
                continue
            if shared:
                merged = dict(alt) if isinstance(alt, dict) else {}
                _merge_into(merged, shared)
                alt = merged
            if isinstance(ref, str):
                self.stack.append(ref)
            try:
                converted = self.node(alt, depth + 1)
            finally:
                if isinstance(ref, str):
                    self.stack.pop()
            inner = converted.get("anyOf")
            flat = inner if isinstance(inner, list) and "type" not in converted else [converted]
            for sub in flat:
                if sub.pop("nullable", False):
                    null = True
                if sub not in branches:
                    branches.append(sub)
        if not branches:
            return None
        if len(branches) == 1:
            return branches[0], null
        merged_enum = _merge_string_enums(branches)
        if merged_enum is not None:
            return merged_enum, null
        return {"anyOf": branches}, null

    def _typed(
        self, schema: dict[str, Any], kind: str, values: list[Any] | None, depth: int
    ) -> tuple[dict[str, Any], str]:
        """One node of a single Gemini type, with only the keywords that type
        allows. The second value is text for the description (an enum that
        could not be kept)."""
        out: dict[str, Any] = {"type": kind}
        note = ""
        fmt = schema.get("format")
        if isinstance(fmt, str) and fmt in FORMATS.get(kind, ()):
            out["format"] = fmt
        if kind == "string":
            if values is not None:
                out["enum"] = list(dict.fromkeys(_enum_text(v) for v in values))
            for key in ("minLength", "maxLength"):
                if _is_count(schema.get(key)):
                    out[key] = schema[key]
            if isinstance(schema.get("pattern"), str):
                out["pattern"] = schema["pattern"]
        elif kind in ("number", "integer"):
            _bounds(schema, kind, out)
            if values is not None:
                note = "Allowed values: " + ", ".join(_enum_text(v) for v in values) + "."
        elif kind == "boolean":
            if values is not None and len(values) == 1:
                note = "Allowed values: " + _enum_text(values[0]) + "."
        elif kind == "array":
            out["items"] = self._items(schema, depth)
            for key in ("minItems", "maxItems"):
                if _is_count(schema.get(key)):
                    out[key] = schema[key]
        else:
            self._object(schema, out, depth)
        return out, note

    def _items(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        items = schema.get("items")
        if isinstance(items, list):  # draft-4 tuple form
            tuple_items: list[Any] = items
        elif isinstance(schema.get("prefixItems"), list):
            tuple_items = schema["prefixItems"]
        elif isinstance(items, dict) or items is True:
            return self.node(items, depth + 1)
        else:
            return _any_value()
        if not tuple_items:
            return _any_value()
        if len(tuple_items) == 1:
            return self.node(tuple_items[0], depth + 1)
        return self.node({"anyOf": tuple_items}, depth + 1)

    def _object(self, schema: dict[str, Any], out: dict[str, Any], depth: int) -> None:
        props = schema.get("properties")
        if not isinstance(props, dict) or not props:
            return
        converted = {
            name: self.node(sub, depth + 1) for name, sub in props.items() if isinstance(name, str)
        }
        if not converted:
            return
        out["properties"] = converted
        required = schema.get("required")
        if isinstance(required, list):
            names = [r for r in dict.fromkeys(r for r in required if isinstance(r, str))]
            names = [r for r in names if r in converted]
            if names:
                out["required"] = names
        ordering = schema.get("propertyOrdering")
        if isinstance(ordering, list):
            names = [p for p in dict.fromkeys(p for p in ordering if isinstance(p, str))]
            names = [p for p in names if p in converted]
            if names:
                out["propertyOrdering"] = names


def _infer_type(schema: dict[str, Any], values: list[Any] | None) -> str | None:
    """The type a schema without ``type`` implies by its keywords, if any."""
    if any(k in schema for k in _OBJECT_HINTS):
        return "object"
    if any(k in schema for k in _ARRAY_HINTS):
        return "array"
    if values is not None:
        return _value_type(values)
    if any(k in schema for k in _STRING_HINTS):
        return "string"
    if any(k in schema for k in _NUMBER_HINTS):
        return "number"
    return None


def _bounds(schema: dict[str, Any], kind: str, out: dict[str, Any]) -> None:
    """minimum/maximum, folding exclusive bounds in (exact for integers)."""
    step = 1 if kind == "integer" else 0
    low = schema.get("minimum")
    low = low if _is_number(low) else None
    high = schema.get("maximum")
    high = high if _is_number(high) else None
    ex_low = schema.get("exclusiveMinimum")
    ex_high = schema.get("exclusiveMaximum")
    if _is_number(ex_low):  # draft 6+: the bound itself
        bound = ex_low + step if isinstance(ex_low, int) else ex_low
        low = bound if low is None else max(low, bound)
    elif ex_low is True and low is not None and isinstance(low, int):  # draft 4
        low = low + step
    if _is_number(ex_high):
        bound = ex_high - step if isinstance(ex_high, int) else ex_high
        high = bound if high is None else min(high, bound)
    elif ex_high is True and high is not None and isinstance(high, int):
        high = high - step
    if low is not None:
        out["minimum"] = low
    if high is not None:
        out["maximum"] = high


def _merge_string_enums(branches: list[dict[str, Any]]) -> dict[str, Any] | None:
    """A union of string enums (zod's ``z.enum([...]).or(z.literal(x))``) is
    one string enum."""
    values: list[str] = []
    for branch in branches:
        if branch.get("type") != "string" or "enum" not in branch:
            return None
        if set(branch) - {"type", "enum", "description"}:
            return None
        values.extend(branch["enum"])
    return {"type": "string", "enum": list(dict.fromkeys(values))}


def _with_note(description: str | None, note: str) -> str | None:
    if not note:
        return description
    return f"{description}\n{note}" if description else note


def _finish(out: dict[str, Any], description: str | None, nullable: bool) -> dict[str, Any]:
    """Description first (readability of the upstream body), nullable last.
    On a union, nullable goes on each branch (Google's documented form)."""
    if description is not None:
        out = {"description": description, **{k: v for k, v in out.items() if k != "description"}}
    if nullable:
        branches = out.get("anyOf")
        if isinstance(branches, list) and "type" not in out:
            for branch in branches:
                branch["nullable"] = True
        else:
            out["nullable"] = True
    return out
