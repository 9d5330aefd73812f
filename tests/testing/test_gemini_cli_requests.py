"""The Gemini emulator takes the requests Gemini CLI 0.61.0 sends, as the
real API does (shapes recorded from the CLI, docs/clients/gemini-cli.md),
and counts an attached image as Gemini does, not as its base64 bytes."""

from __future__ import annotations

import base64
from typing import Any

from .conftest import Raw

KEY = {"x-goog-api-key": "AIza-test"}
MODEL = "/v1beta/models/gemini-2.5-flash"
#: A megabyte of "image": as text it would be some 350,000 tokens.
PICTURE = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(1_000_000)).decode()


def _cli_turn(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"role": "user", "parts": [{"text": "<session_context>...</session_context>"}]},
        {"role": "user", "parts": [{"text": "what is in @pic.png"}, *extra]},
    ]


async def test_an_attached_image_counts_as_media_not_as_its_bytes(raw: Raw) -> None:
    image = {"inlineData": {"data": PICTURE, "mimeType": "image/png"}}
    counted = await raw.post(f"{MODEL}:countTokens", {"contents": _cli_turn(image)}, KEY)
    assert counted.status == 200, counted.text
    details = {d["modality"]: d["tokenCount"] for d in counted.json["promptTokensDetails"]}
    assert details["IMAGE"] == 258
    assert 0 < details["TEXT"] < 100
    assert counted.json["totalTokens"] == details["TEXT"] + 258
    plain = await raw.post(f"{MODEL}:countTokens", {"contents": _cli_turn()}, KEY)
    assert plain.json["promptTokensDetails"] == [
        {"modality": "TEXT", "tokenCount": plain.json["totalTokens"]}
    ]
    # The answer's usage counts the same way as countTokens did.
    answered = await raw.post(f"{MODEL}:generateContent", {"contents": _cli_turn(image)}, KEY)
    usage = answered.json["usageMetadata"]
    assert usage["promptTokenCount"] == counted.json["totalTokens"]
    assert {"modality": "IMAGE", "tokenCount": 258} in usage["promptTokensDetails"]


async def test_the_cli_request_shapes_are_accepted(raw: Raw) -> None:
    """parametersJsonSchema declarations, a systemInstruction with role user,
    thinkingConfig, and call ids the CLI mints, sent back on both sides."""
    declaration = {
        "name": "run_shell_command",
        "description": "Runs a shell command.",
        "parametersJsonSchema": {
            "type": "object",
            "properties": {"command": {"type": "string"}, "description": {"type": "string"}},
            "required": ["command"],
        },
    }
    call_id = "run_shell_command_1796292524101_0"
    body = {
        "contents": [
            *_cli_turn(),
            {
                "role": "model",
                "parts": [
                    {
                        "functionCall": {
                            "id": call_id,
                            "name": "run_shell_command",
                            "args": {"command": "echo ok"},
                        }
                    }
                ],
            },
            {
                "role": "user",
                "parts": [
                    {
                        "functionResponse": {
                            "id": call_id,
                            "name": "run_shell_command",
                            "response": {"output": "<untrusted_context>\nOutput: ok\n"},
                        }
                    }
                ],
            },
        ],
        "systemInstruction": {"role": "user", "parts": [{"text": "You are Gemini CLI."}]},
        "tools": [{"functionDeclarations": [declaration]}],
        "generationConfig": {
            "temperature": 1,
            "topP": 0.95,
            "topK": 64,
            "thinkingConfig": {"includeThoughts": True, "thinkingBudget": 8192},
        },
    }
    answer = await raw.post(f"{MODEL}:streamGenerateContent?alt=sse", body, KEY)
    assert answer.status == 200, answer.text
    assert "Output: ok" in answer.text
    # The routing classifier's structured output, in upper-case Gemini types.
    rating = {
        "contents": _cli_turn(),
        "systemInstruction": {"role": "user", "parts": [{"text": "Rate the task."}]},
        "generationConfig": {
            "responseMimeType": "application/json",
            "responseJsonSchema": {
                "type": "OBJECT",
                "properties": {
                    "complexity_reasoning": {"type": "STRING"},
                    "complexity_score": {"type": "INTEGER"},
                },
                "required": ["complexity_reasoning", "complexity_score"],
            },
            "thinkingConfig": {"includeThoughts": True, "thinkingLevel": "HIGH"},
        },
    }
    rated = await raw.post("/v1beta/models/gemini-3-flash-preview:generateContent", rating, KEY)
    assert rated.status == 200, rated.text
    assert '"complexity_score"' in rated.json["candidates"][0]["content"]["parts"][0]["text"]
