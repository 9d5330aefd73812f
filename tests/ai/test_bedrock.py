"""``provider: bedrock`` through the real gateway to the Bedrock emulator,
which checks every request's SigV4 signature with botocore and Converse's
validation rules: the official ``anthropic`` SDK (as Claude Code speaks) and
the ``openai`` SDK, streamed and not, text, tools, thinking, images, prompt
caching, usage in the log, and AWS's errors in the clients' own shapes."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

import anthropic
import openai
import pytest
import yaml

from lockgate.testing.emulator.bedrock import DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY
from tests.ai.conftest import Stack
from tests.ai.fixtures import PNG_BASE64, WEATHER_TOOL

CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
NOVA = "us.amazon.nova-pro-v1:0"
LLAMA = "meta.llama3-1-70b-instruct-v1:0"


def _plugin(emulator: str, model: str, llm_format: str, secret: str, name: str) -> dict[str, Any]:
    bedrock: dict[str, Any] = {"aws_region": "us-west-2"}
    if name == "bedrock-role":
        bedrock["aws_assume_role_arn"] = "not-a-role-arn"
        bedrock["aws_sts_endpoint_url"] = emulator + "/sts"
    return {
        "name": "ai-proxy",
        "config": {
            "route_type": "llm/v1/chat",
            "llm_format": llm_format,
            "logging": {"log_statistics": True, "log_payloads": False},
            "auth": {
                "aws_access_key_id": DEFAULT_ACCESS_KEY_ID,
                "aws_secret_access_key": secret,
            },
            "model": {
                "provider": "bedrock",
                "name": model,
                "options": {
                    "upstream_url": emulator + "/bedrock",
                    "bedrock": bedrock,
                },
            },
        },
    }


@pytest.fixture(scope="module")
def bedrock(stack: Stack) -> Stack:
    routes = [
        ("bedrock", CLAUDE, "anthropic", DEFAULT_SECRET_ACCESS_KEY),
        ("oai-bedrock", CLAUDE, "openai", DEFAULT_SECRET_ACCESS_KEY),
        ("bedrock-nova", NOVA, "anthropic", DEFAULT_SECRET_ACCESS_KEY),
        ("oai-bedrock-llama", LLAMA, "openai", DEFAULT_SECRET_ACCESS_KEY),
        ("bedrock-badkey", CLAUDE, "anthropic", "not-the-secret"),
        ("oai-bedrock-badkey", CLAUDE, "openai", "not-the-secret"),
        ("bedrock-role", CLAUDE, "anthropic", DEFAULT_SECRET_ACCESS_KEY),
    ]
    config = {
        "_format_version": "3.0",
        "services": [
            {
                "name": "bedrock",
                "url": stack.emulator,
                "routes": [
                    {
                        "name": name,
                        "paths": [f"/{name}"],
                        "plugins": [_plugin(stack.emulator, model, fmt, secret, name)],
                    }
                    for name, model, fmt, secret in routes
                ],
            }
        ],
    }
    stack.apply(yaml.safe_dump(config, sort_keys=False))
    return stack


def _upstream(stack: Stack) -> list[dict[str, Any]]:
    return stack.upstream("/bedrock/model/")


def _body(record: dict[str, Any]) -> dict[str, Any]:
    body = record["body"]
    assert isinstance(body, dict), body
    return body


def test_text_signed_and_translated(bedrock: Stack, tag: str) -> None:
    bedrock.clear_upstream()
    # Claude Code adds ?beta=true: a client's query is not Bedrock's.
    client = bedrock.anthropic("bedrock", tag, default_query={"beta": "true"})
    message = client.messages.create(
        model=CLAUDE,
        max_tokens=512,
        stop_sequences=["STOP"],
        system=[{"type": "text", "text": "Be brief."}],
        messages=[{"role": "user", "content": "Say it: [[reply hello from bedrock]]"}],
    )
    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].text == "hello from bedrock"
    assert message.stop_reason == "end_turn"
    assert message.model == CLAUDE
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    (record,) = _upstream(bedrock)
    assert unquote(record["path"]) == f"/bedrock/model/{CLAUDE}/converse"
    assert record["query"] == ""
    headers = {k.lower(): v for k, v in record["headers"].items()}
    assert headers["authorization"].startswith(
        f"AWS4-HMAC-SHA256 Credential={DEFAULT_ACCESS_KEY_ID}/"
    )
    assert "/us-west-2/bedrock/aws4_request" in headers["authorization"]
    assert "x-api-key" not in headers
    body = _body(record)
    assert "model" not in body and "stream" not in body
    assert body["system"] == [{"text": "Be brief."}]
    assert body["inferenceConfig"] == {"maxTokens": 512, "stopSequences": ["STOP"]}
    log = bedrock.log_record(tag)["ai"]["proxy"]
    assert log["meta"]["provider_name"] == "bedrock"
    assert log["usage"]["prompt_tokens"] == message.usage.input_tokens
    assert log["usage"]["completion_tokens"] == message.usage.output_tokens


def test_stream_of_event_frames(bedrock: Stack, tag: str) -> None:
    client = bedrock.anthropic("bedrock", tag)
    with client.messages.stream(
        model=CLAUDE,
        max_tokens=256,
        messages=[{"role": "user", "content": "[[reply streamed through bedrock]] [[chunks 4]]"}],
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "streamed through bedrock"
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens > 0
    log = bedrock.log_record(tag)["ai"]["proxy"]
    assert log["meta"]["request_mode"] == "stream"
    assert log["usage"]["completion_tokens"] == final.usage.output_tokens
    assert not log["usage"].get("estimated")


@pytest.mark.parametrize("stream", [False, True])
def test_tools_round_trip(bedrock: Stack, tag: str, stream: bool) -> None:
    client = bedrock.anthropic("bedrock", tag)
    ask = {"role": "user", "content": 'Weather? [[tool get_weather {"city": "Paris"}]]'}
    kwargs: dict[str, Any] = {"model": CLAUDE, "max_tokens": 512, "tools": [WEATHER_TOOL]}
    if stream:
        with client.messages.stream(messages=[ask], **kwargs) as s:
            first = s.get_final_message()
    else:
        first = client.messages.create(messages=[ask], **kwargs)
    assert first.stop_reason == "tool_use"
    (call,) = [b for b in first.content if b.type == "tool_use"]
    assert call.name == "get_weather" and call.input == {"city": "Paris"}
    second = client.messages.create(
        messages=[
            ask,
            {"role": "assistant", "content": [b.model_dump() for b in first.content]},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": call.id, "content": "sunny, 21 C"},
                    {"type": "text", "text": "[[reply it is sunny]]"},
                ],
            },
        ],
        **kwargs,
    )
    assert second.content[0].type == "text" and second.content[0].text == "it is sunny"


@pytest.mark.parametrize("stream", [False, True])
def test_thinking_signature_comes_back(bedrock: Stack, tag: str, stream: bool) -> None:
    """reasoningContent comes back with its signature; the emulator refuses the
    next turn unless the gateway hands the signature back unchanged."""
    client = bedrock.anthropic("bedrock", tag)
    ask = {"role": "user", "content": 'Think. [[think]] [[tool get_weather {"city": "Oslo"}]]'}
    kwargs: dict[str, Any] = {
        "model": CLAUDE,
        "max_tokens": 4096,
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "tools": [WEATHER_TOOL],
    }
    if stream:
        with client.messages.stream(messages=[ask], **kwargs) as s:
            first = s.get_final_message()
    else:
        first = client.messages.create(messages=[ask], **kwargs)
    assert first.content[0].type == "thinking"
    assert first.content[0].signature  # type: ignore[union-attr]
    call = next(b for b in first.content if b.type == "tool_use")
    second = client.messages.create(
        messages=[
            ask,
            {"role": "assistant", "content": [b.model_dump() for b in first.content]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "cold"}],
            },
        ],
        **kwargs,
    )
    assert second.stop_reason == "end_turn"


def test_image_and_prompt_caching(bedrock: Stack, tag: str) -> None:
    bedrock.clear_upstream()
    client = bedrock.anthropic("bedrock", tag)
    long_system = "You are a careful assistant. " * 400
    request: dict[str, Any] = {
        "model": CLAUDE,
        "max_tokens": 128,
        "system": [{"type": "text", "text": long_system, "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": PNG_BASE64},
                    },
                    {"type": "text", "text": "[[reply a pixel]]"},
                ],
            }
        ],
    }
    first = client.messages.create(**request)
    second = client.messages.create(**request)
    assert first.content[0].text == "a pixel"  # type: ignore[union-attr]
    assert (first.usage.cache_creation_input_tokens or 0) > 0
    assert (second.usage.cache_read_input_tokens or 0) == first.usage.cache_creation_input_tokens
    body = _body(_upstream(bedrock)[0])
    assert body["system"] == [{"text": long_system}, {"cachePoint": {"type": "default"}}]
    image = body["messages"][0]["content"][0]
    assert image == {"image": {"format": "png", "source": {"bytes": PNG_BASE64}}}
    log = bedrock.log_records(tag, 2)[-1]["ai"]["proxy"]["usage"]
    assert log["prompt_tokens_details"]["cached_tokens"] == second.usage.cache_read_input_tokens


def test_no_cache_point_for_a_model_without_caching(bedrock: Stack, tag: str) -> None:
    """Llama on Bedrock refuses cachePoint blocks: the gateway leaves them out."""
    bedrock.clear_upstream()
    client = bedrock.openai("oai-bedrock-llama", tag)
    answer = client.chat.completions.create(
        model=LLAMA,
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "[[reply llama here]]"},
        ],
    )
    assert answer.choices[0].message.content == "llama here"
    assert "cachePoint" not in json.dumps(_body(_upstream(bedrock)[0]))


def test_betas_bedrock_takes_reach_it(bedrock: Stack, tag: str) -> None:
    """Claude Code's ``anthropic-beta`` header: the betas Claude on Bedrock
    offers go in ``additionalModelRequestFields.anthropic_beta``; the others
    (which the emulator, like Bedrock, refuses as an invalid beta flag) are dropped."""
    bedrock.clear_upstream()
    client = bedrock.anthropic("bedrock", tag)
    message = client.messages.create(
        model=CLAUDE,
        max_tokens=256,
        messages=[{"role": "user", "content": "[[reply betas sorted]]"}],
        extra_headers={
            "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14,"
            "fine-grained-tool-streaming-2025-05-14,oauth-2025-04-20"
        },
    )
    assert message.content[0].text == "betas sorted"  # type: ignore[union-attr]
    body = _body(_upstream(bedrock)[0])
    assert body["additionalModelRequestFields"] == {
        "anthropic_beta": ["interleaved-thinking-2025-05-14"]
    }
    headers = {k.lower() for k in _upstream(bedrock)[0]["headers"]}
    assert "anthropic-beta" not in headers


def test_nova_for_an_anthropic_client(bedrock: Stack, tag: str) -> None:
    bedrock.clear_upstream()
    client = bedrock.anthropic("bedrock-nova", tag)
    message = client.messages.create(
        model=NOVA,
        max_tokens=200,
        thinking={"type": "enabled", "budget_tokens": 1024},
        extra_body={"top_k": 5},
        messages=[{"role": "user", "content": "[[reply nova answers]]"}],
    )
    assert message.content[0].text == "nova answers"  # type: ignore[union-attr]
    body = _body(_upstream(bedrock)[0])
    assert "additionalModelRequestFields" not in body  # thinking and top_k are Claude's


@pytest.mark.parametrize("stream", [False, True])
def test_openai_client(bedrock: Stack, tag: str, stream: bool) -> None:
    client = bedrock.openai("oai-bedrock", tag)
    messages: Any = [{"role": "user", "content": "[[reply openai via bedrock]]"}]
    if stream:
        chunks = list(
            client.chat.completions.create(
                model=CLAUDE, messages=messages, stream=True, stream_options={"include_usage": True}
            )
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        usage = chunks[-1].usage
        assert usage is not None and usage.completion_tokens > 0
    else:
        answer = client.chat.completions.create(model=CLAUDE, messages=messages)
        text = answer.choices[0].message.content or ""
        assert answer.usage is not None and answer.usage.prompt_tokens > 0
    assert text == "openai via bedrock"


def test_openai_tool_call(bedrock: Stack, tag: str) -> None:
    client = bedrock.openai("oai-bedrock", tag)
    answer = client.chat.completions.create(
        model=CLAUDE,
        messages=[{"role": "user", "content": '[[tool get_weather {"city": "Rome"}]]'}],
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                },
            }
        ],
    )
    (call,) = answer.choices[0].message.tool_calls or []
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"city": "Rome"}  # type: ignore[union-attr]
    assert answer.choices[0].finish_reason == "tool_calls"


def test_openai_tool_choice_none_leaves_the_tools_out(bedrock: Stack, tag: str) -> None:
    """Converse has no "none": with no tool blocks in the history the tools are not sent."""
    bedrock.clear_upstream()
    client = bedrock.openai("oai-bedrock", tag)
    answer = client.chat.completions.create(
        model=CLAUDE,
        messages=[{"role": "user", "content": "[[reply no tools for you]]"}],
        tools=[
            {
                "type": "function",
                "function": {"name": "get_weather", "parameters": {"type": "object"}},
            }
        ],
        tool_choice="none",
    )
    assert answer.choices[0].message.content == "no tools for you"
    assert "toolConfig" not in _body(_upstream(bedrock)[0])


def test_tool_choice_none_with_tool_history_keeps_the_tools(bedrock: Stack, tag: str) -> None:
    """With toolUse / toolResult blocks in the history Converse requires a
    toolConfig (the emulator refuses the request without one, as Bedrock
    does): the tools stay, and nothing forces their use."""
    bedrock.clear_upstream()
    client = bedrock.anthropic("bedrock", tag)
    message = client.messages.create(
        model=CLAUDE,
        max_tokens=256,
        tools=[WEATHER_TOOL],
        tool_choice={"type": "none"},
        messages=[
            {"role": "user", "content": "Weather in Oslo?"},
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "tool_use",
                        "id": "toolu_1",
                        "name": "get_weather",
                        "input": {"city": "Oslo"},
                    }
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "cold"},
                    {"type": "text", "text": "[[reply it is cold]]"},
                ],
            },
        ],
    )
    assert message.content[0].text == "it is cold"  # type: ignore[union-attr]
    config = _body(_upstream(bedrock)[0])["toolConfig"]
    assert [t["toolSpec"]["name"] for t in config["tools"]] == ["get_weather"]
    assert "toolChoice" not in config


def test_image_by_url_is_refused_in_the_client_s_format(bedrock: Stack, tag: str) -> None:
    """Converse takes no image URL, and the gateway fetches none for a client
    (SSRF): a 400 that says why, as Anthropic and OpenAI word their errors."""
    bedrock.clear_upstream()
    url = "http://169.254.169.254/latest/meta-data/image.png"
    with pytest.raises(anthropic.BadRequestError) as caught:
        bedrock.anthropic("bedrock", tag).messages.create(
            model=CLAUDE,
            max_tokens=64,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "image", "source": {"type": "url", "url": url}},
                        {"type": "text", "text": "What is this?"},
                    ],
                }
            ],
        )
    error = caught.value.body["error"]  # type: ignore[index]
    assert error["type"] == "invalid_request_error"
    assert "not by URL" in error["message"] and "base64" in error["message"]
    with pytest.raises(openai.BadRequestError) as refused:
        bedrock.openai("oai-bedrock", tag).chat.completions.create(
            model=CLAUDE,
            messages=[
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": {"url": url}}],
                }
            ],
        )
    assert refused.value.status_code == 400
    assert "not by URL" in refused.value.message
    assert _upstream(bedrock) == []


def test_wrong_aws_key_is_an_authentication_error(bedrock: Stack, tag: str) -> None:
    client = bedrock.anthropic("bedrock-badkey", tag)
    with pytest.raises(anthropic.AuthenticationError) as caught:
        client.messages.create(
            model=CLAUDE, max_tokens=64, messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.status_code == 401
    error = caught.value.body["error"]  # type: ignore[index]
    assert error["type"] == "authentication_error"
    assert "signature we calculated does not match" in error["message"]
    assert "not-the-secret" not in json.dumps(caught.value.body)
    oai = bedrock.openai("oai-bedrock-badkey", tag)
    with pytest.raises(openai.AuthenticationError):
        oai.chat.completions.create(model=CLAUDE, messages=[{"role": "user", "content": "hi"}])


@pytest.mark.parametrize(
    ("status", "error", "kind"),
    [
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (400, anthropic.BadRequestError, "invalid_request_error"),
        (503, anthropic.InternalServerError, "overloaded_error"),
    ],
)
def test_aws_errors_in_anthropic_shape(
    bedrock: Stack, tag: str, status: int, error: type[Exception], kind: str
) -> None:
    client = bedrock.anthropic("bedrock", tag)
    with pytest.raises(error) as caught:
        client.messages.create(
            model=CLAUDE,
            max_tokens=64,
            messages=[{"role": "user", "content": f"[[fail {status}]]"}],
        )
    assert caught.value.body["error"]["type"] == kind  # type: ignore[attr-defined]


def test_throttling_mid_stream_is_an_error_event(bedrock: Stack, tag: str) -> None:
    client = bedrock.anthropic("bedrock", tag)
    with pytest.raises(anthropic.APIStatusError) as caught:
        with client.messages.stream(
            model=CLAUDE,
            max_tokens=256,
            messages=[
                {"role": "user", "content": "[[reply partial text here]] [[fail 429 after 2]]"}
            ],
        ) as stream:
            for _ in stream:
                pass
    assert "ThrottlingException" in str(caught.value)


def test_converse_rules_reach_the_client(bedrock: Stack, tag: str) -> None:
    """A tool result that answers no tool call is refused by Converse's rules
    (ValidationException) and reaches the client as invalid_request_error."""
    client = bedrock.anthropic("bedrock", tag)
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(
            model=CLAUDE,
            max_tokens=64,
            tools=[WEATHER_TOOL],
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "tooluse_x", "content": "?"}
                    ],
                }
            ],
        )
    assert "toolResult" in str(caught.value)


def test_count_tokens_with_bedrock_count_tokens(bedrock: Stack, tag: str) -> None:
    """Claude models are counted by Bedrock's CountTokens, with the number the
    same conversation is then billed for."""
    bedrock.clear_upstream()
    client = bedrock.anthropic("bedrock", tag)
    request: dict[str, Any] = {
        "model": CLAUDE,
        "system": "Be brief.",
        "tools": [WEATHER_TOOL],
        "messages": [{"role": "user", "content": "[[reply counted]] how many tokens is this?"}],
    }
    counted = client.messages.count_tokens(**request)
    message = client.messages.create(max_tokens=64, **request)
    assert counted.input_tokens == message.usage.input_tokens > 0
    record = _upstream(bedrock)[0]
    assert unquote(record["path"]) == f"/bedrock/model/{CLAUDE}/count-tokens"
    converse = _body(record)["input"]["converse"]
    assert converse["system"] == [{"text": "Be brief."}] and "toolConfig" in converse


def test_count_tokens_estimated_for_other_models(bedrock: Stack, tag: str) -> None:
    bedrock.clear_upstream()
    client = bedrock.anthropic("bedrock-nova", tag)
    raw = client.messages.with_raw_response.count_tokens(
        model=NOVA, messages=[{"role": "user", "content": "hello"}]
    )
    assert raw.headers["x-lockgate-token-count"] == "estimate"
    assert raw.parse().input_tokens > 0
    assert _upstream(bedrock) == []


def test_a_role_that_cannot_be_assumed_is_named(bedrock: Stack, tag: str) -> None:
    """STS refuses the role: the client gets a 500 naming the field, not the key."""
    client = bedrock.anthropic("bedrock-role", tag)
    with pytest.raises(anthropic.InternalServerError) as caught:
        client.messages.create(
            model=CLAUDE, max_tokens=64, messages=[{"role": "user", "content": "hi"}]
        )
    message = caught.value.body["error"]["message"]  # type: ignore[index]
    assert "model.options.bedrock.aws_assume_role_arn: could not be assumed" in message
    assert "ValidationError" in message
    assert DEFAULT_SECRET_ACCESS_KEY not in message


def test_context_overflow_is_anthropic_s_prompt_too_long(bedrock: Stack, tag: str) -> None:
    client = bedrock.anthropic("bedrock", tag)
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(
            model=CLAUDE, max_tokens=64, messages=[{"role": "user", "content": "[[overflow]]"}]
        )
    error = caught.value.body["error"]  # type: ignore[index]
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("prompt is too long")
