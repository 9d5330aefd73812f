"""Gemini 3's thought signatures on the emulator, over an agent's multi-step
turn (``[[chain]]``: one function call per step): every model turn of the
current exchange must carry the signature of its first call."""

from __future__ import annotations

import base64
from typing import Any

from .conftest import Raw

URL = "/v1beta/models/gemini-3-pro-preview:generateContent"
KEY = {"x-goog-api-key": "AIza-test"}
DECLARATIONS = [
    {"name": "get_weather", "parameters": {"type": "OBJECT", "properties": {}}},
    {"name": "get_time", "parameters": {"type": "OBJECT", "properties": {}}},
]
PROMPT = '[[chain]] [[tool get_weather {"city": "Oslo"}]] [[tool get_time {"zone": "CET"}]]'


def _body(contents: list[dict[str, Any]]) -> dict[str, Any]:
    return {"contents": contents, "tools": [{"functionDeclarations": DECLARATIONS}]}


def _result(name: str, text: str) -> dict[str, Any]:
    return {
        "role": "user",
        "parts": [{"functionResponse": {"name": name, "response": {"content": text}}}],
    }


async def test_multi_step_turn_needs_every_signature(raw: Raw) -> None:
    history: list[dict[str, Any]] = [{"role": "user", "parts": [{"text": PROMPT}]}]
    first = await raw.post(URL, _body(history), KEY)
    assert first.status == 200, first.text
    call_1 = first.json["candidates"][0]["content"]["parts"][0]
    assert call_1["functionCall"]["name"] == "get_weather" and call_1["thoughtSignature"]
    history += [{"role": "model", "parts": [call_1]}, _result("get_weather", "sun")]

    second = await raw.post(URL, _body(history), KEY)
    assert second.status == 200, second.text
    call_2 = second.json["candidates"][0]["content"]["parts"][0]
    assert call_2["functionCall"]["name"] == "get_time" and call_2["thoughtSignature"]
    history += [{"role": "model", "parts": [call_2]}, _result("get_time", "noon")]

    final = await raw.post(URL, _body(history), KEY)
    assert final.status == 200, final.text
    assert final.json["candidates"][0]["content"]["parts"][0]["text"] == "Tool result: noon"

    # The earlier step's signature is required as much as the latest one.
    for index in (1, 3):
        stripped = [dict(c, parts=list(c["parts"])) for c in history]
        stripped[index]["parts"][0] = {"functionCall": stripped[index]["parts"][0]["functionCall"]}
        refused = await raw.post(URL, _body(stripped), KEY)
        assert refused.status == 400, refused.text
        error = refused.json["error"]
        assert error["status"] == "INVALID_ARGUMENT"
        assert error["message"].startswith(
            "Function call is missing a thought_signature in functionCall parts."
        )
        assert f", position {index + 1}." in error["message"]


async def test_without_chain_calls_stay_parallel(raw: Raw) -> None:
    prompt = PROMPT.replace("[[chain]] ", "")
    answer = await raw.post(URL, _body([{"role": "user", "parts": [{"text": prompt}]}]), KEY)
    parts = answer.json["candidates"][0]["content"]["parts"]
    assert [p["functionCall"]["name"] for p in parts] == ["get_weather", "get_time"]
    # Only the first call of a step carries the signature, as Gemini does.
    assert "thoughtSignature" in parts[0] and "thoughtSignature" not in parts[1]


def _flip_a_byte(signature: str) -> str:
    raw = bytearray(base64.b64decode(signature))
    raw[len(raw) // 2] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


async def test_signatures_are_validated(raw: Raw) -> None:
    history: list[dict[str, Any]] = [{"role": "user", "parts": [{"text": PROMPT}]}]
    first = await raw.post(URL, _body(history), KEY)
    call = first.json["candidates"][0]["content"]["parts"][0]
    for signature, status in (
        (call["thoughtSignature"], 200),
        ("skip_thought_signature_validator", 200),  # Google's documented bypass
        # thoughtSignature is a proto3 bytes field: Google takes either base64
        # alphabet, with or without padding (google-genai sends URL-safe).
        (call["thoughtSignature"].replace("+", "-").replace("/", "_").rstrip("="), 200),
        (_flip_a_byte(call["thoughtSignature"]), 400),
        ("RW11R2VtaW5pU2lnAAAA", 400),
        ("not base64 at all!", 400),
    ):
        sent = [*history, {"role": "model", "parts": [{**call, "thoughtSignature": signature}]}]
        answer = await raw.post(URL, _body([*sent, _result("get_weather", "sun")]), KEY)
        assert answer.status == status, (signature, answer.text)
        if status == 400:
            assert answer.json["error"]["message"] == "Corrupted thought signature."
