"""Fixtures for the Lua runtime tests, including a realistic large request body."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from lockgate.lua import LuaRequest, LuaRuntime

_HF_SNIPPET = """\
local body = kong.request.get_body("application/json", nil, 10485760)
if not body or body == "" then
  return
end
body.model = nil
kong.service.request.set_body(body, "application/json")
"""

_WORDS = (
    "agent tool file search result context repository function module request response "
    "stream token cache schema parameter value output input command shell path branch "
    "commit review test build deploy config worker process thread message user system "
    "assistant error retry timeout limit budget thinking summary plan task edit write read "
    "glob grep notebook cell kernel web fetch url query answer report finding schedule cron"
).split()
_UNICODE = ["—", "“quoted”", "café", "naïve", "日本語", "Ω≈ç√", "😀", "👩‍💻", "→", "±½"]


def _sentences(rng: random.Random, n: int) -> str:
    out = []
    for _ in range(n):
        words = [rng.choice(_WORDS) for _ in range(rng.randint(6, 18))]
        if rng.random() < 0.3:
            words.insert(rng.randint(0, len(words)), rng.choice(_UNICODE))
        if rng.random() < 0.2:
            words.insert(rng.randint(0, len(words)), '"' + rng.choice(_WORDS) + '"')
        if rng.random() < 0.1:
            words.insert(rng.randint(0, len(words)), "`C:\\Users\\dev\\" + rng.choice(_WORDS) + "`")
        out.append(" ".join(words).capitalize() + ".")
    return " ".join(out)


def _markdown(rng: random.Random, paragraphs: int) -> str:
    parts = []
    for i in range(paragraphs):
        if i % 3 == 1:
            items = [f"- {_sentences(rng, 1)}" for _ in range(rng.randint(2, 5))]
            parts.append("\n".join(items))
        elif i % 5 == 4:
            parts.append(f"## {rng.choice(_WORDS).title()}\n\n{_sentences(rng, 2)}")
        else:
            parts.append(_sentences(rng, rng.randint(2, 5)))
    return "\n\n".join(parts)


def _schema(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for _ in range(rng.randint(1 if depth else 2, 7 if depth == 0 else 3)):
        name = rng.choice(_WORDS) + "_" + rng.choice(_WORDS)
        kind = rng.choice(["string", "integer", "boolean", "array", "object", "enum", "number"])
        desc = _sentences(rng, rng.randint(1, 2))
        if kind == "enum":
            props[name] = {"type": "string", "enum": rng.sample(_WORDS, 4), "description": desc}
        elif kind == "array":
            props[name] = {"type": "array", "items": {"type": "string"}, "description": desc}
        elif kind == "object" and depth < 3:
            props[name] = _schema(rng, depth + 1) | {"description": desc}
        elif kind == "integer":
            props[name] = {"type": "integer", "minimum": 0, "maximum": 600000, "description": desc}
        elif kind == "number":
            props[name] = {"type": "number", "exclusiveMinimum": 0, "multipleOf": 0.01}
        else:
            props[name] = {"type": kind if kind != "object" else "string", "description": desc}
    schema: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    schema["required"] = sorted(rng.sample(sorted(props), rng.randint(0, len(props))))
    if depth == 0:
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema"} | schema
    return schema


def claude_code_request(seed: int = 2197) -> dict[str, Any]:
    """A Claude-Code-shaped /v1/messages body of about 100 KB (built, not recorded)."""
    rng = random.Random(seed)
    tool_names = [
        "Agent", "Bash", "CronCreate", "CronDelete", "CronList", "Edit", "EnterWorktree",
        "ExitWorktree", "NotebookEdit", "Read", "ReportFindings", "ScheduleWakeup",
        "SendMessage", "Skill", "TaskCreate", "TaskGet", "TaskList", "TaskOutput", "TaskStop",
        "TaskUpdate", "WebFetch", "WebSearch", "Workflow", "Write",
    ]  # fmt: skip
    tools = [
        {
            "name": name,
            "description": _markdown(rng, rng.randint(3, 9)),
            "input_schema": _schema(rng),
        }
        for name in tool_names
    ]
    tools[7]["input_schema"] = {"type": "object", "properties": {}, "required": []}
    tool_output = (
        "total 48\ndrwxr-xr-x  5 dev dev 4096 Nov 23 19:15 .\n"
        '\tprint("tab\\tand\\\\backslash")\n'
        "regex: ^\\s*(\\d+)\\.(\\d+)$ and a bell \u0007 and NUL-free control \u001b[0m\n"
        + _markdown(rng, 6)
    )
    return {
        "model": "claude-sonnet-4-5-20250929",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "<system-reminder>\n" + _markdown(rng, 4) + "\n</system-reminder>\n"},
                    {"type": "text", "text": "List the files and explain the build", "cache_control": {"type": "ephemeral"}},
                ],
            },
            {"role": "system", "content": _markdown(rng, 5)},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": _sentences(rng, 6), "signature": "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") for _ in range(1200)) + "=="},
                    {"type": "text", "text": "I'll look at the repository first."},
                    {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "Bash", "input": {"command": "ls -la && cat \"build.sh\"", "timeout": 120000, "run_in_background": False, "cursor": None}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_01A09q90qw90lq917835lq9", "content": tool_output, "is_error": False},
                    {"type": "tool_result", "tool_use_id": "toolu_empty", "content": []},
                ],
            },
            {"role": "assistant", "content": [{"type": "text", "text": _markdown(rng, 3)}]},
            {"role": "user", "content": "Thanks — now summarise it in 日本語 too 😀"},
        ],
        "system": [
            {"type": "text", "text": "client-build: v=0.0.0; entry=cli;"},
            {"type": "text", "text": "You are a Claude agent.", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": _markdown(rng, 30), "cache_control": {"type": "ephemeral", "ttl": "1h"}},
        ],
        "tools": tools,
        "metadata": {"user_id": orjson.dumps({"device_id": "4ba0c82d" * 8, "account_uuid": "", "session_id": "bc29f376-8a07-4081-b379-7b03dc43f3c9"}).decode()},
        "max_tokens": 32000,
        "temperature": 1,
        "top_p": 0.95,
        "thinking": {"type": "enabled", "budget_tokens": 31999},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "output_config": {"effort": "high", "seed": 9007199254740991, "scale": -1.5e-7},
        "stream": True,
    }  # fmt: skip


@pytest.fixture(scope="session")
def claude_body() -> bytes:
    return orjson.dumps(claude_code_request())


@pytest.fixture(scope="module")
def runtime() -> LuaRuntime:
    return LuaRuntime()


def _json_request(body: bytes | None, **kwargs: Any) -> LuaRequest:
    headers = {"content-type": "application/json", "host": "gateway.test"}
    return LuaRequest(method="POST", path="/v1/messages", headers=headers, body=body, **kwargs)


@pytest.fixture(scope="session")
def hf_snippet() -> str:
    """The HuggingFace tutorial's pre-function snippet, verbatim."""
    return _HF_SNIPPET


@pytest.fixture(scope="session")
def json_request() -> Callable[..., LuaRequest]:
    """Factory: a POST /v1/messages request with a JSON content type."""
    return _json_request


@pytest.fixture
def run(runtime: LuaRuntime) -> Callable[..., LuaRequest]:
    """Compile and run a snippet; returns the request for inspection."""

    def _run(code: str, request: LuaRequest | None = None, phase: str = "access") -> LuaRequest:
        request = request if request is not None else _json_request(b'{"model":"m","n":1}')
        runtime.run(runtime.compile(code, "snippet"), request, phase)
        return request

    return _run
