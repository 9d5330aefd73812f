"""Golden tests of the Responses API codec: a Responses request decoded into
the conversation model (Anthropic Messages), Anthropic messages and stream
events encoded into Responses objects and SSE events, and the upstreams'
own streams (Chat Completions, Gemini, Bedrock) reaching a Responses client
through the model. Every stream is checked by the official SDK's parser."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from openai.types.responses import Response
from tests.llm.wire.responses_events_check import responses_events, validate_responses_stream

from lockgate.llm.conversions import conversion
from lockgate.llm.wire.responses import (
    ResponsesStreamObserver,
    responses_stream_failure,
    usage_from_responses,
)
from lockgate.llm.wire.responses_checks import responses_request_problem
from lockgate.llm.wire.responses_request import responses_to_anthropic_request, stateless_problem
from lockgate.llm.wire.responses_response import anthropic_to_responses_response
from lockgate.llm.wire.responses_stream import AnthropicEventsToResponses

SHELL = {
    "type": "function",
    "name": "shell",
    "description": "Runs a shell command.",
    "strict": False,
    "parameters": {
        "type": "object",
        "properties": {"command": {"type": "array", "items": {"type": "string"}}},
        "required": ["command"],
    },
}
PATCH = {
    "type": "custom",
    "name": "apply_patch",
    "description": "Edit files.",
    "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"},
}

#: What Codex sends on its second step of a tool loop against another provider.
CODEX_LIKE: dict[str, Any] = {
    "model": "gpt-5-codex",
    "instructions": "You are Codex.",
    "input": [
        {
            "type": "message",
            "role": "developer",
            "content": [{"type": "input_text", "text": "Sandbox: read-only."}],
        },
        {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "list files"}],
        },
        {
            "type": "reasoning",
            "id": "rs_x",
            "summary": [],
            "encrypted_content": "gAAAAB-openai-opaque",
        },
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "shell",
            "arguments": '{"command":["ls"]}',
        },
        {"type": "function_call_output", "call_id": "call_1", "output": "a.txt\nb.txt"},
        {
            "type": "custom_tool_call",
            "call_id": "call_2",
            "name": "apply_patch",
            "input": "*** Begin Patch\n*** End Patch",
        },
        {"type": "custom_tool_call_output", "call_id": "call_2", "output": "Done!"},
    ],
    "tools": [SHELL, PATCH, {"type": "web_search"}],
    "tool_choice": "auto",
    "parallel_tool_calls": False,
    "reasoning": {"effort": "medium", "summary": "auto"},
    "store": False,
    "stream": True,
    "include": ["reasoning.encrypted_content"],
    "max_output_tokens": 40000,
}


def test_codex_like_request_decodes_into_the_model() -> None:
    before = orjson.dumps(CODEX_LIKE)
    out = responses_to_anthropic_request(CODEX_LIKE, "claude-sonnet-4-6")
    assert orjson.dumps(CODEX_LIKE) == before, "the client body is not modified"
    assert out == {
        "model": "claude-sonnet-4-6",
        "system": [
            {"type": "text", "text": "You are Codex."},
            {"type": "text", "text": "Sandbox: read-only."},
        ],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "list files"}]},
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "tool_use",
                        "id": "call_1",
                        "name": "shell",
                        "input": {"command": ["ls"]},
                    }
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "call_1", "content": "a.txt\nb.txt"}
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "tool_use",
                        "id": "call_2",
                        "name": "apply_patch",
                        "input": {"input": "*** Begin Patch\n*** End Patch"},
                    }
                ],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "call_2", "content": "Done!"}],
            },
        ],
        # The tool turn being answered has no signed thinking (OpenAI's was
        # dropped): Anthropic would refuse thinking, so it is off.
        "max_tokens": 40000,
        "stream": True,
        "tools": [
            {
                "name": "shell",
                "input_schema": SHELL["parameters"],
                "description": "Runs a shell command.",
            },
            {
                "name": "apply_patch",
                "input_schema": {
                    "type": "object",
                    "properties": {
                        "input": {
                            "type": "string",
                            "description": "The raw input, matching this lark grammar:\nstart: /.+/",
                        }
                    },
                    "required": ["input"],
                },
                "description": "Edit files.",
            },
        ],
        "tool_choice": {"type": "auto", "disable_parallel_tool_use": True},
    }


def test_string_input_effort_and_structured_output() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    out = responses_to_anthropic_request(
        {
            "input": "count",
            "reasoning": {"effort": "low"},
            "text": {"format": {"type": "json_schema", "name": "n", "schema": schema}},
            "temperature": 0.3,
        },
        "claude",
    )
    assert out["messages"] == [{"role": "user", "content": [{"type": "text", "text": "count"}]}]
    assert out["thinking"] == {"type": "enabled", "budget_tokens": 4096}
    assert out["max_tokens"] == 4096 + 4096
    assert "temperature" not in out  # Anthropic refuses it with thinking
    assert out["output_config"]["format"]["type"] == "json_schema"
    assert out["output_config"]["format"]["schema"]["properties"] == schema["properties"]

    plain = responses_to_anthropic_request(
        {"input": "x", "text": {"format": {"type": "json_object"}}, "temperature": 3}, "claude"
    )
    assert plain["temperature"] == 1
    assert "JSON object" in plain["system"][-1]["text"]


def test_images_files_and_structured_tool_output() -> None:
    out = responses_to_anthropic_request(
        {
            "input": [
                {
                    "role": "user",
                    "content": [
                        {"type": "input_image", "image_url": "https://example.com/cat.png"},
                        {"type": "input_image", "file_id": "file-1"},  # nothing to send elsewhere
                        {
                            "type": "input_file",
                            "filename": "a.pdf",
                            "file_data": "data:application/pdf;base64,JVBERi0=",
                        },
                    ],
                },
                {
                    "type": "function_call",
                    "call_id": "c|1",
                    "name": "look",
                    "arguments": "not json",
                },
                {
                    "type": "function_call_output",
                    "call_id": "c|1",
                    "output": [{"type": "input_text", "text": "seen"}],
                },
            ]
        },
        "claude",
    )
    user, assistant, result = out["messages"]
    assert [b["type"] for b in user["content"]] == ["image", "document"]
    assert user["content"][1]["source"] == {
        "type": "base64",
        "media_type": "application/pdf",
        "data": "JVBERi0=",
    }
    use = assistant["content"][0]
    assert use["input"] == {"_raw": "not json"}
    assert use["id"].startswith("c_1_")  # Anthropic's id alphabet, paired with its result
    assert result["content"] == [
        {
            "type": "tool_result",
            "tool_use_id": use["id"],
            "content": [{"type": "text", "text": "seen"}],
        }
    ]


ANTHROPIC_MESSAGE: dict[str, Any] = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-6",
    "content": [
        {"type": "thinking", "thinking": "Let me look.", "signature": "SIG1"},
        {"type": "text", "text": "Listing."},
        {"type": "text", "text": " Patching."},
        {"type": "tool_use", "id": "toolu_a", "name": "shell", "input": {"command": ["ls"]}},
        {
            "type": "tool_use",
            "id": "toolu_b",
            "name": "apply_patch",
            "input": {"input": "*** Begin Patch"},
        },
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {"input_tokens": 10, "cache_read_input_tokens": 5, "output_tokens": 7},
}


def test_anthropic_message_encodes_into_a_response() -> None:
    out, usage = anthropic_to_responses_response(ANTHROPIC_MESSAGE, "claude", CODEX_LIKE)
    parsed = Response.model_validate(out)
    assert parsed.status == "completed" and parsed.model == "claude-sonnet-4-6"
    assert [item.type for item in parsed.output] == [
        "reasoning",
        "message",
        "function_call",
        "custom_tool_call",
    ]
    reasoning, message, call, custom = out["output"]
    assert reasoning["summary"] == [{"type": "summary_text", "text": "Let me look."}]
    assert reasoning["encrypted_content"] == "lockgate.thinking:SIG1"
    assert [p["text"] for p in message["content"]] == ["Listing.", " Patching."]
    assert parsed.output_text == "Listing. Patching."
    assert (call["call_id"], call["name"], orjson.loads(call["arguments"])) == (
        "toolu_a",
        "shell",
        {"command": ["ls"]},
    )
    assert (custom["call_id"], custom["input"]) == ("toolu_b", "*** Begin Patch")
    assert out["usage"] == {
        "input_tokens": 15,
        "input_tokens_details": {"cached_tokens": 5, "cache_write_tokens": 0},
        "output_tokens": 7,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 22,
    }
    assert (usage.prompt_tokens, usage.cached_tokens, usage.completion_tokens) == (15, 5, 7)
    assert len({item["id"] for item in out["output"]}) == 4


def test_replayed_output_gives_anthropic_its_signed_thinking_back() -> None:
    out, _ = anthropic_to_responses_response(ANTHROPIC_MESSAGE, "claude", CODEX_LIKE)
    replay = [
        {"role": "user", "content": "list files"},
        *out["output"],
        {"type": "function_call_output", "call_id": "toolu_a", "output": "a.txt"},
        {"type": "custom_tool_call_output", "call_id": "toolu_b", "output": "Done!"},
    ]
    decoded = responses_to_anthropic_request(
        {"input": replay, "tools": [SHELL, PATCH], "reasoning": {"effort": "high"}}, "claude"
    )
    assistant = decoded["messages"][1]["content"]
    assert assistant[0] == {"type": "thinking", "thinking": "Let me look.", "signature": "SIG1"}
    assert [b["type"] for b in assistant] == ["thinking", "text", "text", "tool_use", "tool_use"]
    assert assistant[4]["input"] == {"input": "*** Begin Patch"}
    assert decoded["thinking"]["type"] == "enabled"  # the tool turn starts with signed thinking
    results = decoded["messages"][2]["content"]
    assert [r["tool_use_id"] for r in results] == ["toolu_a", "toolu_b"]


def test_cut_off_answer_is_incomplete() -> None:
    message = {
        **ANTHROPIC_MESSAGE,
        "content": [{"type": "text", "text": "partial"}],
        "stop_reason": "max_tokens",
    }
    out, _ = anthropic_to_responses_response(message, "claude", {"input": "x"})
    assert out["status"] == "incomplete"
    assert out["incomplete_details"] == {"reason": "max_output_tokens"}
    assert out["output"][0]["status"] == "incomplete"
    Response.model_validate(out)


def test_state_needing_fields_get_a_clear_refusal_on_translated_targets() -> None:
    problem = stateless_problem({"previous_response_id": "resp_1", "input": "x"}, "anthropic")
    assert problem is not None
    assert problem.param == "previous_response_id"
    assert "'previous_response_id' is not supported" in problem.message
    assert "anthropic" in problem.message
    assert stateless_problem({"store": True, "input": "x"}, "anthropic") is None


@pytest.mark.parametrize(
    ("body", "param", "code", "message"),
    [
        (
            {"model": "m"},
            "input",
            "missing_required_parameter",
            "Missing required parameter: 'input'.",
        ),
        (
            {"input": {"role": "user"}},
            "input",
            "invalid_type",
            "Invalid type for 'input': expected one of a string or array of input items, but got an object instead.",
        ),
        (
            {"input": [5]},
            "input[0]",
            "invalid_type",
            "Invalid type for 'input[0]': expected an object, but got an integer instead.",
        ),
        (
            {"input": [{"role": "robot", "content": "hi"}]},
            "input[0].role",
            "invalid_value",
            "Invalid value: 'robot'. Supported values are: 'user', 'assistant', 'system', and 'developer'.",
        ),
        (
            {"input": [{"type": "function_call_output", "output": "x"}]},
            "input[0].call_id",
            "missing_required_parameter",
            None,
        ),
        (
            {"input": "x", "max_output_tokens": 5},
            "max_output_tokens",
            "integer_below_min_value",
            "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got 5 instead.",
        ),
        ({"input": "x", "tools": {"type": "function"}}, "tools", "invalid_type", None),
        ({"input": "x", "stream": "yes"}, "stream", "invalid_type", None),
    ],
)
def test_malformed_requests_get_openai_wording(
    body: dict[str, Any], param: str, code: str, message: str | None
) -> None:
    problem = responses_request_problem(body)
    assert problem is not None
    assert (problem.param, problem.code) == (param, code)
    if message is not None:
        assert problem.message == message


def test_well_formed_requests_pass_the_checks() -> None:
    assert responses_request_problem(CODEX_LIKE) is None
    assert responses_request_problem({"model": "m", "input": "hi"}) is None
    assert responses_request_problem({"previous_response_id": "resp_1"}) is None


# -- streams -------------------------------------------------------------------------


def anthropic_stream_events(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The stream Anthropic would send for ``message``."""
    events: list[dict[str, Any]] = [
        {
            "type": "message_start",
            "message": {
                **message,
                "content": [],
                "stop_reason": None,
                "usage": {"input_tokens": 10, "output_tokens": 1},
            },
        },
        {"type": "ping"},
    ]
    for i, block in enumerate(message["content"]):
        kind = block["type"]
        start = {
            "thinking": {"type": "thinking", "thinking": "", "signature": ""},
            "text": {"type": "text", "text": ""},
        }.get(kind, {**block, "input": {}})
        events.append({"type": "content_block_start", "index": i, "content_block": start})
        if kind == "thinking":
            events.append(
                {
                    "type": "content_block_delta",
                    "index": i,
                    "delta": {"type": "thinking_delta", "thinking": block["thinking"]},
                }
            )
            events.append(
                {
                    "type": "content_block_delta",
                    "index": i,
                    "delta": {"type": "signature_delta", "signature": block["signature"]},
                }
            )
        elif kind == "text":
            for piece in (block["text"][:3], block["text"][3:]):
                events.append(
                    {
                        "type": "content_block_delta",
                        "index": i,
                        "delta": {"type": "text_delta", "text": piece},
                    }
                )
        else:
            text = orjson.dumps(block["input"]).decode()
            for piece in (text[:5], text[5:]):
                events.append(
                    {
                        "type": "content_block_delta",
                        "index": i,
                        "delta": {"type": "input_json_delta", "partial_json": piece},
                    }
                )
        events.append({"type": "content_block_stop", "index": i})
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
            "usage": {"input_tokens": 10, "cache_read_input_tokens": 5, "output_tokens": 7},
        }
    )
    events.append({"type": "message_stop"})
    return events


def test_anthropic_stream_encodes_into_responses_events() -> None:
    encoder = AnthropicEventsToResponses("claude", CODEX_LIKE, 50)
    raw = b"".join(encoder.feed(e) for e in anthropic_stream_events(ANTHROPIC_MESSAGE))
    raw += encoder.finish()
    events, final = validate_responses_stream(raw)
    assert [e["type"] for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.custom_tool_call_input.delta",
        "response.custom_tool_call_input.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert final is not None and final.output_text == "Listing. Patching."
    oneshot, _ = anthropic_to_responses_response(ANTHROPIC_MESSAGE, "claude", CODEX_LIKE)

    def shape(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in item.items() if k != "id"} for item in items]

    completed = events[-1]["response"]
    assert shape(completed["output"]) == shape(oneshot["output"])
    assert completed["usage"] == oneshot["usage"]
    assert encoder.completed and encoder.usage.prompt_tokens == 15
    assert encoder.response_model == "claude-sonnet-4-6"


def test_upstream_error_and_early_end_fail_the_response() -> None:
    encoder = AnthropicEventsToResponses("claude", {"input": "x"})
    events = anthropic_stream_events(
        {**ANTHROPIC_MESSAGE, "content": [{"type": "text", "text": "Hello"}]}
    )
    raw = b"".join(encoder.feed(e) for e in events[:5])
    raw += encoder.feed(
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    )
    raw += encoder.finish()
    parsed, final = validate_responses_stream(raw)
    assert final is None and parsed[-1]["type"] == "response.failed"
    assert parsed[-1]["response"]["error"] == {"code": "server_error", "message": "Overloaded"}

    cut = AnthropicEventsToResponses("claude", {"input": "x"})
    raw = b"".join(cut.feed(e) for e in events[:5]) + cut.finish()
    parsed, _ = validate_responses_stream(raw)
    assert parsed[-1]["response"]["error"]["message"] == "the upstream stream ended prematurely"
    assert not cut.completed

    never = AnthropicEventsToResponses("claude", {"input": "x"})
    parsed, _ = validate_responses_stream(never.fail("rate_limit_error", "slow down"))
    assert [e["type"] for e in parsed] == [
        "response.created",
        "response.in_progress",
        "response.failed",
    ]
    assert parsed[-1]["response"]["error"]["code"] == "rate_limit_exceeded"


class _Call:
    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.include_usage = False
        self.request_id = "5e1f0c2a9b7d4e3f0000000000000007"
        self.started_at = 1796302723.25


def _through(
    upstream: str, chunks: list[dict[str, Any]], body: dict[str, Any]
) -> tuple[list[dict[str, Any]], Any, Any]:
    conv = conversion("responses", upstream)
    assert conv.stream is not None
    translator = conv.stream("model-x", 20, _Call(body))
    raw = b"".join(translator.feed(c) for c in chunks) + translator.finish()
    events, final = validate_responses_stream(raw)
    return events, final, translator


def test_chat_completions_stream_reaches_a_responses_client() -> None:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": "c1",
            "model": "qwen-plus",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    chunks = [
        chunk({"role": "assistant", "reasoning_content": "thinking"}),
        chunk({"content": "Hi"}),
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_9",
                        "type": "function",
                        "function": {"name": "shell", "arguments": '{"command"'},
                    }
                ]
            }
        ),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": ': ["ls"]}'}}]}),
        chunk({}, "tool_calls"),
        {
            "id": "c1",
            "choices": [],
            "usage": {
                "prompt_tokens": 30,
                "completion_tokens": 9,
                "prompt_tokens_details": {"cached_tokens": 4},
            },
        },
    ]
    events, final, translator = _through("openai", chunks, {"input": "x", "tools": [SHELL]})
    assert final is not None
    assert [item.type for item in final.output] == ["reasoning", "message", "function_call"]
    assert final.output_text == "Hi"
    call = final.output[2]
    assert call.call_id == "call_9" and orjson.loads(call.arguments) == {"command": ["ls"]}
    assert (
        "encrypted_content" not in events[-1]["response"]["output"][0]
    )  # unsigned: nothing to replay
    assert (
        final.usage is not None
        and final.usage.input_tokens == 30
        and final.usage.output_tokens == 9
    )
    assert (translator.usage.prompt_tokens, translator.usage.cached_tokens) == (30, 4)
    assert translator.response_model == "qwen-plus"


def test_gemini_stream_reaches_a_responses_client_with_long_tool_names_restored() -> None:
    long_name = "mcp__server__" + "x" * 70
    body = {"input": "x", "tools": [{**SHELL, "name": long_name}]}
    conv = conversion("responses", "gemini")
    assert conv.request is not None
    sent = conv.request(body, "gemini-2.5-flash")
    short = sent["tools"][0]["functionDeclarations"][0]["name"]
    assert short != long_name and len(short) <= 64
    chunks = [
        {
            "candidates": [{"content": {"role": "model", "parts": [{"text": "On it."}]}}],
            "modelVersion": "gemini-2.5-flash",
        },
        {
            "candidates": [
                {
                    "content": {
                        "role": "model",
                        "parts": [{"functionCall": {"name": short, "args": {"command": ["ls"]}}}],
                    },
                    "finishReason": "STOP",
                }
            ],
            "usageMetadata": {
                "promptTokenCount": 12,
                "candidatesTokenCount": 4,
                "totalTokenCount": 16,
            },
        },
    ]
    _, final, translator = _through("gemini", chunks, body)
    assert final is not None and final.output_text == "On it."
    assert final.output[1].type == "function_call" and final.output[1].name == long_name
    assert (translator.usage.prompt_tokens, translator.usage.completion_tokens) == (12, 4)


def test_bedrock_stream_reaches_a_responses_client() -> None:
    chunks = [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "Hello"}}},
        {"contentBlockStop": {"contentBlockIndex": 0}},
        {"messageStop": {"stopReason": "max_tokens"}},
        {"metadata": {"usage": {"inputTokens": 8, "outputTokens": 2, "totalTokens": 10}}},
    ]
    events, final, translator = _through("bedrock", chunks, {"input": "x"})
    assert final is None and events[-1]["type"] == "response.incomplete"
    assert events[-1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == "Hello"
    assert (translator.usage.prompt_tokens, translator.usage.completion_tokens) == (8, 2)

    failing = [
        chunks[0],
        {"exception": {"type": "throttlingException", "message": "Too many requests"}},
    ]
    events, _, _ = _through("bedrock", failing, {"input": "x"})
    assert events[-1]["type"] == "response.failed"
    assert events[-1]["response"]["error"] == {
        "code": "rate_limit_exceeded",
        "message": "ThrottlingException: Too many requests",
    }


def test_passthrough_observer_reads_the_completed_usage() -> None:
    observer = ResponsesStreamObserver(99)
    encoder = AnthropicEventsToResponses("gpt-x", {"input": "x"})
    raw = b"".join(
        encoder.feed(e)
        for e in anthropic_stream_events(
            {**ANTHROPIC_MESSAGE, "content": [{"type": "text", "text": "Hello"}]}
        )
    )
    for event in responses_events(raw):
        observer.feed(event)
    observer.finish()
    assert observer.completed and observer.response_model == "claude-sonnet-4-6"
    assert (
        observer.usage.prompt_tokens,
        observer.usage.cached_tokens,
        observer.usage.completion_tokens,
    ) == (15, 5, 7)
    assert not observer.usage.estimated

    cut = ResponsesStreamObserver(99)
    for event in responses_events(raw)[:8]:
        cut.feed(event)
    cut.finish()
    assert not cut.completed and cut.usage.estimated and cut.usage.prompt_tokens == 99


def test_usage_details_are_read() -> None:
    usage = usage_from_responses(
        {
            "input_tokens": 100,
            "input_tokens_details": {"cached_tokens": 40},
            "output_tokens": 30,
            "output_tokens_details": {"reasoning_tokens": 12},
            "total_tokens": 130,
        }
    )
    assert (
        usage.prompt_tokens,
        usage.cached_tokens,
        usage.completion_tokens,
        usage.reasoning_tokens,
    ) == (100, 40, 30, 12)
    assert usage_from_responses(None).total_tokens == 0
    assert (
        usage_from_responses({"input_tokens_details": None, "output_tokens": "x"}).total_tokens == 0
    )


def test_a_broken_passthrough_stream_fails_the_response_it_was_streaming() -> None:
    encoder = AnthropicEventsToResponses("gpt-x", {"input": "x"})
    events = anthropic_stream_events(
        {**ANTHROPIC_MESSAGE, "content": [{"type": "text", "text": "Hello"}]}
    )
    upstream = b"".join(encoder.feed(e) for e in events[:5])  # cut mid-answer
    observer = ResponsesStreamObserver(10)
    for event in responses_events(upstream):
        observer.feed(event)
    tail = responses_stream_failure(observer, "the upstream stream broke")
    parsed, final = validate_responses_stream(upstream + tail)
    assert final is None and parsed[-1]["type"] == "response.failed"
    assert parsed[-1]["response"]["id"] == parsed[0]["response"]["id"]
    assert parsed[-1]["response"]["error"] == {
        "code": "server_error",
        "message": "the upstream stream broke",
    }

    nothing = ResponsesStreamObserver(10)
    event = responses_events(responses_stream_failure(nothing, "refused"))[0]
    assert event == {
        "type": "error",
        "code": "server_error",
        "message": "refused",
        "param": None,
        "sequence_number": 0,
    }


def test_a_response_echoes_the_request_fields_as_the_api_accepts_them() -> None:
    out, _ = anthropic_to_responses_response(ANTHROPIC_MESSAGE, "claude", CODEX_LIKE)
    echoed = {k: out[k] for k in ("instructions", "max_output_tokens", "parallel_tool_calls")}
    assert echoed == {
        "instructions": CODEX_LIKE["instructions"],
        "max_output_tokens": 40000,
        "parallel_tool_calls": False,
    }
    assert out["reasoning"] == {"effort": "medium", "summary": "auto"}
    assert (out["store"], out["tool_choice"], out["text"]) == (
        False,
        "auto",
        {"format": {"type": "text"}},
    )
    assert [t.get("name") for t in out["tools"]] == [
        "shell",
        "apply_patch",
    ]  # web_search: not served
    odd = {
        "input": "x",
        "max_output_tokens": True,  # a boolean is no limit
        "temperature": "hot",
        "top_p": 0.5,
        "user": 7,
        "reasoning": {"effort": "extreme", "summary": "concise"},
        "metadata": {"team": "a", "n": 1},
        "tool_choice": {"type": "function", "name": "shell"},
        "text": {"format": {"type": "json_object"}},
    }
    out, _ = anthropic_to_responses_response(ANTHROPIC_MESSAGE, "claude", odd)
    assert {k: out[k] for k in odd if k != "input"} == {
        "max_output_tokens": None,
        "temperature": None,
        "top_p": 0.5,
        "user": None,
        "reasoning": {"effort": None, "summary": "concise"},
        "metadata": {"team": "a"},
        "tool_choice": {"type": "function", "name": "shell"},
        "text": {"format": {"type": "json_object"}},
    }
    # Unset fields take the API's defaults, and one response's echo is not another's.
    out, _ = anthropic_to_responses_response(ANTHROPIC_MESSAGE, "claude", {"input": "x"})
    assert (out["parallel_tool_calls"], out["store"], out["tools"], out["metadata"]) == (
        True,
        True,
        [],
        {},
    )
    assert out["metadata"] is not odd["metadata"]


def test_a_translated_stream_is_named_and_dated_after_the_gateway_request() -> None:
    events, final, _ = _through(
        "anthropic",
        [
            {"type": "message_start", "message": {"model": "claude", "usage": {"input_tokens": 3}}},
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": "Hi"},
            },
            {"type": "content_block_stop", "index": 0},
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": 1},
            },
            {"type": "message_stop"},
        ],
        {"input": "x", "stream": True},
    )
    assert final is not None and final.output_text == "Hi"
    ids = {e["response"]["id"] for e in events if "response" in e}
    assert ids == {"resp_5e1f0c2a9b7d4e3f0000000000000007"}  # the X-Kong-Request-Id
    assert {e["response"]["created_at"] for e in events if "response" in e} == {1796302723}
    # The stream echoes neither the instructions nor the tools (see ResponseShape).
    assert events[0]["response"]["instructions"] is None and events[0]["response"]["tools"] == []


@pytest.mark.parametrize("given", ["", "a b", "x" * 65, 'id"},{', "ünïcode"])
def test_a_request_id_that_is_no_plain_token_is_not_taken_as_response_id(given: str) -> None:
    # X-Kong-Request-Id may come from the client: only a short plain token names a response.
    translator = AnthropicEventsToResponses("m", {"input": "x"}, 1, 1796302723, given)
    out = translator.feed({"type": "message_start", "message": {"model": "m"}})
    response_id = orjson.loads(out.split(b"data: ", 1)[1].split(b"\n", 1)[0])["response"]["id"]
    assert response_id.startswith("resp_") and len(response_id) == 37
    assert (
        AnthropicEventsToResponses("m", {"input": "x"}, 1, 1, "Req-01_ok")
        .feed({"type": "message_start", "message": {"model": "m"}})
        .count(b'"id":"resp_Req-01_ok"')
        == 2
    )
