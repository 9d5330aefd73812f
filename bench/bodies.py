"""The request bodies the benchmark sends, written for it (no captured text).

Two Anthropic Messages requests, each streamed or not:

- ``small``: one short user turn; the emulator answers its default greeting
  in 8 stream chunks.
- ``cc`` (Claude-Code-sized, ~90 KB): 3 system blocks with ``cache_control``,
  24 tools with full JSON schemas (``$schema``, nested objects, enums,
  ``additionalProperties``), and a few turns with ``tool_use`` and
  ``tool_result`` blocks; the emulator answers a ~1 KB text in 48 chunks.

Each has the Chat Completions body that lockgate sends the OpenAI upstream
for it (``anthropic_to_openai_request`` plus the OpenAI provider's rules for
``gpt-5*`` models), which is what the direct-to-emulator floor sends, and
its OpenAI Responses API twin (the same conversation as input items, for the
Responses-to-Anthropic comparison).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Any

import orjson

from lockgate.llm.wire.anthropic_openai import anthropic_to_openai_request

__all__ = [
    "ANTHROPIC_MODEL",
    "MODEL",
    "RequestBody",
    "build_bodies",
    "claude_code_request",
    "responses_twin",
    "slow_stream_body",
    "small_request",
]

#: The tutorial's model; ai-proxy refuses a request naming another model.
MODEL = "gpt-5-mini"
#: The model named when the Anthropic emulator is called directly.
ANTHROPIC_MODEL = "claude-sonnet-4-5-20250929"
SMALL_CHUNKS = 8
CC_CHUNKS = 48


@dataclass(frozen=True)
class RequestBody:
    """One request, encoded once: the Anthropic body and its OpenAI twin."""

    name: str  # "small" or "cc"
    stream: bool
    anthropic: bytes
    openai: bytes
    anthropic_direct: bytes  # the same body naming a Claude model
    responses: bytes  # the same conversation as a Responses API request

    @property
    def label(self) -> str:
        return f"{self.name}/{'stream' if self.stream else 'json'}"


# ------------------------------------------------------------------ text material

_WORDS = (
    "buffer cache client config context cursor decoder diff encoder entry event field "
    "file frame handler header index input key layer limit line list loader lock log "
    "map marker message module node offset option output packet parser path pattern "
    "plugin pool prefix queue range reader record region request result route schema "
    "scope segment session shard signal slice source span state stream string suffix "
    "table target task term text thread token tree value vector window worker writer"
).split()

_NOTES = (
    "Prefer this tool over running an equivalent shell command: it reports errors in a "
    "structured way and never asks the user for confirmation.",
    "Paths must be absolute. A relative path is resolved against the project root, which "
    "is rarely what you meant when the user works in a subdirectory.",
    "When several independent calls are needed, issue them in one message so they run in "
    "parallel; sequential calls are only right when one depends on the other's output.",
    "Large outputs are truncated to the first 30000 characters; narrow the request (a line "
    "range, a glob, a `head_limit`) instead of reading everything and skimming.",
    'Quote arguments that contain spaces, e.g. "src/my module/file.py", and never put '
    "secrets (tokens, passwords, keys) into an argument: they end up in the transcript.",
    "The result is plain text with one entry per line; line numbers, when shown, start at 1 "
    "and are followed by a tab character (\\t) before the content.",
    "Do not use this tool to communicate with the user: write your answer as normal text "
    "outside of any tool call, and keep it short unless the user asks for detail.",
    "If the call fails, read the error message carefully before retrying: most failures "
    "come from a wrong path or an argument of the wrong type, not from a transient problem.",
    "Respect the repository's conventions (indentation, quote style, line length). Look at "
    "neighbouring code before writing new code and match what you see there.",
    "Unicode is preserved exactly — accents (é, ü, ñ), CJK (日本語), emoji (🙂) and "
    "right-to-left text all round-trip, so never re-encode what you read.",
    "The tool runs with the user's permissions. Anything destructive (deleting files, "
    "force-pushing, dropping tables) needs an explicit request from the user first.",
    "Results are cached for the duration of the turn; calling again with identical "
    "arguments returns the cached result unless the underlying files changed.",
    "A timeout (default 120000 ms, at most 600000 ms) stops long calls; say why you expect "
    "a long run when you raise it, and prefer running slow work in the background.",
    "Regular expressions use Rust syntax: escape literal braces (`interface\\{\\}`) and "
    "use `(?s)` or the multiline option when a pattern must cross line boundaries.",
    "Output is sorted by modification time, newest first, which usually puts the files the "
    "user is working on at the top of the list.",
    "Use the `description` argument to say in 5-10 words what the call does, in the active "
    'voice ("List files in the current directory"), so the user can follow along.',
)

_CODE = (
    "def parse_header(line: str) -> tuple[str, str]:\n"
    '    name, sep, value = line.partition(":")\n'
    "    if not sep:\n"
    '        raise ValueError(f"malformed header: {line!r}")\n'
    "    return name.strip().lower(), value.strip()\n"
)


def _sentence(rng: random.Random, words: int) -> str:
    picked = [rng.choice(_WORDS) for _ in range(words)]
    return " ".join(picked).capitalize() + "."


def _paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(_sentence(rng, rng.randint(8, 16)) for _ in range(sentences))


def _padded(rng: random.Random, head: str, size: int) -> str:
    parts = [head]
    notes = list(_NOTES)
    rng.shuffle(notes)
    length = len(head)
    while length < size:
        part = f"- {notes.pop()}" if notes else _paragraph(rng, 3)
        parts.append(part)
        length += len(part) + 1
    return "\n".join(parts)


# ------------------------------------------------------------------------ tools

# (name, purpose, properties (name -> schema), required)
_TOOL_SPECS: tuple[tuple[str, str, dict[str, Any], list[str]], ...] = (
    (
        "Shell",
        "Runs a command in a persistent shell session and returns its output and exit code.",
        {
            "command": {"type": "string", "description": "The command line to run"},
            "timeout": {"type": "number", "description": "Milliseconds, at most 600000"},
            "description": {"type": "string", "description": "What the command does"},
            "background": {"type": "boolean", "description": "Run without waiting"},
        },
        ["command"],
    ),
    (
        "FindFiles",
        "Finds files whose path matches a glob pattern such as `src/**/*.py`.",
        {
            "pattern": {"type": "string", "description": "The glob to match"},
            "path": {"type": "string", "description": "Directory to search from"},
        },
        ["pattern"],
    ),
    (
        "SearchText",
        "Searches file contents with a regular expression and lists matches.",
        {
            "pattern": {"type": "string"},
            "path": {"type": "string"},
            "glob": {"type": "string"},
            "output_mode": {"type": "string", "enum": ["content", "files", "count"]},
            "context_before": {"type": "number"},
            "context_after": {"type": "number"},
            "case_insensitive": {"type": "boolean"},
            "file_type": {"type": "string"},
            "head_limit": {"type": "number"},
            "multiline": {"type": "boolean"},
        },
        ["pattern"],
    ),
    (
        "ReadFile",
        "Reads a file from the local filesystem, optionally a range of lines.",
        {
            "file_path": {"type": "string"},
            "offset": {"type": "integer", "minimum": 0},
            "limit": {"type": "integer", "exclusiveMinimum": 0},
        },
        ["file_path"],
    ),
    (
        "EditFile",
        "Replaces an exact string in a file with another string.",
        {
            "file_path": {"type": "string"},
            "old_string": {"type": "string"},
            "new_string": {"type": "string"},
            "replace_all": {"type": "boolean", "default": False},
        },
        ["file_path", "old_string", "new_string"],
    ),
    (
        "WriteFile",
        "Writes a whole file, replacing any previous content.",
        {"file_path": {"type": "string"}, "content": {"type": "string"}},
        ["file_path", "content"],
    ),
    (
        "EditNotebook",
        "Replaces, inserts or deletes one cell of a Jupyter notebook.",
        {
            "notebook_path": {"type": "string"},
            "cell_id": {"type": "string"},
            "new_source": {"type": "string"},
            "cell_type": {"type": "string", "enum": ["code", "markdown"]},
            "edit_mode": {"type": "string", "enum": ["replace", "insert", "delete"]},
        },
        ["notebook_path", "new_source"],
    ),
    (
        "FetchPage",
        "Fetches a web page, converts it to markdown and answers a question about it.",
        {
            "url": {"type": "string", "format": "uri"},
            "prompt": {"type": "string"},
        },
        ["url", "prompt"],
    ),
    (
        "SearchWeb",
        "Searches the web and returns result titles, links and snippets.",
        {
            "query": {"type": "string", "minLength": 2},
            "allowed_domains": {"type": "array", "items": {"type": "string"}},
            "blocked_domains": {"type": "array", "items": {"type": "string"}},
        },
        ["query"],
    ),
    (
        "TaskList",
        "Creates and updates a structured task list for the current session.",
        {
            "todos": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "content": {"type": "string", "minLength": 1},
                        "status": {"type": "string", "enum": ["pending", "in_progress", "done"]},
                        "active_form": {"type": "string", "minLength": 1},
                    },
                    "required": ["content", "status", "active_form"],
                    "additionalProperties": False,
                },
            }
        },
        ["todos"],
    ),
    (
        "Delegate",
        "Starts a sub-agent with its own context to carry out a multi-step task.",
        {
            "description": {"type": "string"},
            "prompt": {"type": "string"},
            "agent_type": {"type": "string"},
            "model": {"type": "string", "enum": ["fast", "balanced", "deep"]},
        },
        ["description", "prompt", "agent_type"],
    ),
    (
        "ShellOutput",
        "Reads new output from a command started in the background.",
        {"shell_id": {"type": "string"}, "filter": {"type": "string"}},
        ["shell_id"],
    ),
    (
        "StopShell",
        "Stops a background command by its id.",
        {"shell_id": {"type": "string"}},
        ["shell_id"],
    ),
    (
        "ExitPlanMode",
        "Presents the plan to the user and asks to leave planning mode.",
        {"plan": {"type": "string"}},
        ["plan"],
    ),
    (
        "AskUser",
        "Asks the user one to four multiple-choice questions.",
        {
            "questions": {
                "type": "array",
                "minItems": 1,
                "maxItems": 4,
                "items": {
                    "type": "object",
                    "properties": {
                        "question": {"type": "string"},
                        "header": {"type": "string", "maxLength": 12},
                        "multi_select": {"type": "boolean"},
                        "options": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "label": {"type": "string"},
                                    "description": {"type": "string"},
                                },
                                "required": ["label", "description"],
                                "additionalProperties": False,
                            },
                        },
                    },
                    "required": ["question", "header", "options", "multi_select"],
                    "additionalProperties": False,
                },
            }
        },
        ["questions"],
    ),
    (
        "RunSkill",
        "Runs a named skill (a packaged set of instructions) in the conversation.",
        {"skill": {"type": "string"}, "arguments": {"type": "string"}},
        ["skill"],
    ),
    (
        "SlashCommand",
        "Runs one of the user's custom slash commands.",
        {"command": {"type": "string", "pattern": "^/"}},
        ["command"],
    ),
    (
        "ListResources",
        "Lists the resources that connected tool servers offer.",
        {"server": {"type": "string"}},
        [],
    ),
    (
        "ReadResource",
        "Reads one resource of a connected tool server by its URI.",
        {"server": {"type": "string"}, "uri": {"type": "string"}},
        ["server", "uri"],
    ),
    (
        "LanguageServer",
        "Asks the language server for definitions, references or hover information.",
        {
            "operation": {
                "type": "string",
                "enum": ["definition", "references", "hover", "symbols", "diagnostics"],
            },
            "file_path": {"type": "string"},
            "line": {"type": "integer", "minimum": 1},
            "character": {"type": "integer", "minimum": 1},
        },
        ["operation", "file_path"],
    ),
    (
        "MultiEdit",
        "Applies several string replacements to one file in a single atomic step.",
        {
            "file_path": {"type": "string"},
            "edits": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "properties": {
                        "old_string": {"type": "string"},
                        "new_string": {"type": "string"},
                        "replace_all": {"type": "boolean"},
                    },
                    "required": ["old_string", "new_string"],
                    "additionalProperties": False,
                },
            },
        },
        ["file_path", "edits"],
    ),
    (
        "GitStatus",
        "Summarises the working tree: branch, staged, unstaged and untracked files.",
        {"path": {"type": "string"}, "include_ignored": {"type": "boolean"}},
        [],
    ),
    (
        "RunTests",
        "Runs the project's test command, optionally for a subset of tests.",
        {
            "selector": {"type": "string"},
            "fail_fast": {"type": "boolean"},
            "env": {"type": "object", "additionalProperties": {"type": "string"}},
        },
        [],
    ),
    (
        "Remember",
        "Stores a short fact in the project's memory file for later sessions.",
        {
            "fact": {"type": "string", "maxLength": 500},
            "scope": {"type": "string", "enum": ["project", "user"]},
        },
        ["fact"],
    ),
)


def _tool(rng: random.Random, spec: tuple[str, str, dict[str, Any], list[str]]) -> dict[str, Any]:
    name, purpose, props, required = spec
    detailed: dict[str, Any] = {}
    for prop, schema in props.items():
        schema = dict(schema)
        schema.setdefault("description", _sentence(rng, rng.randint(6, 14)))
        detailed[prop] = schema
    head = f"{purpose}\n\nUsage:"
    return {
        "name": name,
        "description": _padded(rng, head, rng.randint(1900, 2300)),
        "input_schema": {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": detailed,
            "required": required,
            "additionalProperties": False,
        },
    }


# --------------------------------------------------------------------- requests


def _reply_text(rng: random.Random) -> str:
    return " ".join(_paragraph(rng, 2) for _ in range(5))[:1000]


def _directives(chunks: int, slow_ms: int) -> str:
    return f"[[chunks {chunks}]]" + (f" [[slow {slow_ms}]]" if slow_ms else "")


def claude_code_request(
    stream: bool, model: str = MODEL, chunks: int = CC_CHUNKS, slow_ms: int = 0
) -> dict[str, Any]:
    """A Claude-Code-shaped request of about 90 KB (deterministic); the
    emulator answers ~1 KB in ``chunks`` stream chunks, ``slow_ms`` apart."""
    rng = random.Random(20260)
    system_text = _padded(
        rng,
        "You are a coding assistant working in the user's terminal. Be concise, accurate and "
        "careful with the user's files.\n\n# Working rules",
        13000,
    )
    reminder = "<context-note>\n" + _paragraph(rng, 12) + "\n</context-note>"
    listing = "\n".join(f"{i + 1}\t{line}" for i, line in enumerate((_CODE * 14).splitlines()))
    grep_hits = "\n".join(
        f"src/pkg/{rng.choice(_WORDS)}_{i}.py:{rng.randint(1, 400)}: {_sentence(rng, 7)}"
        for i in range(24)
    )
    directives = f"[[reply {_reply_text(rng)}]] {_directives(chunks, slow_ms)}"
    session = hashlib.sha256(b"bench-session").hexdigest()
    return {
        "model": model,
        "max_tokens": 32000,
        "stream": stream,
        "system": [
            {"type": "text", "text": "client-build: bench 2.1; entrypoint: cli; channel: stable"},
            {
                "type": "text",
                "text": "You are an interactive command-line assistant for software work.",
                "cache_control": {"type": "ephemeral"},
            },
            {"type": "text", "text": system_text, "cache_control": {"type": "ephemeral"}},
        ],
        "tools": [_tool(rng, spec) for spec in _TOOL_SPECS],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": reminder},
                    {"type": "text", "text": "The parser test fails on headers without a colon."},
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Let me read the parser first."},
                    {
                        "type": "tool_use",
                        "id": "toolu_bench_0001",
                        "name": "ReadFile",
                        "input": {"file_path": "/home/dev/project/src/pkg/parser.py"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_bench_0001", "content": listing}
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Now the callers of parse_header."},
                    {
                        "type": "tool_use",
                        "id": "toolu_bench_0002",
                        "name": "SearchText",
                        "input": {"pattern": "parse_header\\(", "output_mode": "content"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_bench_0002",
                        "content": [{"type": "text", "text": grep_hits}],
                    }
                ],
            },
            {
                "role": "assistant",
                "content": [{"type": "text", "text": _paragraph(rng, 6)}],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "text",
                        "text": f"Good. Explain the fix in a few sentences. {directives}",
                        "cache_control": {"type": "ephemeral"},
                    }
                ],
            },
        ],
        "metadata": {"user_id": f'{{"device_id":"{session}","session_id":"bench"}}'},
        "thinking": {"type": "adaptive"},
        "output_config": {"effort": "high"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
    }


def small_request(
    stream: bool, model: str = MODEL, chunks: int = SMALL_CHUNKS, slow_ms: int = 0
) -> dict[str, Any]:
    text = f"Say hello in one sentence. {_directives(chunks, slow_ms)}"
    return {
        "model": model,
        "max_tokens": 1024,
        "stream": stream,
        "messages": [{"role": "user", "content": text}],
    }


def openai_twin(body: dict[str, Any]) -> dict[str, Any]:
    """What lockgate sends the OpenAI upstream for ``body`` (gpt-5 rules)."""
    out = anthropic_to_openai_request(body, MODEL)
    if "max_tokens" in out:
        out["max_completion_tokens"] = out.pop("max_tokens")
    if out.get("temperature") not in (None, 1):
        del out["temperature"]
    out.pop("top_p", None)
    return out


def _texts(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "\n\n".join(b["text"] for b in content if b.get("type") == "text")


def responses_twin(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` (Anthropic) as a Responses API request, as Codex would send
    it: instructions, message and function-call items, function tools."""
    items: list[dict[str, Any]] = []
    for message in body["messages"]:
        role = message["role"]
        content = message["content"]
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        for block in content:
            kind = block["type"]
            if kind == "text":
                part = "output_text" if role == "assistant" else "input_text"
                items.append(
                    {
                        "type": "message",
                        "role": role,
                        "content": [{"type": part, "text": block["text"]}],
                    }
                )
            elif kind == "tool_use":
                items.append(
                    {
                        "type": "function_call",
                        "call_id": block["id"],
                        "name": block["name"],
                        "arguments": orjson.dumps(block["input"]).decode(),
                    }
                )
            elif kind == "tool_result":
                items.append(
                    {
                        "type": "function_call_output",
                        "call_id": block["tool_use_id"],
                        "output": _texts(block.get("content") or ""),
                    }
                )
    out: dict[str, Any] = {
        "model": ANTHROPIC_MODEL,
        "input": items,
        "max_output_tokens": body["max_tokens"],
        "stream": body["stream"],
        "store": False,
    }
    if body.get("system"):
        out["instructions"] = _texts(body["system"])
    if body.get("tools"):
        out["tools"] = [
            {
                "type": "function",
                "name": t["name"],
                "description": t.get("description", ""),
                "parameters": t["input_schema"],
                "strict": False,
            }
            for t in body["tools"]
        ]
        out["tool_choice"] = "auto"
        out["parallel_tool_calls"] = True
    return out


def build_bodies() -> list[RequestBody]:
    out = []
    for name, make in (("small", small_request), ("cc", claude_code_request)):
        for stream in (True, False):
            body = make(stream)
            direct = dict(body)
            direct.pop("output_config", None)  # effort needs a model that has it
            direct["model"] = ANTHROPIC_MODEL
            if "thinking" in direct:
                direct["thinking"] = {"type": "enabled", "budget_tokens": 16000}
            out.append(
                RequestBody(
                    name=name,
                    stream=stream,
                    anthropic=orjson.dumps(body),
                    openai=orjson.dumps(openai_twin(body)),
                    anthropic_direct=orjson.dumps(direct),
                    responses=orjson.dumps(responses_twin(body)),
                )
            )
    return out


def slow_stream_body(name: str, chunks: int, slow_ms: int) -> bytes:
    """A streamed Anthropic request the emulator answers slowly (for holding
    many streams open at once)."""
    make = claude_code_request if name == "cc" else small_request
    return orjson.dumps(make(True, chunks=chunks, slow_ms=slow_ms))


if __name__ == "__main__":
    for b in build_bodies():
        print(
            f"{b.label:12} anthropic {len(b.anthropic):7} B  openai {len(b.openai):7} B  "
            f"responses {len(b.responses):7} B"
        )
