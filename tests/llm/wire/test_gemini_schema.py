"""JSON Schema -> Gemini Schema: one test per rule, a realistic tool set, and
a property test over arbitrary schema-like input."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lockgate.llm.wire.gemini_schema import (
    ALLOWED_KEYWORDS,
    FORMATS,
    MAX_DEPTH,
    TYPES,
    sanitize_parameters,
    sanitize_schema,
)

GOLDEN = Path(__file__).with_name("golden_gemini")


def assert_gemini_schema(node: Any, path: str = "$") -> None:
    """Every rule Gemini's Schema validation enforces, checked at every node."""
    assert isinstance(node, dict), f"{path}: not an object"
    extra = set(node) - ALLOWED_KEYWORDS
    assert not extra, f"{path}: keywords Gemini rejects: {extra}"
    kind = node.get("type")
    if "anyOf" not in node:
        assert kind in TYPES, f"{path}: no type and no anyOf"
    else:
        assert "type" not in node, f"{path}: anyOf beside type"
        assert isinstance(node["anyOf"], list) and len(node["anyOf"]) >= 2, f"{path}: anyOf"
        for i, branch in enumerate(node["anyOf"]):
            assert_gemini_schema(branch, f"{path}.anyOf[{i}]")
    if "description" in node:
        assert isinstance(node["description"], str)
    if "nullable" in node:
        assert node["nullable"] is True
    if "properties" in node:
        assert kind == "object", f"{path}: properties on {kind}"
        assert isinstance(node["properties"], dict) and node["properties"], f"{path}: empty"
        for name, sub in node["properties"].items():
            assert_gemini_schema(sub, f"{path}.{name}")
    for key in ("required", "propertyOrdering"):
        if key in node:
            assert kind == "object" and node[key], f"{path}: {key}"
            assert all(r in node.get("properties", {}) for r in node[key]), f"{path}: {key}"
            assert len(set(node[key])) == len(node[key])
    if kind == "array":
        assert "items" in node, f"{path}: array without items"
    if "items" in node:
        assert kind == "array", f"{path}: items on {kind}"
        assert_gemini_schema(node["items"], f"{path}[]")
    if "enum" in node:
        assert kind == "string", f"{path}: enum on {kind}"
        assert node["enum"] and all(isinstance(v, str) for v in node["enum"])
    if "format" in node:
        assert node["format"] in FORMATS.get(kind, ()), f"{path}: format {node['format']}"
    for key in ("minLength", "maxLength", "pattern"):
        if key in node:
            assert kind == "string", f"{path}: {key} on {kind}"
    for key in ("minimum", "maximum"):
        if key in node:
            assert kind in ("number", "integer"), f"{path}: {key} on {kind}"
            assert isinstance(node[key], int | float) and not isinstance(node[key], bool)
    for key in ("minItems", "maxItems"):
        if key in node:
            assert kind == "array", f"{path}: {key} on {kind}"


def s(schema: Any) -> dict[str, Any]:
    out = sanitize_schema(schema)
    assert_gemini_schema(out)
    return out


# -- dropped keywords ------------------------------------------------------------


def test_json_schema_only_keywords_are_dropped() -> None:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:x",
        "$comment": "hi",
        "title": "Thing",
        "type": "object",
        "properties": {
            "a": {"type": "string", "default": "x", "examples": ["y"], "readOnly": True}
        },
        "additionalProperties": False,
        "unevaluatedProperties": False,
        "patternProperties": {"^x": {"type": "string"}},
        "propertyNames": {"pattern": "^[a-z]+$"},
        "dependencies": {"a": ["b"]},
        "dependentRequired": {"a": ["b"]},
        "if": {"properties": {"a": {"const": "x"}}},
        "then": {"required": ["a"]},
        "else": {},
        "minProperties": 1,
    }
    assert s(schema) == {"type": "object", "properties": {"a": {"type": "string"}}}


def test_input_is_never_mutated() -> None:
    schema = {
        "$defs": {"n": {"type": ["integer", "null"], "exclusiveMinimum": 0}},
        "type": "object",
        "properties": {"x": {"$ref": "#/$defs/n"}, "y": {"anyOf": [{"type": "null"}, {}]}},
        "required": ["x", "nope"],
    }
    before = copy.deepcopy(schema)
    s(schema)
    assert schema == before


# -- types and null --------------------------------------------------------------


def test_type_list_with_null_becomes_nullable() -> None:
    assert s({"type": ["string", "null"]}) == {"type": "string", "nullable": True}


def test_type_list_of_several_types_becomes_any_of_with_each_types_keywords() -> None:
    out = s(
        {"type": ["string", "integer", "null"], "minLength": 2, "minimum": 3, "description": "d"}
    )
    assert out == {
        "description": "d",
        "anyOf": [
            {"type": "string", "minLength": 2, "nullable": True},
            {"type": "integer", "minimum": 3, "nullable": True},
        ],
    }


def test_any_of_with_null_branch_is_nullable_and_collapses_to_one_branch() -> None:
    out = s(
        {"description": "d", "anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]}
    )
    assert out == {"description": "d", "type": "string", "format": "date-time", "nullable": True}


def test_one_of_is_read_as_any_of() -> None:
    out = s({"oneOf": [{"type": "integer"}, {"type": "boolean"}]})
    assert out == {"anyOf": [{"type": "integer"}, {"type": "boolean"}]}


def test_union_of_string_enums_is_one_enum() -> None:
    out = s({"anyOf": [{"type": "string", "enum": ["a", "b"]}, {"type": "string", "const": "c"}]})
    assert out == {"type": "string", "enum": ["a", "b", "c"]}


def test_keywords_beside_a_union_apply_to_every_branch() -> None:
    out = s(
        {
            "type": "object",
            "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
            "anyOf": [{"required": ["a"]}, {"required": ["b"]}],
        }
    )
    assert out == {
        "anyOf": [
            {
                "type": "object",
                "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
                "required": ["a"],
            },
            {
                "type": "object",
                "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
                "required": ["b"],
            },
        ]
    }


def test_nested_unions_are_flattened() -> None:
    out = s({"anyOf": [{"anyOf": [{"type": "integer"}, {"type": "boolean"}]}, {"type": "string"}]})
    assert out == {"anyOf": [{"type": "integer"}, {"type": "boolean"}, {"type": "string"}]}


def test_only_null_is_a_nullable_string() -> None:
    assert s({"type": "null"}) == {"type": "string", "nullable": True}
    assert s({"anyOf": [{"type": "null"}]}) == {"type": "string", "nullable": True}


def test_no_type_is_inferred_from_keywords() -> None:
    assert s({"properties": {"a": {"type": "string"}}})["type"] == "object"
    assert s({"items": {"type": "string"}})["type"] == "array"
    assert s({"pattern": "^a"}) == {"type": "string", "pattern": "^a"}
    assert s({"maximum": 3}) == {"type": "number", "maximum": 3}


def test_a_value_of_any_type_is_a_union_of_json_types() -> None:
    for anything in ({}, True, {"description": "any value"}):
        out = s(anything)
        assert [b.get("type") for b in out["anyOf"]] == [
            "string",
            "number",
            "boolean",
            "object",
            "array",
        ]
    assert s({"description": "any value"})["description"] == "any value"


# -- const and enum --------------------------------------------------------------


def test_const_is_a_one_value_enum() -> None:
    assert s({"type": "string", "const": "x"}) == {"type": "string", "enum": ["x"]}
    assert s({"const": "x"}) == {"type": "string", "enum": ["x"]}


def test_null_in_enum_means_nullable() -> None:
    out = s({"enum": ["a", None]})
    assert out == {"type": "string", "enum": ["a"], "nullable": True}


def test_non_string_enum_keeps_its_type_and_moves_values_to_the_description() -> None:
    # Gemini enums are strings only; sending "2" to a tool that wants 2 fails.
    assert s({"type": "integer", "enum": [1, 2], "description": "Level"}) == {
        "description": "Level\nAllowed values: 1, 2.",
        "type": "integer",
    }
    assert s({"enum": [0.5, 1]}) == {"description": "Allowed values: 0.5, 1.", "type": "number"}
    assert s({"const": True}) == {"description": "Allowed values: true.", "type": "boolean"}


def test_mixed_enum_becomes_a_string_enum() -> None:
    assert s({"enum": ["a", 1, True]}) == {"type": "string", "enum": ["a", "1", "true"]}


# -- numbers and formats ---------------------------------------------------------


def test_exclusive_bounds_become_inclusive() -> None:
    assert s({"type": "integer", "exclusiveMinimum": 0}) == {"type": "integer", "minimum": 1}
    assert s({"type": "integer", "exclusiveMaximum": 10, "maximum": 20}) == {
        "type": "integer",
        "maximum": 9,
    }
    assert s({"type": "number", "exclusiveMinimum": 0.5}) == {"type": "number", "minimum": 0.5}
    # draft 4: a boolean beside minimum
    assert s({"type": "integer", "minimum": 3, "exclusiveMinimum": True}) == {
        "type": "integer",
        "minimum": 4,
    }


def test_formats_are_kept_only_where_gemini_knows_them() -> None:
    assert s({"type": "string", "format": "date-time"})["format"] == "date-time"
    assert "format" not in s({"type": "string", "format": "uri"})
    assert "format" not in s({"type": "string", "format": "email"})
    assert s({"type": "integer", "format": "int64"})["format"] == "int64"
    assert "format" not in s({"type": "integer", "format": "float"})
    assert s({"type": "number", "format": "double"})["format"] == "double"


def test_keywords_of_another_type_are_dropped() -> None:
    out = s({"type": "string", "minimum": 1, "items": {"type": "string"}, "maxLength": 5})
    assert out == {"type": "string", "maxLength": 5}
    assert s({"type": "integer", "maxLength": -1, "minimum": True}) == {"type": "integer"}


# -- objects and arrays ----------------------------------------------------------


def test_empty_properties_are_omitted_and_required_names_only_properties() -> None:
    assert s({"type": "object", "properties": {}, "required": ["a"]}) == {"type": "object"}
    out = s(
        {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a", "b", "a"]}
    )
    assert out["required"] == ["a"]


def test_property_ordering_is_kept_for_known_properties() -> None:
    out = s(
        {
            "type": "object",
            "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
            "propertyOrdering": ["b", "zz", "a"],
        }
    )
    assert out["propertyOrdering"] == ["b", "a"]


def test_every_array_has_items() -> None:
    assert s({"type": "array"})["items"]["anyOf"]
    assert s({"type": "array", "items": [{"type": "string"}]})["items"] == {"type": "string"}
    assert s({"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]})[
        "items"
    ] == {"anyOf": [{"type": "string"}, {"type": "integer"}]}


def test_all_of_is_merged() -> None:
    out = s(
        {
            "allOf": [
                {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
                {"properties": {"b": {"type": "integer"}}, "required": ["b"]},
            ],
            "description": "both",
        }
    )
    assert out == {
        "description": "both",
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    }


# -- references ------------------------------------------------------------------


def test_refs_are_inlined_from_defs_and_definitions() -> None:
    schema = {
        "$defs": {"name": {"type": "string", "minLength": 1}},
        "definitions": {"age": {"type": "integer"}},
        "type": "object",
        "properties": {
            "n": {"$ref": "#/$defs/name", "description": "the name"},
            "a": {"$ref": "#/definitions/age"},
            "p": {"$ref": "#/properties/a"},
        },
    }
    assert s(schema)["properties"] == {
        "n": {"description": "the name", "type": "string", "minLength": 1},
        "a": {"type": "integer"},
        "p": {"type": "integer"},
    }


def test_recursive_ref_is_cut_to_a_plain_object() -> None:
    schema = {
        "$defs": {
            "tree": {
                "type": "object",
                "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/tree"}}},
            }
        },
        "$ref": "#/$defs/tree",
    }
    assert s(schema) == {
        "type": "object",
        "properties": {"kids": {"type": "array", "items": {"type": "object"}}},
    }


def test_unresolvable_ref_is_a_plain_object() -> None:
    assert s({"$ref": "https://example.com/schema.json", "description": "d"}) == {
        "description": "d",
        "type": "object",
    }
    assert s({"$ref": "#/$defs/missing"}) == {"type": "object"}


def test_deep_nesting_is_cut() -> None:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(MAX_DEPTH * 3):
        schema = {"type": "object", "properties": {"x": schema}}
    out = s(schema)
    depth = 0
    while "properties" in out:
        out = out["properties"]["x"]
        depth += 1
    assert out == {"type": "object"}
    assert depth <= MAX_DEPTH + 1


def test_exponential_ref_fan_out_is_bounded() -> None:
    defs: dict[str, Any] = {"d0": {"type": "string"}}
    for i in range(1, 30):
        defs[f"d{i}"] = {
            "type": "object",
            "properties": {"a": {"$ref": f"#/$defs/d{i - 1}"}, "b": {"$ref": f"#/$defs/d{i - 1}"}},
        }
    out = s({"$defs": defs, "$ref": "#/$defs/d29"})
    assert len(orjson.dumps(out)) < 2_000_000


# -- parameters ------------------------------------------------------------------


def test_parameters_are_omitted_for_a_tool_without_arguments() -> None:
    assert sanitize_parameters({"type": "object", "properties": {}}) is None
    assert sanitize_parameters({"type": "object", "additionalProperties": False}) is None
    assert sanitize_parameters(None) is None
    assert sanitize_parameters({"type": "string"}) is None


def test_parameters_root_union_is_flattened_into_one_object() -> None:
    out = sanitize_parameters(
        {
            "description": "either",
            "anyOf": [
                {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
                {"type": "object", "properties": {"b": {"type": "integer"}}},
            ],
        }
    )
    assert out == {
        "description": "either",
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
    }


def test_parameters_root_is_never_nullable() -> None:
    out = sanitize_parameters({"type": ["object", "null"], "properties": {"a": {"type": "string"}}})
    assert out == {"type": "object", "properties": {"a": {"type": "string"}}}


def _golden_tools() -> list[dict[str, Any]]:
    body = orjson.loads(
        (GOLDEN / "anthropic_session_with_tools" / "client_request.json").read_bytes()
    )
    return [t for t in body["tools"] if "input_schema" in t]


@pytest.mark.parametrize("tool", _golden_tools(), ids=lambda t: t["name"])
def test_claude_code_like_tools_sanitize_to_valid_gemini_schemas(tool: dict[str, Any]) -> None:
    params = sanitize_parameters(tool["input_schema"])
    if params is not None:
        assert params["type"] == "object" and params["properties"]
        assert_gemini_schema(params)


# -- property --------------------------------------------------------------------

_KEYWORDS = (
    "type properties items prefixItems anyOf oneOf allOf enum const format required "
    "description nullable minimum maximum exclusiveMinimum exclusiveMaximum minLength "
    "maxLength pattern minItems maxItems $ref $defs definitions additionalProperties "
    "propertyNames default title examples $schema propertyOrdering if then else not x-custom"
).split()
_WORDS = (
    "string number integer boolean array object null bogus date-time uri int64 # "
    "#/$defs/a #/definitions/b #/properties/x #/$defs/a/properties/y a b x"
).split()
_TYPE_NAMES = "string number integer boolean array object null".split()
_names = st.sampled_from(_KEYWORDS)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(_WORDS),
)
_types = st.one_of(st.sampled_from(_TYPE_NAMES), st.lists(st.sampled_from(_TYPE_NAMES), max_size=4))


def _schemas() -> st.SearchStrategy[Any]:
    def extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        keyed = st.dictionaries(_names, st.one_of(children, _scalars, _types), max_size=6)
        props = st.dictionaries(st.sampled_from(["a", "b", "x", "y", "-n"]), children, max_size=4)
        structured = st.fixed_dictionaries(
            {},
            optional={
                "type": _types,
                "properties": props,
                "$defs": st.dictionaries(st.sampled_from(["a", "b"]), children, max_size=2),
                "definitions": st.dictionaries(st.sampled_from(["a", "b"]), children, max_size=2),
                "anyOf": st.lists(children, max_size=3),
                "allOf": st.lists(children, max_size=2),
                "items": st.one_of(children, st.lists(children, max_size=2)),
                "required": st.lists(st.sampled_from(["a", "b", "zz"]), max_size=3),
                "enum": st.lists(_scalars, max_size=3),
                "$ref": st.sampled_from(["#", "#/$defs/a", "#/definitions/b", "#/properties/x"]),
            },
        )
        return st.one_of(keyed, structured, st.lists(children, max_size=2))

    return st.recursive(st.one_of(_scalars, st.just({})), extend, max_leaves=25)


@settings(max_examples=400, deadline=None)
@given(_schemas())
def test_any_schema_like_input_yields_a_valid_gemini_schema(schema: Any) -> None:
    before = copy.deepcopy(schema)
    out = sanitize_schema(schema)
    assert_gemini_schema(out)
    assert schema == before
    params = sanitize_parameters(schema)
    if params is not None:
        assert params["type"] == "object" and "nullable" not in params
        assert_gemini_schema(params)
