"""No input file produces a traceback (issue 15, part 4): the decK loader,
the local checks behind ``validate``/``apply``/``sync`` and the Admin API's
``POST /config`` steps either accept a file or raise their own error."""

from __future__ import annotations

import io
import json
import os
from typing import Any

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lockgate.admin.config_check import check_declarative
from lockgate.cli.config_warnings import config_warnings
from lockgate.cli.deck_files import CheckFailed, read_files
from lockgate.cli.gateway import _checked
from lockgate.config.declarative import DeclarativeError, flatten, parse_document
from lockgate.config.errors import ConfigError
from lockgate.config.state import GatewayState

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**40), max_value=2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(
        [
            "",
            "example-service",
            "example-route",
            "my-route",
            "/anything",
            "http://h/x",
            "ai-proxy",
            "ai-proxy-advanced",
            "file-log",
            "key-auth",
            "pre-function",
            "llm/v1/chat",
            "anthropic",
            "openai",
            "gemini",
            "Bearer x",
            "3.0",
            "7b6f6a8e-2a3b-4c1d-9e0f-112233445566",
            '${{ env "DECK_X" }}',
        ]
    )
    | st.text(max_size=8)
)
_KEYS = st.sampled_from(
    [
        "name",
        "id",
        "url",
        "host",
        "port",
        "path",
        "paths",
        "methods",
        "protocols",
        "service",
        "route",
        "consumer",
        "username",
        "config",
        "enabled",
        "routes",
        "plugins",
        "keyauth_credentials",
        "key",
        "tags",
        "model",
        "provider",
        "auth",
        "header_name",
        "header_value",
        "targets",
        "route_type",
        "llm_format",
        "access",
        "instance_name",
        "strip_path",
    ]
) | st.text(max_size=5)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=12,
)
_TOP = st.fixed_dictionaries(
    {"_format_version": st.sampled_from(["3.0", "3.0", "1.1", 3, None])},
    optional={
        key: st.lists(st.dictionaries(_KEYS, _VALUES, max_size=5), max_size=3) | _VALUES
        for key in ("services", "routes", "consumers", "plugins", "upstreams")
    },
)
ENV = {"DECK_X": 'a "quoted"\nvalue'}
#: A longer campaign: LOCKGATE_FUZZ_EXAMPLES=5000 pytest tests/cli/test_deck_loader_fuzz.py
EXAMPLES = int(os.environ.get("LOCKGATE_FUZZ_EXAMPLES") or 400)


def _render(document: Any, as_json: bool) -> str:
    if as_json:
        return json.dumps(document)
    return yaml.safe_dump(document, sort_keys=False)


def _load_like_every_command(text: str) -> None:
    try:
        files = read_files(["-"], io.StringIO(text), ENV)
    except CheckFailed as exc:
        assert exc.lines and all(isinstance(line, str) for line in exc.lines)
        return
    files.warnings()
    for mode in ("validate", "apply", "sync"):
        try:
            files.check(mode=mode)
        except CheckFailed as exc:
            assert exc.lines
        else:
            _checked(["-"], files)


def _load_like_the_admin_api(text: str) -> None:
    try:
        decl = flatten(parse_document(text, "config", {}), "config")
    except DeclarativeError:
        return
    for sync in (True, False):
        if check_declarative(decl, existing=GatewayState(), check_refs=True):
            continue
        try:
            state = GatewayState().apply(decl, sync=sync)
        except ConfigError:
            continue
        config_warnings(state.dump(), ["0.0.0.0"])


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TOP, st.booleans())
# crashes the fuzzing found: a list as a plugin name, a boolean as a service url
@example({"_format_version": "3.0", "plugins": [{"name": []}]}, False)
@example({"_format_version": "3.0", "services": [{"url": True}]}, False)
@example({"_format_version": "3.0", "plugins": [{"name": "file-log", "route": "r"}]}, True)
def test_structured_documents_never_raise_anything_else(document: Any, as_json: bool) -> None:
    text = _render(document, as_json)
    _load_like_every_command(text)
    _load_like_the_admin_api(text)


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.text(max_size=80) | st.binary(max_size=60).map(lambda b: b.decode("latin-1")))
def test_arbitrary_text_never_raises_anything_else(text: str) -> None:
    _load_like_every_command(text)
    _load_like_the_admin_api(text)


@settings(max_examples=EXAMPLES // 2, deadline=None)
@given(_VALUES)
def test_any_top_level_value_never_raises_anything_else(value: Any) -> None:
    _load_like_every_command(_render(value, as_json=False))
    _load_like_every_command(_render({"_format_version": "3.0", "plugins": value}, True))
