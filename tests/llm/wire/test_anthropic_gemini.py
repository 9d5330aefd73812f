"""Anthropic client in front of Gemini: golden fixtures, rule tests and
property tests (any chunk sequence -> a valid event sequence; any request
with tool round trips -> contents Gemini accepts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.llm.wire.gemini_events_check import (
    check_anthropic_events,
    gemini_chunks,
    parse_anthropic,
)

from lockgate.llm.sse import SSEDecoder
from lockgate.llm.wire import StreamTranslator
from lockgate.llm.wire.anthropic_gemini import (
    GeminiToAnthropicStream,
    anthropic_to_gemini_count_tokens_request,
    anthropic_to_gemini_request,
    gemini_to_anthropic_response,
)
from lockgate.llm.wire.gemini import SKIP_SIGNATURE, tool_call_id, tool_call_signature

GOLDEN = Path(__file__).with_name("golden_gemini")
CASES = sorted(p for p in GOLDEN.iterdir() if p.is_dir() and p.name.startswith("anthropic_"))


def _load(case: Path, name: str) -> Any:
    return orjson.loads((case / name).read_bytes())


def _meta(case: Path) -> dict[str, Any]:
    return _load(case, "meta.json") if (case / "meta.json").exists() else {}


def _chunks(raw: bytes) -> list[dict[str, Any]]:
    decoder = SSEDecoder()
    return [orjson.loads(e.data) for e in decoder.feed(raw) + decoder.close()]


def _stream(chunks: list[dict[str, Any]], **kwargs: Any) -> list[tuple[str, dict[str, Any]]]:
    translator = GeminiToAnthropicStream(kwargs.pop("model", "gemini-2.5-flash"), **kwargs)
    out = b"".join(translator.feed(c) for c in chunks) + translator.finish()
    return parse_anthropic(out)


# -- golden ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case", [c for c in CASES if (c / "client_request.json").exists()], ids=lambda c: c.name
)
def test_golden_request(case: Path) -> None:
    body = _load(case, "client_request.json")
    got = anthropic_to_gemini_request(body, model=_meta(case).get("upstream_model"))
    assert got == _load(case, "upstream_request.json")


@pytest.mark.parametrize(
    "case", [c for c in CASES if (c / "upstream_response.json").exists()], ids=lambda c: c.name
)
def test_golden_response(case: Path) -> None:
    model = _meta(case).get("model", "gemini-2.5-flash")
    message, usage = gemini_to_anthropic_response(_load(case, "upstream_response.json"), model)
    assert message == _load(case, "client_response.json")
    assert (
        usage.prompt_tokens
        == message["usage"]["input_tokens"] + message["usage"]["cache_read_input_tokens"]
    )


@pytest.mark.parametrize(
    "case", [c for c in CASES if (c / "upstream_stream.sse").exists()], ids=lambda c: c.name
)
def test_golden_stream(case: Path) -> None:
    meta = _meta(case)
    events = _stream(
        _chunks((case / "upstream_stream.sse").read_bytes()),
        model=meta.get("model", "gemini-2.5-flash"),
        input_tokens_estimate=meta.get("input_tokens_estimate", 0),
    )
    check_anthropic_events(events)
    assert [{"event": n, "data": d} for n, d in events] == _load(case, "client_events.json")


# -- request rules -------------------------------------------------------------------


def _request(messages: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return anthropic_to_gemini_request(
        {"model": "gemini-2.5-pro", "max_tokens": 100, "messages": messages, **extra}
    )


def test_model_and_stream_are_not_in_the_body() -> None:
    out = _request([{"role": "user", "content": "hi"}], stream=True)
    assert set(out) == {"contents", "generationConfig"}


def test_leading_system_entries_join_the_system_instruction() -> None:
    out = _request(
        [{"role": "system", "content": "first"}, {"role": "user", "content": "hi"}],
        system="top",
    )
    assert out["systemInstruction"] == {"parts": [{"text": "top"}, {"text": "first"}]}
    assert out["contents"] == [{"role": "user", "parts": [{"text": "hi"}]}]


def test_later_system_entry_stays_in_place_as_wrapped_user_text() -> None:
    out = _request(
        [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello"},
            {"role": "system", "content": [{"type": "text", "text": "be brief"}]},
            {"role": "user", "content": "next"},
        ]
    )
    assert out["contents"][-1] == {
        "role": "user",
        "parts": [{"text": "<system>\nbe brief\n</system>"}, {"text": "next"}],
    }


def test_consecutive_turns_merge_and_empty_turns_vanish() -> None:
    out = _request(
        [
            {"role": "user", "content": "a"},
            {
                "role": "assistant",
                "content": [{"type": "thinking", "thinking": "x", "signature": "s"}],
            },
            {"role": "user", "content": "b"},
            {"role": "assistant", "content": ""},
            {"role": "assistant", "content": "c"},
        ]
    )
    assert out["contents"] == [
        {"role": "user", "parts": [{"text": "a"}, {"text": "b"}]},
        {"role": "model", "parts": [{"text": "c"}]},
    ]


def test_function_responses_follow_call_order_and_missing_results_are_errors() -> None:
    out = _request(
        [
            {"role": "user", "content": "go"},
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "t1", "name": "A", "input": {}},
                    {"type": "tool_use", "id": "t2", "name": "B", "input": {"x": 1}},
                    {"type": "tool_use", "id": "t3", "name": "C", "input": {}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "note"},
                    {"type": "tool_result", "tool_use_id": "t3", "content": "three"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "t1",
                        "content": [{"type": "text", "text": "one"}],
                    },
                ],
            },
        ]
    )
    assert out["contents"][2]["parts"] == [
        {"functionResponse": {"name": "A", "response": {"content": "one"}}},
        {
            "functionResponse": {
                "name": "B",
                "response": {"error": "No result was provided for this function call."},
            }
        },
        {"functionResponse": {"name": "C", "response": {"content": "three"}}},
        {"text": "note"},
    ]


def test_tool_result_error_and_structured_content() -> None:
    out = _request(
        [
            {"role": "user", "content": "go"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t1", "name": "A", "input": {}}],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "t1",
                        "is_error": True,
                        "content": [
                            {"type": "text", "text": "bad"},
                            {"type": "search_result", "title": "t"},
                        ],
                    }
                ],
            },
        ]
    )
    assert out["contents"][2]["parts"] == [
        {
            "functionResponse": {
                "name": "A",
                "response": {"error": 'bad\n{"type":"search_result","title":"t"}'},
            }
        }
    ]


def test_tool_use_id_carries_the_thought_signature_back() -> None:
    call_id = tool_call_id("toolu_", "resp", 0, "ab+/cd==")
    assert tool_call_signature(call_id) == "ab+/cd=="
    assert set(call_id) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
    out = _request(
        [
            {"role": "user", "content": "go"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": call_id, "name": "A", "input": {}}],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": call_id, "content": "ok"}],
            },
        ]
    )
    assert out["contents"][1]["parts"][0]["thoughtSignature"] == "ab+/cd=="


def test_skip_signature_only_in_the_current_exchange_and_only_on_first_call() -> None:
    def step(i: int) -> list[dict[str, Any]]:
        return [
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": f"a{i}", "name": "A", "input": {}},
                    {"type": "tool_use", "id": f"b{i}", "name": "B", "input": {}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": f"a{i}", "content": "x"},
                    {"type": "tool_result", "tool_use_id": f"b{i}", "content": "y"},
                ],
            },
        ]

    messages = [
        {"role": "user", "content": "one"},
        *step(1),
        {"role": "assistant", "content": "done"},
    ]
    messages += [{"role": "user", "content": "two"}, *step(2), *step(3)]
    contents = _request(messages)["contents"]
    signed = [
        [p.get("thoughtSignature") for p in c["parts"]] for c in contents if c["role"] == "model"
    ]
    assert signed == [
        [None, None],  # an earlier exchange: not validated by Gemini
        [None],
        [SKIP_SIGNATURE, None],
        [SKIP_SIGNATURE, None],
    ]


def test_models_without_thinking_get_no_thinking_config_and_no_signatures() -> None:
    body = {
        "model": "claude-opus-4-1",
        "max_tokens": 64000,
        "thinking": {"type": "enabled", "budget_tokens": 10000},
        "messages": [
            {"role": "user", "content": "go"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t", "name": "A", "input": {}}],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "t", "content": "ok"}],
            },
        ],
    }
    out = anthropic_to_gemini_request(body, model="gemini-2.0-flash")
    # The model's 8192 is applied by the provider (tests/llm/providers/test_models.py).
    assert out["generationConfig"] == {"maxOutputTokens": 64000}
    assert "thoughtSignature" not in out["contents"][1]["parts"][0]


@pytest.mark.parametrize(
    ("thinking", "model", "expected"),
    [
        (
            {"type": "enabled", "budget_tokens": 2048},
            "gemini-2.5-pro",
            {"thinkingBudget": 2048, "includeThoughts": True},
        ),
        (
            {"type": "enabled", "budget_tokens": 31999},
            "gemini-2.5-pro",
            {"thinkingBudget": 31999, "includeThoughts": True},
        ),
        (
            {"type": "enabled", "budget_tokens": 31999},
            "gemini-2.5-flash",
            {"thinkingBudget": 24576, "includeThoughts": True},
        ),
        (
            {"type": "adaptive"},
            "gemini-3-pro-preview",
            {"thinkingBudget": -1, "includeThoughts": True},
        ),
        ({"type": "disabled"}, "gemini-2.5-pro", None),
        (None, "gemini-2.5-pro", None),
    ],
)
def test_thinking_config(thinking: Any, model: str, expected: Any) -> None:
    body: dict[str, Any] = {
        "model": "m",
        "max_tokens": 64000,
        "messages": [{"role": "user", "content": "x"}],
    }
    if thinking is not None:
        body["thinking"] = thinking
    config = anthropic_to_gemini_request(body, model=model)["generationConfig"]
    assert config.get("thinkingConfig") == expected
    assert config["maxOutputTokens"] == 64000


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"type": "auto"}, {"mode": "AUTO"}),
        ({"type": "any"}, {"mode": "ANY"}),
        ({"type": "none"}, {"mode": "NONE"}),
        ({"type": "tool", "name": "A"}, {"mode": "ANY", "allowedFunctionNames": ["A"]}),
    ],
)
def test_tool_choice(choice: dict[str, Any], expected: dict[str, Any]) -> None:
    out = _request(
        [{"role": "user", "content": "x"}],
        tools=[
            {
                "name": "A",
                "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}},
            }
        ],
        tool_choice=choice,
    )
    assert out["toolConfig"] == {"functionCallingConfig": expected}


def test_tool_config_needs_declared_tools() -> None:
    out = _request([{"role": "user", "content": "x"}], tool_choice={"type": "any"})
    assert "toolConfig" not in out and "tools" not in out


def test_structured_output_is_dropped_when_tools_are_declared() -> None:
    out = _request(
        [{"role": "user", "content": "x"}],
        tools=[{"name": "A", "input_schema": {"type": "object"}}],
        output_config={"format": {"type": "json_schema", "schema": {"type": "object"}}},
    )
    assert "responseMimeType" not in out["generationConfig"]


def test_garbage_never_raises() -> None:
    body: dict[str, Any] = {
        "messages": [
            None,
            1,
            {"role": "user", "content": 5},
            {"role": "assistant", "content": [None, {"type": "tool_use"}]},
        ],
        "system": 7,
        "tools": [None, {"name": 3}, {"name": "A", "input_schema": "no"}],
        "tool_choice": {"type": ["any"]},
        "thinking": {"type": "enabled", "budget_tokens": "lots"},
        "max_tokens": True,
        "stop_sequences": "STOP",
    }
    out = anthropic_to_gemini_request(body)
    assert out == {"contents": [], "tools": [{"functionDeclarations": [{"name": "A"}]}]}


def test_count_tokens_body_has_contents_system_and_tools_only() -> None:
    body = {
        "model": "claude-x",
        "system": "sys",
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [
            {
                "name": "A",
                "description": "a",
                "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}},
            }
        ],
        "tool_choice": {"type": "any"},
        "thinking": {"type": "enabled", "budget_tokens": 2000},
        "max_tokens": 10,
    }
    assert anthropic_to_gemini_count_tokens_request(body) == {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "systemInstruction": {"parts": [{"text": "sys"}]},
        "tools": [
            {
                "functionDeclarations": [
                    {
                        "name": "A",
                        "description": "a",
                        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
                    }
                ]
            }
        ],
    }


# -- response rules ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("finish", "calls", "expected"),
    [
        ("STOP", False, "end_turn"),
        ("STOP", True, "tool_use"),
        ("MAX_TOKENS", True, "max_tokens"),
        ("SAFETY", False, "refusal"),
        ("RECITATION", False, "refusal"),
        ("BLOCKLIST", False, "refusal"),
        ("PROHIBITED_CONTENT", False, "refusal"),
        ("SPII", False, "refusal"),
        ("MALFORMED_FUNCTION_CALL", False, "end_turn"),
        ("OTHER", False, "end_turn"),
        (None, False, "end_turn"),
    ],
)
def test_stop_reasons(finish: str | None, calls: bool, expected: str) -> None:
    parts: list[dict[str, Any]] = [{"text": "x"}]
    if calls:
        parts.append({"functionCall": {"name": "A", "args": {}}})
    candidate: dict[str, Any] = {"content": {"parts": parts}}
    if finish:
        candidate["finishReason"] = finish
    message, _ = gemini_to_anthropic_response({"candidates": [candidate]}, "m")
    assert message["stop_reason"] == expected


def test_response_usage_and_ids() -> None:
    resp = {
        "candidates": [
            {
                "content": {
                    "parts": [
                        {"functionCall": {"name": "A"}},
                        {"functionCall": {"name": "A", "args": [1]}},
                    ]
                },
                "finishReason": "STOP",
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 100,
            "cachedContentTokenCount": 60,
            "candidatesTokenCount": 7,
            "thoughtsTokenCount": 3,
            "toolUsePromptTokenCount": 5,
        },
    }
    message, usage = gemini_to_anthropic_response(resp, "gemini-x")
    ids = [b["id"] for b in message["content"]]
    assert len(set(ids)) == 2 and all(i.startswith("toolu_") for i in ids)
    assert [b["input"] for b in message["content"]] == [{}, {}]
    assert message["model"] == "gemini-x" and message["id"].startswith("msg_")
    assert message["usage"] == {
        "input_tokens": 45,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 60,
        "output_tokens": 10,
    }
    assert (
        usage.prompt_tokens,
        usage.cached_tokens,
        usage.completion_tokens,
        usage.reasoning_tokens,
    ) == (105, 60, 10, 3)


# -- stream rules --------------------------------------------------------------------


def _text_chunk(text: str, **extra: Any) -> dict[str, Any]:
    return {
        "candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, **extra}],
        "responseId": "r",
    }


def test_stream_satisfies_the_translator_contract() -> None:
    translator: StreamTranslator = GeminiToAnthropicStream("m")
    assert translator.completed is False and translator.response_model is None


def test_stream_ignores_everything_after_the_end() -> None:
    translator = GeminiToAnthropicStream("m")
    translator.feed(_text_chunk("a", finishReason="STOP"))
    assert translator.completed
    assert translator.finish().endswith(b'event: message_stop\ndata: {"type":"message_stop"}\n\n')
    assert translator.feed(_text_chunk("b")) == b""
    assert translator.finish() == b""
    assert translator.fail("api_error", "x") == b""


def test_stream_fail_is_an_error_event() -> None:
    translator = GeminiToAnthropicStream("m")
    translator.feed(_text_chunk("a"))
    events = parse_anthropic(translator.fail("overloaded_error", "upstream timed out"))
    assert events == [
        (
            "error",
            {
                "type": "error",
                "error": {"type": "overloaded_error", "message": "upstream timed out"},
            },
        )
    ]
    assert translator.finish() == b""


def test_empty_stream_is_an_error() -> None:
    events = _stream([])
    assert [n for n, _ in events] == ["error"]


def test_stream_blocked_prompt_is_a_refusal() -> None:
    events = _stream(
        [{"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 9}}]
    )
    message = check_anthropic_events(events)
    assert message is not None
    assert message["stop_reason"] == "refusal" and message["content"] == []
    assert message["usage"]["input_tokens"] == 9


def test_stream_tracks_usage_and_model() -> None:
    translator = GeminiToAnthropicStream("m", input_tokens_estimate=50)
    translator.feed(_text_chunk("a"))
    translator.feed(
        {
            **_text_chunk("b", finishReason="STOP"),
            "usageMetadata": {"promptTokenCount": 70, "candidatesTokenCount": 4},
            "modelVersion": "gemini-2.5-flash-001",
        }
    )
    assert translator.usage.prompt_tokens == 70 and translator.usage.completion_tokens == 4
    assert translator.response_model == "gemini-2.5-flash-001"


# -- properties ----------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.lists(gemini_chunks(), max_size=8), st.sampled_from(["finish", "fail"]))
def test_any_chunk_sequence_gives_a_valid_event_sequence(
    chunks: list[dict[str, Any]], end: str
) -> None:
    translator = GeminiToAnthropicStream("gemini-2.5-pro", input_tokens_estimate=10)
    out = b"".join(translator.feed(c) for c in chunks)
    out += translator.finish() if end == "finish" else translator.fail("api_error", "broken")
    events = parse_anthropic(out)
    message = check_anthropic_events(events)
    if message is not None:
        assert translator.completed
        ids = [b["id"] for b in message["content"] if b["type"] == "tool_use"]
        assert len(ids) == len(set(ids))


@st.composite
def _conversations(draw: st.DrawFn) -> dict[str, Any]:
    """Messages with tool round trips, as clients send them, plus the slips
    they make: results out of order or missing, unknown ids, extra text,
    consecutive same-role messages, system entries, empty content."""
    messages: list[dict[str, Any]] = [
        {"role": draw(st.sampled_from(["user", "user", "assistant"])), "content": "first"}
    ]
    counter = 0
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["tools", "text", "system", "empty", "user"]))
        if kind == "tools":
            calls = []
            for _ in range(draw(st.integers(1, 3))):
                counter += 1
                sig = draw(st.sampled_from([None, "c2ln"]))
                call_id = (
                    tool_call_id("toolu_", "seed", counter, sig) if sig else f"toolu_{counter}"
                )
                calls.append(
                    {
                        "type": "tool_use",
                        "id": call_id,
                        "name": draw(st.sampled_from(["A", "B", "C"])),
                        "input": {"n": counter},
                    }
                )
            lead = draw(
                st.sampled_from(
                    [
                        [],
                        [{"type": "text", "text": "ok"}],
                        [{"type": "thinking", "thinking": "t", "signature": "s"}],
                    ]
                )
            )
            messages.append({"role": "assistant", "content": lead + calls})
            results: list[dict[str, Any]] = [
                {
                    "type": "tool_result",
                    "tool_use_id": c["id"],
                    "content": "r",
                    "is_error": draw(st.booleans()),
                }
                for c in calls
                if draw(st.integers(0, 9)) > 0
            ]
            results = draw(st.permutations(results))
            if draw(st.booleans()):
                results.append(
                    {"type": "tool_result", "tool_use_id": "toolu_stray", "content": "?"}
                )
            if draw(st.booleans()):
                results.insert(
                    draw(st.integers(0, len(results))), {"type": "text", "text": "reminder"}
                )
            messages.append({"role": "user", "content": results})
        elif kind == "text":
            messages.append({"role": "assistant", "content": draw(st.text(max_size=4))})
        elif kind == "system":
            messages.append({"role": "system", "content": "sys"})
        elif kind == "empty":
            messages.append({"role": draw(st.sampled_from(["user", "assistant"])), "content": []})
        else:
            messages.append({"role": "user", "content": draw(st.text(max_size=4))})
    return {
        "model": draw(st.sampled_from(["gemini-2.5-pro", "gemini-2.0-flash"])),
        "max_tokens": 10,
        "messages": messages,
    }


@settings(max_examples=300, deadline=None)
@given(_conversations())
def test_any_request_gives_contents_gemini_accepts(body: dict[str, Any]) -> None:
    contents = anthropic_to_gemini_request(body)["contents"]
    thinks = body["model"] != "gemini-2.0-flash"
    assert not contents or contents[0]["role"] == "user"
    previous: dict[str, Any] | None = None
    for content in contents:
        assert content["role"] in ("user", "model")
        assert content["parts"], "empty turn"
        if previous is not None:
            assert content["role"] != previous["role"], "roles do not alternate"
        calls = [p["functionCall"] for p in content["parts"] if "functionCall" in p]
        responses = [p["functionResponse"] for p in content["parts"] if "functionResponse" in p]
        for inner in calls + responses:
            assert "id" not in inner
        if content["role"] == "user":
            prev_calls = (
                [p["functionCall"]["name"] for p in previous["parts"] if "functionCall" in p]
                if previous
                else []
            )
            assert [r["name"] for r in responses] == prev_calls, "responses do not answer the calls"
            n = len(responses)
            assert all("functionResponse" in p for p in content["parts"][:n]), "responses not first"
        else:
            assert not responses
            signed = [p for p in content["parts"] if "thoughtSignature" in p]
            assert all("functionCall" in p for p in signed)
            if not thinks:
                assert not signed
        previous = content
