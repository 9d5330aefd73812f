"""What a snippet returns comes back to Python as plain JSON-ready values
(file-log's custom_fields_by_lua uses it)."""

from __future__ import annotations

from typing import Any

import pytest

from lockgate.lua import LuaRequest, LuaRuntime


def _value(runtime: LuaRuntime, code: str) -> Any:
    request = LuaRequest(headers={"x-tenant": "acme"})
    return runtime.run(runtime.compile(code, "field"), request, "log")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("return 'text'", "text"),
        ("return 42", 42),
        ("return 1.5", 1.5),
        ("return true", True),
        ("return nil", None),
        ("", None),
        ("return kong.request.get_header('x-tenant')", "acme"),
        ("return {1, 'two', {3}}", [1, "two", [3]]),
        ("return {a = 1, b = {c = 'd'}}", {"a": 1, "b": {"c": "d"}}),
        ("return {[1] = 'a', [3] = 'c'}", {"1": "a", "3": "c"}),  # not a sequence
        ("return {}", {}),
        ("return function() end", None),
    ],
)
def test_returned_values(runtime: LuaRuntime, code: str, expected: Any) -> None:
    assert _value(runtime, code) == expected


def test_a_cycle_is_cut_at_the_depth_limit(runtime: LuaRuntime) -> None:
    value = _value(runtime, "local t = {name = 'loop'} t.self = t return t")
    depth = 0
    while isinstance(value, dict):
        assert value["name"] == "loop"
        value, depth = value["self"], depth + 1
    assert value is None and depth == 32


def test_a_huge_table_is_cut_at_the_value_budget(runtime: LuaRuntime) -> None:
    # 2^20 leaves if expanded: the budget stops it early instead
    code = "local x = {1} for i = 1, 20 do x = {x, x} end return x"
    value = _value(runtime, code)

    def count(v: Any) -> int:
        return 1 + sum(count(c) for c in v) if isinstance(v, list) else 1

    assert 10_000 <= count(value) < 10_100  # the budget, plus the None left in open lists
