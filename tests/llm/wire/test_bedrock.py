"""Golden fixtures for Bedrock Converse, one folder per case under ``golden_bedrock/``.

``meta.json`` (model, rules, expected usage) and any of the pairs
``client_request.json`` -> ``upstream_request.json``,
``upstream_response.json`` -> ``client_response.json``,
``upstream_stream.json`` -> ``client_stream.json``. A stream case lists
ConverseStream events as ``[eventType, payload]`` (or ``["exception", type,
message]``); the test frames them as AWS event-stream messages, feeds the
bytes in odd-sized pieces through botocore's parser, and compares the
Anthropic events; the official SDK's accumulator must accept the stream.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from tests.llm.wire.anthropic_events import (
    parse_sse,
    replay_anthropic_stream,
    replay_openai_stream,
    validate_anthropic_events,
)

from lockgate.llm.wire.bedrock import (
    anthropic_to_converse_request,
    anthropic_to_count_tokens_request,
    bedrock_betas,
    converse_error,
    converse_to_anthropic_response,
    supports_cache_points,
)
from lockgate.llm.wire.bedrock_stream import (
    ConverseToAnthropicStream,
    ConverseToOpenAIStream,
    EventStreamDecoder,
)
from lockgate.testing.emulator.bedrock import encode_frame

GOLDEN = Path(__file__).parent / "golden_bedrock"


def _cases(first_file: str) -> list[Any]:
    return [
        pytest.param(path, id=path.name)
        for path in sorted(GOLDEN.iterdir())
        if (path / first_file).is_file()
    ]


def _json(path: Path) -> Any:
    return orjson.loads(path.read_bytes())


def _meta(case: Path) -> dict[str, Any]:
    meta: dict[str, Any] = _json(case / "meta.json")
    assert meta.get("rules"), f"{case.name}: meta.json must state the rules the case checks"
    return meta


def _frames(events: list[list[Any]]) -> bytes:
    out = b""
    for event in events:
        if event[0] == "exception":
            headers = {
                ":exception-type": event[1],
                ":content-type": "application/json",
                ":message-type": "exception",
            }
            out += encode_frame(headers, orjson.dumps({"message": event[2]}))
        else:
            headers = {
                ":event-type": event[0],
                ":content-type": "application/json",
                ":message-type": "event",
            }
            out += encode_frame(headers, orjson.dumps(event[1]))
    return out


def _translate(raw: bytes, translator: Any, piece: int = 7) -> bytes:
    decoder = EventStreamDecoder()
    out = b""
    for start in range(0, len(raw), piece):
        for event in decoder.feed(raw[start : start + piece]):
            out += translator.feed(event)
    return out + translator.finish()


def _fixed_id(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for event in events:
        if event["type"] == "message_start":
            assert event["message"]["id"].startswith("msg_bdrk_")
            event["message"]["id"] = "msg_bdrk_test"
    return events


@pytest.mark.parametrize("case", _cases("client_request.json"))
def test_request(case: Path) -> None:
    meta = _meta(case)
    client = _json(case / "client_request.json")
    before = orjson.dumps(client)
    assert anthropic_to_converse_request(client, meta["model"]) == _json(
        case / "upstream_request.json"
    )
    assert orjson.dumps(client) == before, "the client's request must not be changed"


@pytest.mark.parametrize("case", _cases("upstream_response.json"))
def test_response(case: Path) -> None:
    meta = _meta(case)
    message, usage = converse_to_anthropic_response(
        _json(case / "upstream_response.json"), meta["model"]
    )
    assert message["id"].startswith("msg_bdrk_")
    message["id"] = "msg_bdrk_test"
    assert message == _json(case / "client_response.json")
    expected = meta["usage"]
    assert usage.prompt_tokens == expected["prompt_tokens"]
    assert usage.completion_tokens == expected["completion_tokens"]
    assert usage.cached_tokens == expected["cached_tokens"]


@pytest.mark.parametrize("case", _cases("upstream_stream.json"))
def test_stream(case: Path) -> None:
    meta = _meta(case)
    raw = _frames(_json(case / "upstream_stream.json"))
    translator = ConverseToAnthropicStream(meta["model"], meta["estimate"])
    out = _translate(raw, translator)
    parsed = parse_sse(out)
    assert [name for name, _ in parsed] == [data["type"] for _, data in parsed]
    events = _fixed_id([data for _, data in parsed])
    assert events == _json(case / "client_stream.json")
    validate_anthropic_events(parsed)
    if "usage" in meta:
        assert translator.completed
        assert translator.usage.prompt_tokens == meta["usage"]["prompt_tokens"]
        assert translator.usage.completion_tokens == meta["usage"]["completion_tokens"]
        assert translator.usage.cached_tokens == meta["usage"]["cached_tokens"]
        message = replay_anthropic_stream(out)
        assert [b.type for b in message.content] == [
            e["content_block"]["type"] for e in events if e["type"] == "content_block_start"
        ]
    else:
        assert not translator.completed


def test_stream_to_openai_client() -> None:
    """The same events, encoded for an OpenAI client: reasoning, text and a tool call."""
    case = GOLDEN / "stream_thinking_tool"
    raw = _frames(_json(case / "upstream_stream.json"))
    translator = ConverseToOpenAIStream(_meta(case)["model"], True, 50)
    out = _translate(raw, translator, piece=13)
    assert out.endswith(b"data: [DONE]\n\n")
    completion = replay_openai_stream(out)
    choice = completion.choices[0]
    assert choice.message.content == "Reading it."
    (call,) = choice.message.tool_calls
    assert call.id == "tooluse_abc" and call.function.name == "Read"
    assert orjson.loads(call.function.arguments) == {"path": "main.py"}
    assert choice.finish_reason == "tool_calls"
    assert translator.usage.completion_tokens == 42


def test_corrupt_frame_ends_the_stream_with_an_error() -> None:
    raw = bytearray(_frames([["messageStart", {"role": "assistant"}]]))
    raw[-1] ^= 0xFF  # the message CRC no longer matches
    translator = ConverseToAnthropicStream("m", 1)
    out = _translate(bytes(raw), translator)
    (name, data) = parse_sse(out)[-1]
    assert name == "error" and data["error"]["type"] == "api_error"
    assert "ChecksumMismatch" in data["error"]["message"]


@pytest.mark.parametrize(
    ("exception", "status", "kind"),
    [
        ("ValidationException:http://internal.amazon.com/coral/", 400, "invalid_request_error"),
        ("UnrecognizedClientException", 401, "authentication_error"),
        ("InvalidSignatureException", 401, "authentication_error"),
        ("AccessDeniedException", 403, "permission_error"),
        ("ThrottlingException", 429, "rate_limit_error"),
        ("throttlingException", 429, "rate_limit_error"),
        ("ServiceUnavailableException", 529, "overloaded_error"),
        ("ModelNotReadyException", 529, "overloaded_error"),
        ("InternalServerException", 500, "api_error"),
        ("SomethingNew", 502, "api_error"),
    ],
)
def test_error_mapping(exception: str, status: int, kind: str) -> None:
    mapped, error_type, message = converse_error(exception, "why")
    assert (mapped, error_type) == (status, kind)
    assert message.endswith(": why") and ":http" not in message


@pytest.mark.parametrize(
    ("model", "caches"),
    [
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", True),
        ("anthropic.claude-3-7-sonnet-20250219-v1:0", True),
        ("global.anthropic.claude-opus-4-1-20250805-v1:0", True),
        ("anthropic.claude-3-5-haiku-20241022-v1:0", True),
        ("anthropic.claude-3-haiku-20240307-v1:0", False),
        ("anthropic.claude-3-5-sonnet-20240620-v1:0", False),
        ("us.amazon.nova-pro-v1:0", True),
        ("meta.llama3-1-70b-instruct-v1:0", False),
    ],
)
def test_cache_points_only_for_caching_models(model: str, caches: bool) -> None:
    assert supports_cache_points(model) is caches


def test_count_tokens_request_is_the_conversation_part() -> None:
    """CountTokens takes messages, system, toolConfig and the model fields, not inferenceConfig."""
    case = GOLDEN / "request_claude_code_turn"
    meta = _meta(case)
    counted = anthropic_to_count_tokens_request(_json(case / "client_request.json"), meta["model"])
    full = _json(case / "upstream_request.json")
    del full["inferenceConfig"]
    assert counted == {"input": {"converse": full}}


def test_bedrock_overflow_is_worded_as_anthropic_words_it() -> None:
    """Claude Code compacts only on Anthropic's "prompt is too long"; Bedrock
    says "Input is too long for requested model." in a ValidationException."""
    from lockgate.llm.providers.bedrock import BedrockProvider
    from lockgate.llm.providers.config import ModelConfig
    from lockgate.llm.wire.errors import upstream_error_to_anthropic

    provider = BedrockProvider(ModelConfig(provider="bedrock"), None)
    status, body = provider.upstream_error(
        400,
        orjson.dumps({"message": "Input is too long for requested model."}),
        {"x-amzn-ErrorType": "ValidationException:http://internal.amazon.com/coral/"},
    )
    status, answer = upstream_error_to_anthropic(status, body)
    assert status == 400
    assert answer["error"]["type"] == "invalid_request_error"
    assert answer["error"]["message"].startswith("prompt is too long")
    assert "Input is too long for requested model." in answer["error"]["message"]


#: What Claude Code sends a gateway it takes for Anthropic's API.
CLAUDE_CODE_BETAS = (
    "claude-code-20250219,oauth-2025-04-20,interleaved-thinking-2025-05-14,"
    "fine-grained-tool-streaming-2025-05-14, context-1m-2025-08-07,"
    "prompt-caching-scope-2026-01-05,effort-2025-11-24,interleaved-thinking-2025-05-14"
)


@pytest.mark.parametrize(
    ("model", "kept"),
    [
        (
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            ["interleaved-thinking-2025-05-14", "context-1m-2025-08-07"],
        ),
        (
            "global.anthropic.claude-opus-4-5-20251101-v1:0",
            ["interleaved-thinking-2025-05-14", "context-1m-2025-08-07", "effort-2025-11-24"],
        ),
        (
            "anthropic.claude-sonnet-4-20250514-v1:0",
            ["interleaved-thinking-2025-05-14", "context-1m-2025-08-07"],
        ),
        (
            "global.anthropic.claude-opus-4-6-v1",
            ["interleaved-thinking-2025-05-14", "context-1m-2025-08-07", "effort-2025-11-24"],
        ),
        # Opus 4.7 refuses the betas earlier models took.
        ("global.anthropic.claude-opus-4-7", []),
        # Claude 3.7 has neither interleaved thinking nor the 1M window.
        ("anthropic.claude-3-7-sonnet-20250219-v1:0", []),
        ("us.amazon.nova-pro-v1:0", []),
        ("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc", []),
    ],
)
def test_betas_bedrock_takes(model: str, kept: list[str]) -> None:
    assert bedrock_betas(CLAUDE_CODE_BETAS, model) == kept


def test_betas_go_in_the_additional_model_fields() -> None:
    from multidict import CIMultiDict

    from lockgate.llm.providers.bedrock import BedrockProvider
    from lockgate.llm.providers.config import ModelConfig

    provider = BedrockProvider(ModelConfig(provider="bedrock"), None)
    model = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    body = {"messages": [], "additionalModelRequestFields": {"top_k": 5}}
    headers = CIMultiDict({"Anthropic-Beta": CLAUDE_CODE_BETAS})
    assert provider.with_client_headers(dict(body), model, headers) == {
        "messages": [],
        "additionalModelRequestFields": {
            "top_k": 5,
            "anthropic_beta": ["interleaved-thinking-2025-05-14", "context-1m-2025-08-07"],
        },
    }
    # Nothing Bedrock takes: the body is left as it was.
    plain = CIMultiDict({"anthropic-beta": "claude-code-20250219"})
    assert provider.with_client_headers(dict(body), model, plain) == body
    assert provider.with_client_headers(dict(body), model, None) == body


def _tool_turns(choice: dict[str, Any], history: bool) -> dict[str, Any]:
    tool = {"name": "f", "input_schema": {"type": "object"}}
    messages: list[dict[str, Any]] = [{"role": "user", "content": "go"}]
    if history:
        messages += [
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}],
            },
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1"}]},
        ]
    return {"max_tokens": 10, "messages": messages, "tools": [tool], "tool_choice": choice}


def test_tool_choice_none_without_tool_history_sends_no_tools() -> None:
    body = anthropic_to_converse_request(_tool_turns({"type": "none"}, False), "meta.llama3")
    assert "toolConfig" not in body


def test_tool_choice_none_with_tool_history_keeps_tools_and_forces_nothing() -> None:
    body = anthropic_to_converse_request(_tool_turns({"type": "none"}, True), "meta.llama3")
    assert body["toolConfig"] == {
        "tools": [{"toolSpec": {"name": "f", "inputSchema": {"json": {"type": "object"}}}}]
    }


def test_tool_choice_any_is_kept() -> None:
    body = anthropic_to_converse_request(_tool_turns({"type": "any"}, False), "meta.llama3")
    assert body["toolConfig"]["toolChoice"] == {"any": {}}


@pytest.mark.parametrize(
    ("block", "said"),
    [
        (
            {"type": "image", "source": {"type": "url", "url": "http://169.254.169.254/x.png"}},
            "takes images only as bytes (or from S3), not by URL",
        ),
        (
            {"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}},
            "takes documents only as bytes (or from S3), not by URL",
        ),
        (
            {
                "type": "image",
                "source": {"type": "base64", "media_type": "image/bmp", "data": "Qk0="},
            },
            "image media type 'image/bmp' cannot be sent to Bedrock",
        ),
    ],
)
def test_url_sources_are_refused(block: dict[str, Any], said: str) -> None:
    """Converse takes bytes or S3 only, and fetching a client's URL from the
    gateway would be a server-side request forgery risk: refused, not noted."""
    from lockgate.llm.wire.errors import UntranslatableRequest

    body = {"max_tokens": 10, "messages": [{"role": "user", "content": [block]}]}
    with pytest.raises(UntranslatableRequest, match=re.escape(said)):
        anthropic_to_converse_request(body, "us.anthropic.claude-sonnet-4-5-20250929-v1:0")
    in_result = {"type": "tool_result", "tool_use_id": "t1", "content": [block]}
    with pytest.raises(UntranslatableRequest, match=re.escape(said)):
        anthropic_to_converse_request(
            {"messages": [{"role": "user", "content": [in_result]}]}, "meta.llama3"
        )
