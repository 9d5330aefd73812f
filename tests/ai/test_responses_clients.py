"""OpenAI Responses API clients (the official ``openai`` SDK's
``client.responses``, ``route_type: llm/v1/responses``) through the real
gateway: passthrough to OpenAI's own Responses API, translation to
Anthropic, Gemini, Bedrock and the Chat-Completions-only providers."""

from __future__ import annotations

from typing import Any

import openai
import orjson
import pytest
import yaml

from lockgate.testing.emulator.bedrock import DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY
from tests.ai.conftest import PROVIDERS, Stack, http_json, plugin_config

KEYS = ["openai", "anthropic", "gemini", "dashscope", "hf", "bedrock"]
TRANSLATED = [k for k in KEYS if k != "openai"]
BEDROCK_MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
SHELL = {
    "type": "function",
    "name": "exec_command",
    "description": "Runs a command.",
    "strict": False,
    "parameters": {
        "type": "object",
        "properties": {"cmd": {"type": "string"}},
        "required": ["cmd"],
        "additionalProperties": False,
    },
}


def _bedrock_plugin(emulator: str) -> dict[str, Any]:
    return {
        "route_type": "llm/v1/responses",
        "llm_format": "openai",
        "logging": {"log_statistics": True, "log_payloads": False},
        "auth": {
            "aws_access_key_id": DEFAULT_ACCESS_KEY_ID,
            "aws_secret_access_key": DEFAULT_SECRET_ACCESS_KEY,
        },
        "model": {
            "provider": "bedrock",
            "name": BEDROCK_MODEL,
            "options": {
                "upstream_url": emulator + "/bedrock",
                "bedrock": {"aws_region": "us-west-2"},
            },
        },
    }


@pytest.fixture(scope="module")
def responses(stack: Stack) -> Stack:
    account = orjson.dumps(
        http_json("POST", stack.emulator + "/_emulator/service-account", {})
    ).decode()
    routes = []
    for key in KEYS:
        if key == "bedrock":
            config = _bedrock_plugin(stack.emulator)
        else:
            config = plugin_config(PROVIDERS[key], stack.emulator, account, "openai")
            config["route_type"] = "llm/v1/responses"
        routes.append(
            {
                "name": f"resp-{key}",
                "paths": [f"/resp-{key}"],
                "plugins": [{"name": "ai-proxy", "config": config}],
            }
        )
    stack.apply(
        yaml.safe_dump(
            {
                "_format_version": "3.0",
                "services": [{"name": "responses", "url": stack.emulator, "routes": routes}],
            },
            sort_keys=False,
        )
    )
    return stack


def _model(key: str) -> str:
    return BEDROCK_MODEL if key == "bedrock" else PROVIDERS[key].model


def _upstream_path(key: str) -> str:
    if key == "openai":
        return "/openai/v1/responses"
    return "/bedrock/model/" if key == "bedrock" else PROVIDERS[key].path


@pytest.mark.parametrize("key", KEYS)
def test_plain_answer_usage_and_log(responses: Stack, tag: str, key: str) -> None:
    responses.clear_upstream()
    client = responses.openai(f"resp-{key}", tag)
    done = client.responses.create(
        model=_model(key), instructions="Be brief.", input=f"[[reply plain from {key}]]"
    )
    assert done.object == "response" and done.status == "completed"
    assert done.output_text == f"plain from {key}"
    assert done.usage is not None and done.usage.input_tokens > 0 and done.usage.output_tokens > 0
    sent = responses.upstream(_upstream_path(key))
    assert len(sent) == 1, [r["path"] for r in responses.upstream()]
    if key == "openai":
        assert sent[0]["body"]["input"] == f"[[reply plain from {key}]]"  # passed through
    record = responses.log_record(tag)
    usage = record["ai"]["proxy"]["usage"]
    assert usage["prompt_tokens"] == done.usage.input_tokens
    assert usage["completion_tokens"] == done.usage.output_tokens
    assert record["ai"]["proxy"]["meta"]["request_model"] == _model(key)


@pytest.mark.parametrize("key", KEYS)
def test_stream_through_the_sdk_stream_parser(responses: Stack, tag: str, key: str) -> None:
    client = responses.openai(f"resp-{key}", tag)
    kinds: list[str] = []
    text: list[str] = []
    with client.responses.stream(
        model=_model(key), input="[[reply one two three four]] [[chunks 4]]"
    ) as stream:
        for event in stream:
            kinds.append(event.type)
            if event.type == "response.output_text.delta":
                text.append(event.delta)
        final = stream.get_final_response()
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert "".join(text) == final.output_text == "one two three four"
    assert final.usage is not None and final.usage.output_tokens > 0
    usage = responses.log_record(tag)["ai"]["proxy"]["usage"]
    assert usage["prompt_tokens"] == final.usage.input_tokens
    assert usage["completion_tokens"] == final.usage.output_tokens


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("stream", [False, True], ids=["oneshot", "stream"])
def test_tool_round_trip(responses: Stack, tag: str, key: str, stream: bool) -> None:
    client = responses.openai(f"resp-{key}", tag)

    def ask(items: list[Any]) -> Any:
        if not stream:
            return client.responses.create(
                model=_model(key), input=items, tools=[SHELL], store=False
            )
        with client.responses.stream(
            model=_model(key), input=items, tools=[SHELL], store=False
        ) as events:
            return events.get_final_response()

    first = ask([{"role": "user", "content": 'List files. [[tool exec_command {"cmd": "ls"}]]'}])
    calls = [item for item in first.output if item.type == "function_call"]
    assert len(calls) == 1 and calls[0].name == "exec_command"
    assert orjson.loads(calls[0].arguments) == {"cmd": "ls"}
    replay = [
        {"role": "user", "content": 'List files. [[tool exec_command {"cmd": "ls"}]]'},
        *[item.model_dump(exclude_none=True) for item in first.output],
        {"type": "function_call_output", "call_id": calls[0].call_id, "output": "a.txt b.txt"},
        {"role": "user", "content": "[[reply two files]]"},
    ]
    second = ask(replay)
    assert second.output_text == "two files"


@pytest.mark.parametrize("key", TRANSLATED)
def test_previous_response_id_is_refused_by_name_where_no_state_is_kept(
    responses: Stack, tag: str, key: str
) -> None:
    client = responses.openai(f"resp-{key}", tag)
    with pytest.raises(openai.BadRequestError) as refused:
        client.responses.create(model=_model(key), input="more", previous_response_id="resp_abc")
    error = refused.value.body
    assert isinstance(error, dict)
    assert error["param"] == "previous_response_id"
    assert error["code"] == "unsupported_parameter"
    assert "'previous_response_id' is not supported" in error["message"]


def test_passthrough_serves_previous_response_id_and_keeps_the_body(
    responses: Stack, tag: str
) -> None:
    responses.clear_upstream()
    client = responses.openai("resp-openai", tag)
    first = client.responses.create(model="gpt-4.1", input="[[reply remembered]]")
    second = client.responses.create(
        model="gpt-4.1", input="[[reply again]]", previous_response_id=first.id, store=True
    )
    assert second.output_text == "again"
    sent = responses.upstream("/openai/v1/responses")
    assert sent[-1]["body"]["previous_response_id"] == first.id
    assert sent[-1]["body"]["store"] is True


@pytest.mark.parametrize("key", ["openai", "anthropic"])
def test_malformed_request_gets_openai_wording_before_any_provider(
    responses: Stack, tag: str, key: str
) -> None:
    responses.clear_upstream()
    client = responses.openai(f"resp-{key}", tag)
    with pytest.raises(openai.BadRequestError) as refused:
        client.responses.create(model=_model(key), input={"role": "user"})  # type: ignore[arg-type]
    error = refused.value.body
    assert isinstance(error, dict)
    assert error["param"] == "input" and error["code"] == "invalid_type"
    assert error["message"].startswith("Invalid type for 'input'")
    assert responses.upstream(_upstream_path(key)) == []


@pytest.mark.parametrize("key", ["openai", "anthropic"])
def test_upstream_errors_reach_the_client_in_openai_shape(
    responses: Stack, tag: str, key: str
) -> None:
    client = responses.openai(f"resp-{key}", tag)
    with pytest.raises(openai.RateLimitError) as limited:
        client.responses.create(model=_model(key), input="[[fail 429]]")
    body = limited.value.body
    assert isinstance(body, dict) and body["message"]


def test_apply_refuses_responses_with_a_non_openai_format(stack: Stack) -> None:
    config = {
        "_format_version": "3.0",
        "services": [
            {
                "name": "bad-responses",
                "url": stack.emulator,
                "routes": [
                    {
                        "name": "bad-responses",
                        "paths": ["/bad-responses"],
                        "plugins": [
                            {
                                "name": "ai-proxy",
                                "config": {
                                    **plugin_config(
                                        PROVIDERS["anthropic"], stack.emulator, "", "anthropic"
                                    ),
                                    "route_type": "llm/v1/responses",
                                },
                            }
                        ],
                    }
                ],
            }
        ],
    }
    result = stack.gw.apply(yaml.safe_dump(config, sort_keys=False))
    assert result.returncode != 0
    assert "llm/v1/responses needs llm_format 'openai'" in result.stdout + result.stderr


def test_signed_thinking_round_trips_through_reasoning_items(responses: Stack, tag: str) -> None:
    """Codex replays reasoning items (store: false): the thinking Anthropic
    signed comes back to it intact, or the emulator (which checks
    signatures, as Anthropic does) refuses the second call."""
    client = responses.openai("resp-anthropic", tag)
    prompt = {"role": "user", "content": '[[think]] [[tool exec_command {"cmd": "ls"}]]'}
    first = client.responses.create(
        model=_model("anthropic"),
        input=[prompt],
        tools=[SHELL],
        reasoning={"effort": "medium"},
        include=["reasoning.encrypted_content"],
        store=False,
    )
    kinds = [item.type for item in first.output]
    assert kinds[0] == "reasoning" and kinds[-1] == "function_call"
    reasoning = first.output[0]
    assert reasoning.type == "reasoning" and reasoning.encrypted_content
    call = first.output[-1]
    assert call.type == "function_call"
    responses.clear_upstream()
    second = client.responses.create(
        model=_model("anthropic"),
        input=[
            prompt,
            *[item.model_dump(exclude_none=True) for item in first.output],
            {"type": "function_call_output", "call_id": call.call_id, "output": "a.txt"},
        ],
        tools=[SHELL],
        reasoning={"effort": "medium"},
        store=False,
    )
    assert second.status == "completed"
    sent = responses.upstream(PROVIDERS["anthropic"].path)[-1]["body"]
    assert sent["thinking"]["type"] == "enabled"
    assert sent["messages"][1]["content"][0]["type"] == "thinking"


@pytest.mark.parametrize("key", ["openai", "anthropic", "dashscope"])
def test_mid_stream_failure_ends_with_a_failed_response(
    responses: Stack, tag: str, key: str
) -> None:
    client = responses.openai(f"resp-{key}", tag)
    kinds: list[str] = []
    failure: Any = None
    with client.responses.create(
        model=_model(key),
        input="[[reply a b c d e f]] [[chunks 6]] [[fail 529 after 3]]",
        stream=True,
    ) as events:
        for event in events:
            kinds.append(event.type)
            if event.type in ("response.failed", "error"):
                failure = event
    assert kinds[0] == "response.created"
    assert kinds[-1] in ("response.failed", "error"), kinds
    assert failure is not None
    message = (
        failure.response.error.message if failure.type == "response.failed" else failure.message
    )
    assert message
    record = responses.log_record(tag)
    assert record["ai"]["proxy"]["usage"]["prompt_tokens"] > 0


@pytest.mark.parametrize("key", ["openai", "anthropic"])
def test_cut_stream_ends_with_the_failed_response(responses: Stack, tag: str, key: str) -> None:
    """The upstream closes the connection mid-answer: the client's stream
    ends with response.failed for the response it was reading, which the
    SDK's stream parser accepts (a changed id would make it raise)."""
    client = responses.openai(f"resp-{key}", tag)
    events: list[Any] = []
    with client.responses.stream(
        model=_model(key), input="[[reply a b c d e f]] [[chunks 6]] [[cut 4]]"
    ) as stream:
        events.extend(stream)
    assert events[0].type == "response.created"
    assert events[-1].type == "response.failed"
    assert events[-1].response.id == events[0].response.id
    assert events[-1].response.error is not None and events[-1].response.error.message
    record = responses.log_record(tag)
    assert record["ai"]["proxy"]["usage"]["prompt_tokens"] > 0


def _advanced_target(emulator: str, provider: str, model: str, route_type: str) -> dict[str, Any]:
    anthropic_side = provider == "anthropic"
    return {
        "route_type": route_type,
        "logging": {"log_statistics": True},
        "auth": {
            "header_name": "x-api-key" if anthropic_side else "Authorization",
            "header_value": "sk-ant-secret" if anthropic_side else "Bearer sk-openai-secret",
        },
        "model": {
            "provider": provider,
            "name": model,
            "options": {
                "upstream_url": emulator
                + ("/anthropic/v1/messages" if anthropic_side else "/openai/v1/chat/completions"),
                **({"anthropic_version": "2023-06-01"} if anthropic_side else {}),
            },
        },
    }


def _advanced_route(stack: Stack, name: str, targets: list[dict[str, Any]]) -> str:
    return yaml.safe_dump(
        {
            "_format_version": "3.0",
            "services": [
                {
                    "name": name,
                    "url": stack.emulator,
                    "routes": [
                        {
                            "name": name,
                            "paths": [f"/{name}"],
                            "plugins": [
                                {
                                    "name": "ai-proxy-advanced",
                                    "config": {
                                        "llm_format": "openai",
                                        "balancer": {
                                            "algorithm": "priority",
                                            "failover_criteria": ["error", "http_503"],
                                        },
                                        "targets": targets,
                                    },
                                }
                            ],
                        }
                    ],
                }
            ],
        },
        sort_keys=False,
    )


def test_failover_from_a_translated_target_to_the_passthrough_one(
    responses: Stack, tag: str
) -> None:
    """One request parsed once: Anthropic (translated) refuses with 503, OpenAI's
    Responses API (passed through, the client's own bytes) answers."""
    emulator = responses.emulator
    responses.apply(
        _advanced_route(
            responses,
            "resp-failover",
            [
                _advanced_target(emulator, "anthropic", "claude-sonnet-4-6", "llm/v1/responses"),
                _advanced_target(emulator, "openai", "gpt-4.1", "llm/v1/responses"),
            ],
        )
    )
    responses.clear_upstream()
    client = responses.openai("resp-failover", tag)
    with client.responses.stream(
        model="any", input="[[fail 503 on anthropic]] [[reply from the second]]"
    ) as stream:
        final = stream.get_final_response()
    assert final.output_text == "from the second"
    assert [r["path"] for r in responses.upstream()] == [
        "/anthropic/v1/messages",
        "/openai/v1/responses",
    ]
    tried = responses.log_record(tag)["ai"]["proxy"]["tried_targets"]
    assert [t["provider"] for t in tried] == ["anthropic", "openai"]


def test_apply_refuses_targets_mixing_responses_and_chat(stack: Stack) -> None:
    emulator = stack.emulator
    result = stack.gw.apply(
        _advanced_route(
            stack,
            "resp-mixed",
            [
                _advanced_target(emulator, "openai", "gpt-4.1", "llm/v1/responses"),
                _advanced_target(emulator, "openai", "gpt-4.1", "llm/v1/chat"),
            ],
        )
    )
    assert result.returncode != 0
    assert (
        "config.targets.1.route_type: every target must use llm/v1/responses when one does"
        in result.stdout + result.stderr
    )
