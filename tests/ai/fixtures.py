"""Requests for the AI tests: a tiny PNG, a tool, and a Claude-Code-sized Messages request.

The big request has the structure Claude Code sends (three system blocks with
``cache_control``, two dozen tools whose JSON Schemas use ``$schema``,
``additionalProperties``, ``exclusiveMinimum``, ``propertyNames``, ``const``,
``anyOf`` and type lists, several turns with a tool round trip, a tool result
carrying an image, an error result, thinking) with made-up text, about 90 KB.
"""

from __future__ import annotations

import base64
import random
import struct
import zlib
from typing import Any

__all__ = [
    "PNG_BASE64",
    "TOOL_NAMES",
    "WEATHER_TOOL",
    "claude_code_sized_request",
    "png_base64",
]

TOOL_NAMES = (
    "Agent Bash Glob Grep LeavePlan Read Edit Write NotebookEdit WebFetch TodoWrite WebSearch "
    "ShellOutput KillShell Skill Command TaskCreate TaskGet TaskList TaskUpdate AskUser "
    "EnterPlan ListResources ReadResource"
).split()
assert len(TOOL_NAMES) == 24

_WORDS = (
    "lantern copper river signal harbor module vector quarry ledger orbit meadow cipher "
    "beacon thicket granite prism falcon voyage kernel summit tide ember atlas relay canvas "
    "mosaic quartz willow anchor pilot glacier compass meridian saddle basin lattice forge"
).split()


def png_base64(width: int = 2, height: int = 2) -> str:
    """A valid RGB PNG (the emulators check image bytes by magic number)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xc8\x30\x30" * width for _ in range(height))
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    return base64.b64encode(png).decode()


PNG_BASE64 = png_base64()

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "The current weather in a city.",
    "input_schema": {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name"},
            "days": {"type": "integer", "exclusiveMinimum": 0},
        },
        "required": ["city"],
        "additionalProperties": False,
    },
}


def _prose(rng: random.Random, words: int) -> str:
    out = []
    while words > 0:
        n = min(words, rng.randint(5, 16))
        words -= n
        sentence = " ".join(rng.choice(_WORDS) for _ in range(n))
        out.append(sentence.capitalize() + ".")
    return " ".join(out)


def _property(rng: random.Random, kind: str) -> dict[str, Any]:
    doc = _prose(rng, rng.randint(6, 30))
    if kind == "string":
        return {"type": "string", "description": doc}
    if kind == "count":
        return {"type": "integer", "exclusiveMinimum": 0, "maximum": 600000, "description": doc}
    if kind == "ratio":
        return {"type": "number", "minimum": 0, "maximum": 1, "description": doc}
    if kind == "flag":
        return {"type": "boolean", "default": False, "description": doc}
    if kind == "mode":
        return {"type": "string", "enum": ["quick", "thorough", "silent"], "description": doc}
    if kind == "const":
        return {"type": "string", "const": "replace", "description": doc}
    if kind == "either":
        return {
            "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
            "description": doc,
        }
    if kind == "nullable":
        return {"type": ["string", "null"], "description": doc}
    if kind == "map":
        return {
            "type": "object",
            "propertyNames": {"type": "string", "pattern": "^[a-z_]+$"},
            "additionalProperties": {"anyOf": [{"type": "string"}, {"const": None}]},
            "description": doc,
        }
    if kind == "url":
        return {"type": "string", "format": "uri", "description": doc}
    # a list of small objects
    return {
        "type": "array",
        "minItems": 0,
        "maxItems": 50,
        "items": {
            "type": "object",
            "properties": {
                "content": {"type": "string", "minLength": 1},
                "status": {"type": "string", "enum": ["pending", "active", "done"]},
                "weight": {"type": "integer", "exclusiveMinimum": 0},
            },
            "required": ["content", "status"],
            "additionalProperties": False,
        },
        "description": doc,
    }


_KINDS = (
    "string",
    "count",
    "ratio",
    "flag",
    "mode",
    "const",
    "either",
    "nullable",
    "map",
    "url",
    "items",
)


def _tool(rng: random.Random, index: int, name: str) -> dict[str, Any]:
    kinds = [_KINDS[(index + k) % len(_KINDS)] for k in range(2 + index % 5)]
    properties = {f"{kind}_{k}": _property(rng, kind) for k, kind in enumerate(kinds)}
    return {
        "name": name,
        "description": _prose(rng, rng.randint(100, 260)),
        "input_schema": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": properties,
            "required": sorted(properties)[: 1 + index % 2],
            "additionalProperties": False,
        },
    }


def claude_code_sized_request(
    prompt: str,
    *,
    model: str,
    thinking_block: dict[str, Any] | None = None,
    stream: bool = True,
    seed: int = 7,
) -> dict[str, Any]:
    """A deterministic Claude-Code-shaped request whose last user turn is ``prompt``.

    ``thinking_block`` is the earlier assistant thinking block to replay (for
    Anthropic it must carry a signature the upstream issued); without it a
    made-up one is used, which every other provider drops.
    """
    rng = random.Random(seed)
    tools = [_tool(rng, i, name) for i, name in enumerate(TOOL_NAMES)]
    thinking = thinking_block or {
        "type": "thinking",
        "thinking": _prose(rng, 60),
        "signature": "c2lnbmF0dXJlLW1hZGUtdXA=",
    }
    listing = "\n".join(f"src/{rng.choice(_WORDS)}/{rng.choice(_WORDS)}.py" for _ in range(120))
    messages: list[dict[str, Any]] = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": f"<context-note>\n{_prose(rng, 220)}\n</context-note>"},
                {"type": "text", "text": "Look at the layout of this project, please."},
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "I will list the source files first."},
                {
                    "type": "tool_use",
                    "id": "toolu_01GlobA1b2C3d4E5f6G7h8J9",
                    "name": "Glob",
                    "input": {"string_0": "**/*.py"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_01GlobA1b2C3d4E5f6G7h8J9",
                    "content": listing,
                }
            ],
        },
        {
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": "toolu_01ReadK1m2N3p4Q5r6S7t8V9",
                    "name": "Read",
                    "input": {"count_0": 200, "ratio_1": 0.5},
                }
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_01ReadK1m2N3p4Q5r6S7t8V9",
                    "content": [
                        {"type": "text", "text": _prose(rng, 700)},
                        {
                            "type": "image",
                            "source": {
                                "type": "base64",
                                "media_type": "image/png",
                                "data": PNG_BASE64,
                            },
                        },
                    ],
                }
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Now the tests."},
                {
                    "type": "tool_use",
                    "id": "toolu_01BashW1x2Y3z4A5b6C7d8E9",
                    "name": "Bash",
                    "input": {"string_0": "python -m pytest -q", "flag_2": True},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_01BashW1x2Y3z4A5b6C7d8E9",
                    "content": "Exit code 1\n" + _prose(rng, 120),
                    "is_error": True,
                },
                {"type": "text", "text": "The tests fail; tell me why."},
            ],
        },
        {
            "role": "assistant",
            "content": [thinking, {"type": "text", "text": _prose(rng, 90)}],
        },
        {
            "role": "user",
            "content": [
                {"type": "text", "text": prompt, "cache_control": {"type": "ephemeral"}},
            ],
        },
    ]
    return {
        "model": model,
        "max_tokens": 32000,
        "system": [
            {"type": "text", "text": "client-header: build=0.0.0; entry=tests;"},
            {
                "type": "text",
                "text": "You are a careful coding agent working in a terminal.",
                "cache_control": {"type": "ephemeral"},
            },
            {
                "type": "text",
                "text": _prose(rng, 3300),
                "cache_control": {"type": "ephemeral"},
            },
        ],
        "messages": messages,
        "tools": tools,
        "metadata": {"user_id": "user_0f6e2b4a1c3d_account__session_5f8a9b0c"},
        "thinking": {"type": "enabled", "budget_tokens": 8000},
        "stream": stream,
    }
