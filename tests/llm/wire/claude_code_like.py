"""A generator of requests shaped like Claude Code's (sizes, block kinds, fields), with made-up text.

Real captures may not be committed; this reproduces their structure: a system
prompt of several cache-controlled blocks, two dozen tools with JSON Schemas
using ``$schema``/``additionalProperties``/``anyOf``/``propertyNames``/
``exclusiveMinimum``/``const``, a conversation with thinking, tool use, tool
results (strings, block lists with images, errors), a ``{"role": "system"}``
entry inside ``messages``, and the top-level fields Claude Code sends.
"""

from __future__ import annotations

import json
import random
from typing import Any

__all__ = ["claude_code_request"]

_WORDS = (
    "agent file path read write edit search pattern module function class test build run "
    "output error change review commit branch project config option value result context "
    "task plan step user request answer detail check verify update create remove list"
).split()
_TOOL_NAMES = (
    "Agent Bash CronCreate CronDelete CronList Edit EnterWorktree ExitWorktree NotebookEdit "
    "Read ReportFindings ScheduleWakeup SendMessage Skill TaskCreate TaskGet TaskList "
    "TaskOutput TaskStop TaskUpdate WebFetch WebSearch Workflow Write"
).split()
_PNG_BASE64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def _prose(rng: random.Random, words: int) -> str:
    sentences = []
    while words > 0:
        n = min(words, rng.randint(6, 18))
        words -= n
        sentence = " ".join(rng.choice(_WORDS) for _ in range(n))
        sentences.append(sentence[0].upper() + sentence[1:] + ".")
    return " ".join(sentences)


def _schema(rng: random.Random, name: str) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for i in range(rng.randint(1, 6)):
        key = f"{rng.choice(_WORDS)}_{i}"
        kind = rng.choice(("string", "number", "integer", "boolean", "array", "object", "enum"))
        prop: dict[str, Any] = {"description": _prose(rng, rng.randint(5, 40))}
        if kind == "enum":
            prop.update(type="string", enum=rng.sample(_WORDS, 3))
        elif kind == "array":
            prop.update(type="array", items={"type": "string"}, maxItems=rng.randint(1, 20))
        elif kind == "object":
            prop.update(
                type="object",
                propertyNames={"type": "string"},
                additionalProperties={"anyOf": [{"type": "string"}, {"const": None}]},
            )
        elif kind == "integer":
            prop.update(type="integer", exclusiveMinimum=0, maximum=600000)
        else:
            prop["type"] = kind
        properties[key] = prop
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": properties,
        "required": sorted(properties)[: rng.randint(0, len(properties))],
        "additionalProperties": False,
    }


def claude_code_request(seed: int = 0, turns: int = 6) -> dict[str, Any]:
    """A deterministic Claude-Code-shaped Messages request (about 100 KB with the defaults)."""
    rng = random.Random(seed)
    tools = [
        {
            "name": name,
            "description": _prose(rng, rng.randint(40, 600)),
            "input_schema": _schema(rng, name),
        }
        for name in _TOOL_NAMES
    ]
    messages: list[dict[str, Any]] = [
        {
            "role": "user",
            "content": [
                {
                    "type": "text",
                    "text": "<system-reminder>\n" + _prose(rng, 60) + "\n</system-reminder>",
                },
                {"type": "text", "text": _prose(rng, 12), "cache_control": {"type": "ephemeral"}},
            ],
        },
        {"role": "system", "content": "Available agent types:\n" + _prose(rng, 500)},
    ]
    for turn in range(turns):
        call_id = f"toolu_{seed:04d}{turn:04d}{rng.getrandbits(40):010x}"
        tool = rng.choice(tools)
        messages.append(
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "thinking",
                        "thinking": _prose(rng, 80),
                        "signature": "Eo8C" + "A" * 40,
                    },
                    {"type": "text", "text": _prose(rng, 20)},
                    {
                        "type": "tool_use",
                        "id": call_id,
                        "name": tool["name"],
                        "input": {"command": _prose(rng, 8)},
                    },
                ],
            }
        )
        kind = turn % 3
        result: dict[str, Any] = {"type": "tool_result", "tool_use_id": call_id}
        if kind == 0:
            result["content"] = _prose(rng, 400)
        elif kind == 1:
            result["content"] = [
                {"type": "text", "text": _prose(rng, 50)},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": _PNG_BASE64},
                },
            ]
        else:
            result.update(content="Exit code 1\n" + _prose(rng, 30), is_error=True)
        if turn == turns - 1:
            result["cache_control"] = {"type": "ephemeral"}
        messages.append({"role": "user", "content": [result]})
    messages.append({"role": "user", "content": [{"type": "text", "text": _prose(rng, 15)}]})
    user_id = {
        "device_id": f"{rng.getrandbits(256):064x}",
        "account_uuid": "",
        "session_id": "0f6e2b4a-1c3d-4e5f-8a9b-0c1d2e3f4a5b",
    }
    return {
        "model": "claude-opus-4-8",
        "messages": messages,
        "system": [
            {
                "type": "text",
                "text": "client-build: v=0.0.0; entry=cli;",
            },
            {
                "type": "text",
                "text": "You are a coding agent.",
                "cache_control": {"type": "ephemeral"},
            },
            {"type": "text", "text": _prose(rng, 3000), "cache_control": {"type": "ephemeral"}},
        ],
        "tools": tools,
        "metadata": {"user_id": json.dumps(user_id, separators=(",", ":"))},
        "max_tokens": 64000,
        "thinking": {"type": "adaptive"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "output_config": {"effort": "high"},
        "stream": True,
    }
