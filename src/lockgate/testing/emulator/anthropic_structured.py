"""The JSON Schema subset Anthropic's structured outputs compile, as the API
enforces it on ``output_config.format.schema`` (and the beta's
``output_format.schema``).

The wording is the API's own, as reported by its users (for example
"output_config.format.schema: For 'object' type, 'additionalProperties' must
be explicitly set to false", "Schema type 'oneOf' is not supported", "For
'integer' type, property 'minimum' is not supported", "Empty schema ({}) that
accepts any JSON value is not supported."). The first problem found, walking
the schema depth-first, is reported, as a 400 ``invalid_request_error``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["structured_schema_problem"]

_TYPES = frozenset({"object", "array", "string", "integer", "number", "boolean", "null"})
_STRING_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"}
)
#: Keywords allowed on any node, whatever its type.
_COMMON = frozenset(
    {
        "type", "description", "title", "enum", "const", "default", "examples", "$ref",
        "$defs", "definitions", "$schema", "$id", "$comment", "anyOf", "allOf",
    }
)  # fmt: skip
_BY_TYPE = {
    "object": frozenset({"properties", "required", "additionalProperties"}),
    "array": frozenset({"items", "minItems"}),
    "string": frozenset({"format", "pattern"}),
    "integer": frozenset(),
    "number": frozenset(),
    "boolean": frozenset(),
    "null": frozenset(),
}
#: What may sit beside ``anyOf``.
_UNION_SIBLINGS = frozenset(
    {"anyOf", "description", "title", "$defs", "definitions", "$schema", "$id"}
)
_ANNOTATIONS = frozenset({"description", "title", "default", "examples", "$comment"})


def structured_schema_problem(schema: Any, field: str) -> str | None:
    """The API's message for the first problem of ``schema`` (None: accepted).
    ``field`` names where it came from (``output_config.format.schema``)."""
    problem = _Walker(schema).check()
    return f"{field}: {problem}" if problem else None


class _Walker:
    def __init__(self, root: Any) -> None:
        self.root = root
        defs: dict[str, Any] = {}
        if isinstance(root, dict):
            for key in ("definitions", "$defs"):
                if isinstance(root.get(key), dict):
                    defs.update({f"#/{key}/{n}": s for n, s in root[key].items()})
        self.defs = defs

    def check(self) -> str | None:
        if not isinstance(self.root, dict):
            return "Input should be a valid dictionary"
        cycle = self._cycle()
        if cycle:
            return f"Circular reference detected in schema definitions: {cycle}"
        for sub in self.defs.values():
            problem = self.node(sub)
            if problem:
                return problem
        return self.node(self.root)

    def _cycle(self) -> str | None:
        """A definition that reaches itself through references (``A -> B -> A``)."""

        def refs(node: Any) -> list[str]:
            found: list[str] = []
            if isinstance(node, dict):
                if isinstance(node.get("$ref"), str):
                    found.append(node["$ref"])
                for key, value in node.items():
                    if key not in ("$defs", "definitions"):
                        found.extend(refs(value))
            elif isinstance(node, list):
                for item in node:
                    found.extend(refs(item))
            return found

        for start in self.defs:
            path = [start]
            stack = [(start, path)]
            seen: set[str] = set()
            while stack:
                ref, trail = stack.pop()
                for nxt in refs(self.defs.get(ref)):
                    if nxt == start:
                        return " -> ".join(r.rsplit("/", 1)[-1] for r in [*trail, nxt])
                    if nxt in self.defs and nxt not in seen:
                        seen.add(nxt)
                        stack.append((nxt, [*trail, nxt]))
        return None

    def node(self, node: Any) -> str | None:
        if not isinstance(node, dict):
            return "Invalid schema: every schema must be an object"
        ref = node.get("$ref")
        if isinstance(ref, str):
            if not ref.startswith("#"):
                return f"External references are not supported: '{ref}'"
            if ref != "#" and ref not in self.defs:
                return f"Reference '{ref}' could not be resolved"
            return None
        if "oneOf" in node:
            return "Schema type 'oneOf' is not supported"
        if "not" in node:
            return "Schema keyword 'not' is not supported"
        if isinstance(node.get("anyOf"), list):
            extra = sorted(k for k in node if k not in _UNION_SIBLINGS)
            if extra:
                return f"For 'anyOf', '{', '.join(extra)}' is not supported"
            return self.branches(node["anyOf"])
        if isinstance(node.get("allOf"), list):
            problem = self.branches(node["allOf"])
            if problem:
                return problem
        has_literal = "const" in node or isinstance(node.get("enum"), list)
        for key in ("enum", "const"):
            values = node.get(key)
            values = values if key == "enum" else [values]
            if key in node and (
                not isinstance(values, list)
                or any(not (v is None or isinstance(v, str | int | float | bool)) for v in values)
            ):
                return f"'{key}' values must be strings, numbers, booleans or null"
        kind = node.get("type")
        if kind is None:
            if has_literal or "allOf" in node:
                return None
            return "Empty schema ({}) that accepts any JSON value is not supported."
        kinds = kind if isinstance(kind, list) else [kind]
        for k in kinds:
            if not isinstance(k, str) or k not in _TYPES:
                return f"Schema type '{k}' is not supported"
        allowed = _COMMON.union(*(_BY_TYPE[k] for k in kinds))
        for key in node:
            if key not in allowed:
                return f"For '{kinds[0]}' type, property '{key}' is not supported"
        if "object" in kinds:
            problem = self.object(node)
            if problem:
                return problem
        if "array" in kinds:
            problem = self.array(node)
            if problem:
                return problem
        fmt = node.get("format")
        if fmt is not None and fmt not in _STRING_FORMATS:
            return f"For 'string' type, format '{fmt}' is not supported"
        return None

    def branches(self, branches: list[Any]) -> str | None:
        for branch in branches:
            problem = self.node(branch)
            if problem:
                return problem
        return None

    def object(self, node: dict[str, Any]) -> str | None:
        extra = node.get("additionalProperties", None)
        if "additionalProperties" not in node:
            return "For 'object' type, 'additionalProperties' must be explicitly set to false"
        if extra is not False:
            return (
                "For 'object' type, 'additionalProperties: true' is not supported. "
                "Please set 'additionalProperties' to false"
            )
        props = node.get("properties") or {}
        if not isinstance(props, dict):
            return "For 'object' type, 'properties' must be an object"
        for name in node.get("required") or []:
            if name not in props:
                return (
                    f"For 'object' type, required property '{name}' is not defined in 'properties'"
                )
        for sub in props.values():
            problem = self.node(sub)
            if problem:
                return problem
        return None

    def array(self, node: dict[str, Any]) -> str | None:
        items = node.get("items")
        if isinstance(items, list):
            return (
                "Invalid schema: Array types must be specified with a single object schema "
                "for 'items'."
            )
        if node.get("minItems") not in (None, 0, 1):
            return "For 'array' type, 'minItems' values other than 0 or 1 are not supported"
        if isinstance(items, dict):
            if not (set(items) - _ANNOTATIONS):
                return "Empty schema ({}) that accepts any JSON value is not supported."
            return self.node(items)
        return None
