"""decK files on the client side: YAML writing, merged paths, masking."""

from __future__ import annotations

import io
import pathlib
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lockgate.cli.deck_files import dump_yaml, read_files
from lockgate.config.yaml_core import load_yaml

_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | st.floats(allow_nan=False),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(_VALUES)
def test_dump_yaml_round_trips_through_the_core_schema_loader(value: Any) -> None:
    document = {"_format_version": "3.0", "value": value}
    assert load_yaml(dump_yaml(document)) == document


def test_dump_yaml_keeps_lua_code_readable() -> None:
    code = "local body = kong.request.get_body()\nif not body then\n  return\nend\n"
    text = dump_yaml({"plugins": [{"name": "pre-function", "config": {"access": [code]}}]})
    assert "- |\n" in text and "  local body = kong.request.get_body()\n" in text
    assert load_yaml(text)["plugins"][0]["config"]["access"] == [code]


def test_merged_paths_map_back_to_their_files(tmp_path: pathlib.Path) -> None:
    first = '_format_version: "3.0"\nservices:\n- {name: a, host: h}\n- {name: b, host: h}\n'
    second = '_format_version: "3.0"\nservices:\n- {name: c, host: h}\nplugins:\n- name: file-log\n'
    path = tmp_path / "second.yaml"
    path.write_text(second)
    files = read_files(["-", str(path)], io.StringIO(first), {})
    assert [s["name"] for s in files.document["services"]] == ["a", "b", "c"]
    assert files.origin("services[2].routes[0]") == f"{path}: services[0].routes[0]"
    assert files.origin("services[1]") == "-: services[1]"
    assert files.origin("plugins[0]") == f"{path}: plugins[0]"
    assert files.origin("something else") == "something else"


def test_substituted_values_are_masked() -> None:
    text = '_format_version: "3.0"\nservices:\n- name: s\n  host: ${{ env "DECK_HOST" }}\n  path: ${{ env "DECK_P" }}\n'
    files = read_files(["-"], io.StringIO(text), {"DECK_HOST": "secret.example", "DECK_P": "/a"})
    assert files.document["services"][0]["host"] == "secret.example"
    assert (
        files.mask('"secret.example" /a') == '"[masked]" /a'
    )  # values under 4 characters are kept
