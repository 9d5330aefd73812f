"""The emulated Responses API: the official SDK accepts its answers and its
streams, it keeps stored responses for ``previous_response_id``, and it
refuses what OpenAI refuses, with OpenAI's bodies."""

from __future__ import annotations

from typing import Any

import openai
import orjson
import pytest

from .conftest import OPENAI, Raw, sse_events

PATH = "/v1/responses"
SHELL = {
    "type": "function",
    "name": "exec_command",
    "strict": False,
    "parameters": {
        "type": "object",
        "properties": {"cmd": {"type": "string"}},
        "required": ["cmd"],
        "additionalProperties": False,
    },
}
PATCH = {
    "type": "custom",
    "name": "apply_patch",
    "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"},
}


def error_of(answer: Any, status: int = 400) -> dict[str, Any]:
    assert answer.status == status, answer.text
    body = answer.json
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]


async def test_plain_answer_and_usage(oai: openai.AsyncOpenAI) -> None:
    done = await oai.responses.create(model="gpt-4.1", input="hi")
    assert done.output_text == "Hello from the openai emulator, model gpt-4.1."
    assert done.status == "completed" and done.object == "response"
    assert [item.type for item in done.output] == ["message"]
    assert done.usage is not None and done.usage.input_tokens > 0
    assert done.usage.total_tokens == done.usage.input_tokens + done.usage.output_tokens


async def test_reasoning_model_answers_with_a_reasoning_item(oai: openai.AsyncOpenAI) -> None:
    done = await oai.responses.create(
        model="gpt-5",
        input="[[reply fine]]",
        reasoning={"effort": "low"},
        include=["reasoning.encrypted_content"],
        store=False,
    )
    kinds = [item.type for item in done.output]
    assert kinds == ["reasoning", "message"] and done.output_text == "fine"
    reasoning = done.output[0]
    assert reasoning.type == "reasoning" and reasoning.encrypted_content
    assert done.usage is not None and done.usage.output_tokens_details.reasoning_tokens == 64


async def test_tool_call_then_result_round_trip(oai: openai.AsyncOpenAI) -> None:
    first = await oai.responses.create(
        model="gpt-5",
        input='go [[tool exec_command {"cmd": "ls"}]]',
        tools=[SHELL],  # type: ignore[list-item]
        include=["reasoning.encrypted_content"],
        store=False,
    )
    call = first.output[-1]
    assert call.type == "function_call" and call.name == "exec_command"
    assert orjson.loads(call.arguments) == {"cmd": "ls"}
    replay = [item.model_dump(exclude_none=True) for item in first.output]
    replay[0].pop("status", None)
    second = await oai.responses.create(
        model="gpt-5",
        input=[
            {"role": "user", "content": 'go [[tool exec_command {"cmd": "ls"}]]'},
            *replay,  # type: ignore[list-item]
            {"type": "function_call_output", "call_id": call.call_id, "output": "a.txt"},
        ],
        tools=[SHELL],  # type: ignore[list-item]
        store=False,
    )
    assert second.output_text == "Tool result: a.txt"


async def test_chain_calls_one_tool_per_step(raw: Raw) -> None:
    prompt = '[[chain]] [[tool exec_command {"cmd": "a"}]] [[tool exec_command {"cmd": "b"}]]'
    items: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
    commands = []
    for _ in range(3):
        body = {"model": "gpt-4.1", "input": items, "tools": [SHELL], "store": False}
        answer = (await raw.post(PATH, body, OPENAI)).json
        output = answer["output"][-1]
        if output["type"] != "function_call":
            break
        commands.append(orjson.loads(output["arguments"])["cmd"])
        items += [
            output,
            {"type": "function_call_output", "call_id": output["call_id"], "output": "ok"},
        ]
    assert commands == ["a", "b"]
    assert output["content"][0]["text"] == "Tool result: ok"


async def test_custom_tool_call_carries_its_input(oai: openai.AsyncOpenAI) -> None:
    done = await oai.responses.create(
        model="gpt-4.1",
        input='[[tool apply_patch {"input": "*** Begin Patch"}]]',
        tools=[PATCH],  # type: ignore[list-item]
    )
    call = done.output[-1]
    assert call.type == "custom_tool_call" and call.input == "*** Begin Patch"
    # Replayed as issued (what Codex does), then answered.
    again = await oai.responses.create(
        model="gpt-4.1",
        input=[
            {"role": "user", "content": "patch"},
            call.model_dump(exclude_none=True),  # type: ignore[list-item]
            {"type": "custom_tool_call_output", "call_id": call.call_id, "output": "Success."},
        ],
        tools=[PATCH],  # type: ignore[list-item]
    )
    assert again.output_text == "Tool result: Success."


async def test_sdk_stream_parser_accepts_the_event_sequence(oai: openai.AsyncOpenAI) -> None:
    async with oai.responses.stream(
        model="gpt-5",
        input='[[think]] [[tool exec_command {"cmd": "pwd"}]] please',
        tools=[SHELL],  # type: ignore[list-item]
        reasoning={"effort": "low", "summary": "auto"},
    ) as stream:
        kinds = [event.type async for event in stream]
        final = await stream.get_final_response()
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    assert "response.reasoning_summary_text.delta" in kinds
    assert "response.function_call_arguments.delta" in kinds
    assert [item.type for item in final.output] == ["reasoning", "function_call"]
    assert final.usage is not None and final.usage.output_tokens > 0


async def test_stream_framing_names_and_numbers_every_event(raw: Raw) -> None:
    body = {"model": "gpt-4.1", "input": "hi", "stream": True}
    answer = await raw.post(PATH, body, OPENAI)
    assert answer.status == 200 and answer.headers["content-type"].startswith("text/event-stream")
    events = sse_events(answer.text)
    for i, (name, data) in enumerate(events):
        event = orjson.loads(data)
        assert event["type"] == name and event["sequence_number"] == i
    names = [name for name, _ in events]
    assert names == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * (names.count("response.output_text.delta")),
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert orjson.loads(events[-1][1])["response"]["usage"]["output_tokens"] > 0
    deltas = [orjson.loads(d) for n, d in events if n == "response.output_text.delta"]
    assert all(d["obfuscation"] for d in deltas)
    plain = {**body, "stream_options": {"include_obfuscation": False}}
    bare = sse_events((await raw.post(PATH, plain, OPENAI)).text)
    assert not any("obfuscation" in orjson.loads(d) for _, d in bare)


async def test_stream_failure_midway_ends_with_response_failed(raw: Raw) -> None:
    body = {"model": "gpt-4.1", "input": "[[fail 500 after 3]]", "stream": True}
    events = sse_events((await raw.post(PATH, body, OPENAI)).text)
    assert [name for name, _ in events][-1] == "response.failed"
    failed = orjson.loads(events[-1][1])
    assert failed["sequence_number"] == 3 and failed["response"]["error"]["code"] == "server_error"


async def test_previous_response_id_continues_a_stored_conversation(raw: Raw) -> None:
    first = await raw.post(
        PATH,
        {"model": "gpt-4.1", "input": '[[tool exec_command {"cmd": "ls"}]]', "tools": [SHELL]},
        OPENAI,
    )
    stored = first.json
    call = stored["output"][-1]
    second = await raw.post(
        PATH,
        {
            "model": "gpt-4.1",
            "previous_response_id": stored["id"],
            "input": [{"type": "function_call_output", "call_id": call["call_id"], "output": "x"}],
            "tools": [SHELL],
        },
        OPENAI,
    )
    assert second.status == 200, second.text
    assert second.json["output"][0]["content"][0]["text"] == "Tool result: x"
    assert second.json["previous_response_id"] == stored["id"]
    fetched = await raw.request("GET", f"{PATH}/{stored['id']}", headers=OPENAI)
    assert fetched.json["id"] == stored["id"]


async def test_unstored_response_cannot_be_continued(raw: Raw) -> None:
    first = await raw.post(PATH, {"model": "gpt-4.1", "input": "hi", "store": False}, OPENAI)
    again = await raw.post(
        PATH,
        {"model": "gpt-4.1", "input": "more", "previous_response_id": first.json["id"]},
        OPENAI,
    )
    err = error_of(again)
    assert err["message"] == f"Previous response with id '{first.json['id']}' not found."
    assert (err["param"], err["code"]) == ("previous_response_id", "previous_response_not_found")


@pytest.mark.parametrize(
    ("body", "message", "param", "code"),
    [
        (
            {"model": "gpt-4.1", "input": "hi", "messages": []},
            "Unknown parameter: 'messages'.",
            "messages",
            "unknown_parameter",
        ),
        (
            {"model": "gpt-4.1"},
            "Missing required parameter: 'input'.",
            "input",
            "missing_required_parameter",
        ),
        (
            {"model": "gpt-4.1", "input": 3},
            "Invalid type for 'input': expected one of a string or array of objects, "
            "but got an integer instead.",
            "input",
            "invalid_type",
        ),
        (
            {"model": "gpt-4.1", "input": [{"type": "bogus"}]},
            None,
            "input[0].type",
            "invalid_value",
        ),
        (
            {"model": "gpt-4.1", "input": [{"role": "user", "content": "x", "name": "me"}]},
            "Unknown parameter: 'input[0].name'.",
            "input[0].name",
            "unknown_parameter",
        ),
        (
            {
                "model": "gpt-4.1",
                "input": [{"role": "assistant", "content": [{"type": "input_text", "text": "x"}]}],
            },
            "Invalid value: 'input_text'. Supported values are: 'output_text' and 'refusal'.",
            "input[0].content[0].type",
            "invalid_value",
        ),
        (
            {
                "model": "gpt-4.1",
                "input": [{"type": "function_call_output", "call_id": "call_1", "output": "x"}],
            },
            "No tool call found for function call output with call_id call_1.",
            "input",
            None,
        ),
        (
            {
                "model": "gpt-4.1",
                "input": [
                    {"type": "function_call", "call_id": "c9", "name": "f", "arguments": "{}"},
                    {"role": "user", "content": "next"},
                ],
            },
            "No tool output found for function call c9.",
            "input",
            None,
        ),
        (
            {"model": "gpt-4.1", "input": "hi", "max_output_tokens": 10},
            "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, "
            "but got 10 instead.",
            "max_output_tokens",
            "integer_below_min_value",
        ),
        (
            {"model": "gpt-5", "input": "hi", "temperature": 0.2},
            "Unsupported parameter: 'temperature' is not supported with this model.",
            "temperature",
            "unsupported_parameter",
        ),
        (
            {"model": "gpt-4.1", "input": "hi", "tools": [{"type": "function"}]},
            "Missing required parameter: 'tools[0].name'.",
            "tools[0].name",
            "missing_required_parameter",
        ),
        (
            {"model": "gpt-4.1", "input": "hi", "tools": [{"type": "spaceship"}]},
            None,
            "tools[0].type",
            "invalid_value",
        ),
        (
            {
                "model": "gpt-4.1",
                "input": "hi",
                "tools": [
                    {
                        "type": "function",
                        "name": "f",
                        "strict": True,
                        "parameters": {"type": "object", "properties": {}},
                    }
                ],
            },
            "Invalid schema for function 'f': In context=(), 'additionalProperties' is required "
            "to be supplied and to be false.",
            "tools[0].parameters",
            "invalid_function_parameters",
        ),
        (
            {"model": "gpt-4.1", "input": "hi", "include": ["everything"]},
            None,
            "include[0]",
            "invalid_value",
        ),
        (
            {"model": "no-such-model", "input": "hi"},
            "The requested model 'no-such-model' does not exist.",
            "model",
            "model_not_found",
        ),
    ],
)
async def test_refuses_what_openai_refuses(
    raw: Raw, body: dict[str, Any], message: str | None, param: str, code: str | None
) -> None:
    err = error_of(await raw.post(PATH, body, OPENAI))
    if message is not None:
        assert err["message"] == message
    else:
        assert err["message"].startswith("Invalid value: ")
    assert (err["param"], err["code"], err["type"]) == (param, code, "invalid_request_error")


async def test_reasoning_replay_rules(raw: Raw) -> None:
    user = {"role": "user", "content": "hi"}
    answer = {"role": "assistant", "content": [{"type": "output_text", "text": "yo"}]}
    forged = {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAAAxyz"}
    err = error_of(
        await raw.post(PATH, {"model": "gpt-5", "input": [user, forged, answer]}, OPENAI)
    )
    assert err["code"] == "invalid_encrypted_content" and "could not be verified" in err["message"]
    bare = {"type": "reasoning", "id": "rs_2", "summary": []}
    err = error_of(
        await raw.post(
            PATH, {"model": "gpt-5", "input": [user, bare, answer], "store": False}, OPENAI
        )
    )
    assert err["message"].startswith("Item with id 'rs_2' not found. Items are not persisted")
    first = await raw.post(
        PATH,
        {
            "model": "gpt-5",
            "input": "hi",
            "store": False,
            "include": ["reasoning.encrypted_content"],
        },
        OPENAI,
    )
    reasoning = first.json["output"][0]
    reasoning.pop("status", None)
    err = error_of(await raw.post(PATH, {"model": "gpt-5", "input": [user, reasoning]}, OPENAI))
    assert err["message"] == (
        f"Item '{reasoning['id']}' of type 'reasoning' was provided without its required "
        "following item."
    )
    ok = await raw.post(PATH, {"model": "gpt-5", "input": [user, reasoning, answer, user]}, OPENAI)
    assert ok.status == 200, ok.text


async def test_stored_reasoning_is_replayed_by_id(raw: Raw) -> None:
    """With store (the default), a reasoning item needs no encrypted content:
    the API knows it by its id."""
    first = (await raw.post(PATH, {"model": "gpt-5", "input": "hi"}, OPENAI)).json
    reasoning, message = first["output"]
    assert "encrypted_content" not in reasoning
    replay = [
        {"role": "user", "content": "hi"},
        reasoning,
        message,
        {"role": "user", "content": "more"},
    ]
    again = await raw.post(PATH, {"model": "gpt-5", "input": replay}, OPENAI)
    assert again.status == 200, again.text
    err = error_of(
        await raw.post(PATH, {"model": "gpt-5", "input": "x", "reasoning": "high"}, OPENAI)
    )
    assert err["message"] == (
        "Invalid type for 'reasoning': expected an object, but got a string instead."
    )


async def test_key_is_required(raw: Raw) -> None:
    err = error_of(await raw.post(PATH, {"model": "gpt-4.1", "input": "hi"}), 401)
    assert err["message"].startswith("You didn't provide an API key.")
