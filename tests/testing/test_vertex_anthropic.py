"""The Claude-on-Vertex emulator: Vertex's body rules, its beta refusals, the
OAuth check of the Gemini one, and the official SDK's AnthropicVertex client
as a second opinion on the wire format."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from lockgate.testing import Emulator

from .conftest import Raw

PROJECT = "lockgate-test"
MODELS = f"/v1/projects/{PROJECT}/locations/us-east5/publishers/anthropic/models"
TOKEN = "ya29.static-vertex-claude"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
VERSION = "vertex-2023-10-16"


@pytest.fixture(autouse=True)
def static_token(emulator: Emulator) -> None:
    emulator.state.oauth.issue_static(TOKEN, PROJECT)


def body(text: str = "hi", **extra: Any) -> dict[str, Any]:
    return {
        "anthropic_version": VERSION,
        "max_tokens": 100,
        "messages": [{"role": "user", "content": text}],
        **extra,
    }


def anthropic_error(answer: Any, status: int) -> str:
    assert answer.status == status, answer.text
    data = answer.json
    assert data["type"] == "error" and data["error"]["type"] == "invalid_request_error"
    assert data["request_id"].startswith("req_vrtx_")
    return str(data["error"]["message"])


async def test_raw_predict_answers_a_message(raw: Raw) -> None:
    answer = await raw.post(f"{MODELS}/claude-sonnet-4-5@20250929:rawPredict", body(), AUTH)
    assert answer.status == 200, answer.text
    data = answer.json
    assert data["type"] == "message" and data["content"][0]["type"] == "text"
    assert data["usage"]["input_tokens"] > 0 and data["stop_reason"] == "end_turn"


async def test_stream_raw_predict_streams_anthropic_events(raw: Raw) -> None:
    answer = await raw.post(
        f"{MODELS}/claude-sonnet-4-5@20250929:streamRawPredict", body(stream=True), AUTH
    )
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    assert "event: message_start" in answer.text and "event: message_stop" in answer.text


async def test_a_body_without_anthropic_version_is_refused(raw: Raw) -> None:
    plain = body()
    del plain["anthropic_version"]
    answer = await raw.post(f"{MODELS}/claude-sonnet-4-5:rawPredict", plain, AUTH)
    assert "anthropic_version" in anthropic_error(answer, 400)


async def test_an_unknown_version_is_refused(raw: Raw) -> None:
    answer = await raw.post(
        f"{MODELS}/claude-sonnet-4-5:rawPredict", body(anthropic_version="2020-01-01"), AUTH
    )
    assert VERSION in anthropic_error(answer, 400)


async def test_a_model_in_the_body_is_refused(raw: Raw) -> None:
    answer = await raw.post(
        f"{MODELS}/claude-sonnet-4-5:rawPredict", body(model="claude-sonnet-4-5"), AUTH
    )
    assert anthropic_error(answer, 400) == "model: Extra inputs are not permitted"


async def test_a_beta_vertex_does_not_offer_is_refused(raw: Raw) -> None:
    headers = {**AUTH, "anthropic-beta": "interleaved-thinking-2025-05-14,claude-code-20250219"}
    answer = await raw.post(f"{MODELS}/claude-sonnet-4-5:rawPredict", body(), headers)
    message = anthropic_error(answer, 400)
    assert "`claude-code-20250219`" in message and "interleaved" not in message
    ok = {**AUTH, "anthropic-beta": "interleaved-thinking-2025-05-14"}
    assert (await raw.post(f"{MODELS}/claude-sonnet-4-5:rawPredict", body(), ok)).status == 200


async def test_no_token_and_a_wrong_token_get_googles_401(raw: Raw) -> None:
    for headers in ({}, {"Authorization": "Bearer ya29.not-issued"}):
        answer = await raw.post(f"{MODELS}/claude-sonnet-4-5:rawPredict", body(), headers)
        assert answer.status == 401
        assert answer.json["error"]["status"] == "UNAUTHENTICATED"


async def test_the_anthropic_validation_applies(raw: Raw) -> None:
    answer = await raw.post(f"{MODELS}/claude-sonnet-4-5:rawPredict", body(max_tokens=None), AUTH)
    assert "max_tokens" in anthropic_error(answer, 400)


async def test_count_tokens_keeps_the_model_in_the_body(raw: Raw) -> None:
    counted = body(model="claude-sonnet-4-5@20250929")
    del counted["max_tokens"]
    answer = await raw.post(f"{MODELS}/count-tokens:rawPredict", counted, AUTH)
    assert answer.status == 200, answer.text
    assert answer.json["input_tokens"] > 0
    del counted["anthropic_version"]
    refused = await raw.post(f"{MODELS}/count-tokens:rawPredict", counted, AUTH)
    assert "anthropic_version" in anthropic_error(refused, 400)


def sdk(emulator: Emulator) -> anthropic.AsyncAnthropicVertex:
    return anthropic.AsyncAnthropicVertex(
        region="us-east5",
        project_id=PROJECT,
        access_token=TOKEN,
        base_url=emulator.url + "/v1",
        max_retries=0,
    )


async def test_the_official_vertex_client_creates_streams_and_counts(emulator: Emulator) -> None:
    client = sdk(emulator)
    messages = [{"role": "user", "content": "hello"}]
    message = await client.messages.create(
        model="claude-sonnet-4-5@20250929", max_tokens=200, messages=messages
    )
    assert message.content[0].type == "text" and message.usage.output_tokens > 0
    async with client.messages.stream(
        model="claude-sonnet-4-5@20250929", max_tokens=200, messages=messages
    ) as stream:
        final = await stream.get_final_message()
    assert final.stop_reason == "end_turn" and final.content[0].type == "text"
    counted = await client.messages.count_tokens(
        model="claude-sonnet-4-5@20250929", messages=messages
    )
    assert counted.input_tokens > 0
    paths = [r["path"] for r in emulator.records if r["provider"] == "vertex_anthropic"]
    assert paths == [
        f"{MODELS}/claude-sonnet-4-5@20250929:rawPredict",
        f"{MODELS}/claude-sonnet-4-5@20250929:streamRawPredict",
        f"{MODELS}/count-tokens:rawPredict",
    ]


async def test_the_official_client_reports_a_refused_beta(emulator: Emulator) -> None:
    with pytest.raises(anthropic.BadRequestError, match="anthropic-beta"):
        await sdk(emulator).messages.create(
            model="claude-sonnet-4-5@20250929",
            max_tokens=50,
            messages=[{"role": "user", "content": "hi"}],
            extra_headers={"anthropic-beta": "prompt-caching-scope-2026-01-05"},
        )
