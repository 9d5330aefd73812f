"""Fixtures for the Admin API tests: a SQLite store in tmp_path, an in-process
client, and the published OpenAPI spec as a response checker."""

from __future__ import annotations

import pathlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer

from lockgate.admin.app import build_admin_app
from lockgate.store.sqlite import SQLiteStore

#: Kong's published Admin API spec, trimmed (``shared/`` sits beside the repository).
SPEC_PATH = (
    pathlib.Path(__file__).resolve().parents[2].parent
    / "shared"
    / "reference"
    / "kong-admin-api"
    / "openapi.yaml"
)


# -- app -------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: pathlib.Path) -> SQLiteStore:
    return SQLiteStore(str(tmp_path / "lockgate.db"))


@pytest.fixture
async def client(store: SQLiteStore) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(build_admin_app(store))) as c:
        yield c


# -- the OpenAPI spec as a checker ---------------------------------------------------


class SpecChecker:
    """Checks answers against the spec's response schemas (the OpenAPI 3.0
    subset the file uses: $ref, type, nullable, required, properties,
    additionalProperties, items, enum, anyOf/oneOf, writeOnly)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec

    def _resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = self.spec
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = target
        return node

    def schema(self, name: str) -> dict[str, Any]:
        return self._resolve({"$ref": f"#/components/schemas/{name}"})

    def response_schema(self, method: str, path: str, status: int) -> dict[str, Any] | None:
        operation = self.spec["paths"][path][method.lower()]
        response = self._resolve(operation["responses"][str(status)])
        content = response.get("content")
        if content is None:
            return None
        return self._resolve(content["application/json"]["schema"])

    def errors(self, value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
        schema = self._resolve(schema)
        if value is None:
            return [] if schema.get("nullable") else [f"{where}: null but not nullable"]
        for key in ("anyOf", "oneOf"):
            if key in schema:
                results = [self.errors(value, option, where) for option in schema[key]]
                passed = sum(1 for r in results if not r)
                if (key == "anyOf" and passed == 0) or (key == "oneOf" and passed != 1):
                    return [f"{where}: {passed} of the {key} options match ({results})"]
                return []
        kind = schema.get("type")
        checks: dict[str, Callable[[Any], bool]] = {
            "object": lambda v: isinstance(v, dict),
            "array": lambda v: isinstance(v, list),
            "string": lambda v: isinstance(v, str),
            "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
            "boolean": lambda v: isinstance(v, bool),
        }
        if kind and not checks[kind](value):
            return [f"{where}: expected {kind}, got {value!r}"]
        if "enum" in schema and value not in schema["enum"]:
            return [f"{where}: {value!r} not in {schema['enum']}"]
        out: list[str] = []
        if isinstance(value, dict):
            props = schema.get("properties", {})
            for name in schema.get("required", []):
                if name not in value:
                    out.append(f"{where}.{name}: required")
            extra = schema.get("additionalProperties", True)
            for name, item in value.items():
                if name in props:
                    prop = self._resolve(props[name])
                    if prop.get("writeOnly"):
                        out.append(f"{where}.{name}: writeOnly field in an answer")
                    out.extend(self.errors(item, prop, f"{where}.{name}"))
                elif extra is False:
                    out.append(f"{where}.{name}: not in the schema")
                elif isinstance(extra, dict):
                    out.extend(self.errors(item, extra, f"{where}.{name}"))
        if isinstance(value, list) and "items" in schema:
            for i, item in enumerate(value):
                out.extend(self.errors(item, schema["items"], f"{where}[{i}]"))
        return out

    def check(self, method: str, path: str, status: int, body: Any) -> None:
        schema = self.response_schema(method, path, status)
        assert schema is not None, f"{method} {path} {status}: the spec has no body"
        problems = self.errors(body, schema)
        assert not problems, "\n".join(problems)

    def check_entity(self, name: str, body: Any) -> None:
        """Every field of the schema present (Kong answers null where unset), none more."""
        schema = self.schema(name)
        options = [self._resolve(o) for o in schema.get("anyOf", [schema])]
        problems = self.errors(body, schema)
        assert not problems, "\n".join(problems)
        fields = set(body)
        readable = [
            {k for k, v in o["properties"].items() if not self._resolve(v).get("writeOnly")}
            for o in options
        ]
        assert any(fields >= r - {"expression", "priority"} for r in readable), (
            f"{name}: missing {min((r - fields for r in readable), key=len)}"
        )


@pytest.fixture(scope="session")
def spec() -> SpecChecker:
    if not SPEC_PATH.exists():
        pytest.skip(f"the Admin API spec is not at {SPEC_PATH}")
    return SpecChecker(yaml.safe_load(SPEC_PATH.read_text()))
