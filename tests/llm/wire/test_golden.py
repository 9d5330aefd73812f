"""Golden fixtures: hand-written client/upstream pairs, one folder per case.

``golden/<direction>/<case>/`` holds ``meta.json`` (model, parameters, the
rules the case states) and any of the pairs ``client_request.json`` ->
``upstream_request.json``, ``upstream_response.json`` ->
``client_response.json``, ``upstream_stream.txt`` -> ``client_stream.txt``
(raw SSE). The direction names the client format first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anthropic
import openai
import orjson
import pytest
from tests.llm.wire.anthropic_events import (
    parse_sse,
    replay_anthropic_stream,
    replay_openai_stream,
    validate_anthropic_events,
)

from lockgate.llm.usage import Usage
from lockgate.llm.wire.anthropic_openai import (
    OpenAIToAnthropicStream,
    anthropic_to_openai_request,
    openai_to_anthropic_response,
)
from lockgate.llm.wire.openai_anthropic import (
    anthropic_to_openai_response,
    openai_to_anthropic_request,
)
from lockgate.llm.wire.openai_anthropic_stream import AnthropicToOpenAIStream

GOLDEN = Path(__file__).parent / "golden"


def _cases(direction: str, first_file: str) -> list[Any]:
    root = GOLDEN / direction
    return [
        pytest.param(path, id=path.name)
        for path in sorted(root.iterdir())
        if (path / first_file).is_file()
    ]


def _json(path: Path) -> Any:
    return orjson.loads(path.read_bytes())


def _meta(case: Path) -> dict[str, Any]:
    meta = _json(case / "meta.json")
    assert meta.get("rules"), f"{case.name}: meta.json must state the rules the case checks"
    return meta


def _check_usage(meta: dict[str, Any], usage: Usage) -> None:
    expected = meta.get("usage")
    if expected is None:
        return
    actual = {key: getattr(usage, key) for key in expected}
    assert actual == expected


def _upstream_events(case: Path) -> list[dict[str, Any]]:
    """The upstream stream's decoded events, without [DONE] (the caller never feeds it)."""
    return [
        data
        for _, data in parse_sse((case / "upstream_stream.txt").read_bytes())
        if data != "[DONE]"
    ]


# ---------------------------------------------------------- Anthropic client, OpenAI upstream


@pytest.mark.parametrize("case", _cases("anthropic_openai", "client_request.json"))
def test_anthropic_to_openai_request(case: Path) -> None:
    meta = _meta(case)
    body = _json(case / "client_request.json")
    before = orjson.dumps(body)
    out = anthropic_to_openai_request(body, meta["model"])
    assert out == _json(case / "upstream_request.json")
    assert orjson.dumps(body) == before, "the client body must not be modified"


@pytest.mark.parametrize("case", _cases("anthropic_openai", "upstream_response.json"))
def test_openai_to_anthropic_response(case: Path) -> None:
    meta = _meta(case)
    out, usage = openai_to_anthropic_response(
        _json(case / "upstream_response.json"), meta["model"], meta.get("stop_sequences")
    )
    assert out == _json(case / "client_response.json")
    _check_usage(meta, usage)
    # The official SDK accepts it as a Message.
    anthropic.types.Message.model_validate(out)


@pytest.mark.parametrize("case", _cases("anthropic_openai", "upstream_stream.txt"))
def test_openai_to_anthropic_stream(case: Path) -> None:
    meta = _meta(case)
    translator = OpenAIToAnthropicStream(
        meta["model"], meta.get("input_tokens_estimate", 0), meta.get("stop_sequences")
    )
    raw = b"".join(translator.feed(event) for event in _upstream_events(case)) + translator.finish()
    assert translator.finish() == b"", "nothing after the end"
    events = parse_sse(raw)
    assert events == parse_sse((case / "client_stream.txt").read_bytes())
    validate_anthropic_events(events)
    _check_usage(meta, translator.usage)
    if events[-1][0] == "error":
        with pytest.raises(anthropic.APIError):
            replay_anthropic_stream(raw)
        return
    message = replay_anthropic_stream(raw)
    if "sdk_inputs" in meta:
        inputs = [block.input for block in message.content if block.type == "tool_use"]
        assert inputs == meta["sdk_inputs"]


# ---------------------------------------------------------- OpenAI client, Anthropic upstream


@pytest.mark.parametrize("case", _cases("openai_anthropic", "client_request.json"))
def test_openai_to_anthropic_request(case: Path) -> None:
    meta = _meta(case)
    body = _json(case / "client_request.json")
    before = orjson.dumps(body)
    out = openai_to_anthropic_request(body, meta["model"], meta.get("default_max_tokens", 4096))
    assert out == _json(case / "upstream_request.json")
    assert orjson.dumps(body) == before, "the client body must not be modified"


@pytest.mark.parametrize("case", _cases("openai_anthropic", "upstream_response.json"))
def test_anthropic_to_openai_response(case: Path) -> None:
    meta = _meta(case)
    out, usage = anthropic_to_openai_response(
        _json(case / "upstream_response.json"),
        meta["model"],
        created=meta["created"],
        json_tool=meta.get("json_tool"),
    )
    assert out == _json(case / "client_response.json")
    _check_usage(meta, usage)
    openai.types.chat.ChatCompletion.model_validate(out)


@pytest.mark.parametrize("case", _cases("openai_anthropic", "upstream_stream.txt"))
def test_anthropic_to_openai_stream(case: Path) -> None:
    meta = _meta(case)
    translator = AnthropicToOpenAIStream(
        meta["model"],
        meta.get("include_usage", False),
        created=meta["created"],
        json_tool=meta.get("json_tool"),
    )
    raw = b"".join(translator.feed(event) for event in _upstream_events(case)) + translator.finish()
    assert translator.finish() == b"", "nothing after the end"
    events = parse_sse(raw)
    assert events == parse_sse((case / "client_stream.txt").read_bytes())
    _check_usage(meta, translator.usage)
    if events[-1][1] != "[DONE]":
        with pytest.raises(openai.APIError):
            replay_openai_stream(raw)
        return
    replay_openai_stream(raw)
