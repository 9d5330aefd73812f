"""Directives that let a test drive the emulated model from its prompt.

A test cannot configure a model behind a gateway, but it controls the prompt.
Directives are written in the text of the last user turn, anywhere in it
(Claude Code wraps the user's words in its own text)::

    [[tool NAME {"json": "args"}]]   call a tool (several directives: parallel calls)
    [[reply some text]]             answer exactly this text
    [[echo]]                        answer the user's text, directives removed
    [[fail 429]]                    answer with the provider's error for this status
    [[fail 529 after 3]]            stream 3 frames, then the provider's stream error
    [[sleep 2.5]]                   wait before answering (seconds)
    [[slow 50]]                     wait between stream frames (milliseconds)
    [[chunks 20]]                   split the text into this many stream chunks
    [[cut 3]]                       close the connection after 3 stream frames
                                    (not streamed: before any byte of the answer)
    [[think]]                       produce reasoning, in the provider's form,
                                    when the request enabled it
    [[chain]]                       call the tool directives one at a time, each
                                    after the previous result (an agent's
                                    multi-step turn; Gemini emulator), instead
                                    of all at once
    [[overflow]]                    refuse the prompt as longer than the model's
                                    context window, with the provider's real
                                    error (``[[overflow 250000]]``: claim that
                                    many prompt tokens); a prompt that really
                                    is longer gets the same error

The faults (``fail``, ``sleep``, ``cut``, ``overflow``) may be scoped with ``on NAME`` to
one provider (``openai``, ``anthropic``, ``huggingface``, ``dashscope``,
``gemini``) or one model, so that one target of a load balancer fails while
another, given the same prompt, answers::

    [[fail 429 on openai]]          only the OpenAI emulator fails
    [[sleep 3 on gpt-4.1]]          only requests for the model gpt-4.1 wait
    [[cut 2 on anthropic]]          only the Anthropic emulator cuts its stream

A scoped directive that does not apply is removed from the text all the same.

The provider-independent part of answering (which text, which tool calls, the
limits of ``max_tokens`` and stop sequences) lives here too, so each provider
module only translates a :class:`Reply` into its wire format.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson

from .tokens import count_tokens

__all__ = [
    "Reply",
    "Script",
    "ToolCall",
    "Turn",
    "apply_limits",
    "json_instance",
    "parse_script",
    "plan_reply",
    "split_chunks",
    "split_fragments",
    "thinking_text",
]

_DIRECTIVE = re.compile(
    r"\[\[\s*(tool|reply|echo|fail|sleep|slow|chunks|cut|think|overflow|chain)\b", re.I
)
_NUMBER = re.compile(r"\s*(-?\d+(?:\.\d+)?)\s*")
_FAIL = re.compile(r"\s*(\d{3})(?:\s+after\s+(\d+))?\s*")
_SCOPE = re.compile(r"on\s+([A-Za-z0-9_.:/\-]+)\s*")
_OPTIONAL_NUMBER = re.compile(r"\s*(\d+)?\s*")
_SCOPED = frozenset({"fail", "sleep", "cut", "overflow"})
_TOOL_NAME = re.compile(r"\s+([A-Za-z0-9_.:\-]+)\s*")
_DECODER = json.JSONDecoder()


@dataclass(slots=True)
class Script:
    """What the directives of one prompt ask for."""

    tools: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    reply: str | None = None
    echo: bool = False
    fail: int | None = None
    fail_after: int | None = None
    sleep: float = 0.0
    slow_ms: float = 0.0
    chunks: int | None = None
    cut: int | None = None
    think: bool = False
    chain: bool = False
    #: ``[[overflow]]``: 0, or the prompt size it claims.
    overflow: int | None = None
    text: str = ""  # the prompt text with directives removed


def _close(text: str, pos: int) -> int | None:
    """Index just past the ``]]`` closing a directive whose body ends at ``pos``."""
    m = re.compile(r"\s*\]\]").match(text, pos)
    return m.end() if m else None


def parse_script(text: str, provider: str | None = None, model: str | None = None) -> Script:
    """Collects every directive in ``text``; malformed ones are left as text.

    ``provider`` and ``model`` name the request, for faults scoped with ``on NAME``.
    """
    script = Script()
    names = {n for n in (provider, model) if n}
    kept: list[str] = []
    pos = 0
    for m in _DIRECTIVE.finditer(text):
        if m.start() < pos:
            continue
        end = _parse_one(m.group(1).lower(), text, m.end(), script, names)
        if end is None:
            continue
        kept.append(text[pos : m.start()])
        pos = end
    kept.append(text[pos:])
    script.text = re.sub(r"[ \t]{2,}", " ", "".join(kept)).strip()
    return script


def _parse_one(kind: str, text: str, pos: int, script: Script, names: set[str]) -> int | None:
    if kind in _SCOPED:
        return _parse_fault(kind, text, pos, script, names)
    if kind == "tool":
        return _parse_tool(text, pos, script)
    if kind == "reply":
        close = text.find("]]", pos)
        if close < 0 or (pos < len(text) and not text[pos].isspace() and text[pos] != "]"):
            return None
        script.reply = text[pos:close].strip()
        return close + 2
    if kind in ("echo", "think", "chain"):
        end = _close(text, pos)
        if end is not None:
            setattr(script, kind, True)
        return end
    nm = _NUMBER.match(text, pos)
    end = _close(text, nm.end()) if nm else None
    if nm is None or end is None:
        return None
    value = float(nm.group(1))
    if kind == "slow":
        script.slow_ms = max(0.0, value)
    elif kind == "chunks":
        script.chunks = max(1, int(value))
    return end


def _parse_fault(kind: str, text: str, pos: int, script: Script, names: set[str]) -> int | None:
    """``fail``, ``sleep`` and ``cut``: applied unless scoped (``on NAME``) to
    another provider or model."""
    pattern = {"fail": _FAIL, "overflow": _OPTIONAL_NUMBER}.get(kind, _NUMBER)
    m = pattern.match(text, pos)
    if m is None:
        return None
    scope = _SCOPE.match(text, m.end())
    end = _close(text, scope.end() if scope else m.end())
    if end is None or (scope is not None and scope.group(1) not in names):
        return end
    if kind == "fail":
        script.fail = int(m.group(1))
        script.fail_after = int(m.group(2)) if m.group(2) else None
    elif kind == "overflow":
        script.overflow = int(m.group(1) or 0)
    elif kind == "sleep":
        script.sleep = max(0.0, float(m.group(1)))
    else:
        script.cut = max(0, int(float(m.group(1))))
    return end


def _parse_tool(text: str, pos: int, script: Script) -> int | None:
    nm = _TOOL_NAME.match(text, pos)
    if nm is None:
        return None
    pos = nm.end()
    args: dict[str, Any] = {}
    if text.startswith("{", pos):
        # raw_decode, because the JSON arguments may themselves contain "]]"
        try:
            parsed, pos = _DECODER.raw_decode(text, pos)
        except ValueError:
            return None
        if not isinstance(parsed, dict):
            return None
        args = parsed
    end = _close(text, pos)
    if end is not None:
        script.tools.append((nm.group(1), args))
    return end


@dataclass(slots=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]
    id: str = ""

    @property
    def arguments_json(self) -> str:
        return orjson.dumps(self.arguments).decode()


@dataclass(slots=True)
class Turn:
    """The part of a request the planner looks at, extracted per provider."""

    provider: str
    model: str
    user_text: str = ""
    tool_results: list[str] = field(default_factory=list)
    tool_names: set[str] = field(default_factory=set)
    json_schema: dict[str, Any] | None = None
    json_object: bool = False
    #: Model turns with tool calls since the prompt (for ``[[chain]]``).
    steps: int = 0


@dataclass(slots=True)
class Reply:
    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    thinking: str | None = None
    # "stop", "length", "tool_calls" or "stop_sequence"
    finish: str = "stop"
    stop_sequence: str | None = None


def plan_reply(turn: Turn, script: Script, id_prefix: str = "call_") -> Reply:
    """Decides what the model says. Order: exact reply, tool calls, a tool
    result just received, structured output, echo, the default greeting."""
    if script.reply is not None:
        return Reply(text=script.reply)
    if script.chain and script.tools:
        if turn.steps < len(script.tools):
            name, args = script.tools[turn.steps]
            if name in turn.tool_names:
                call = ToolCall(name, args, id_prefix + uuid.uuid4().hex[:24])
                return Reply(tool_calls=[call], finish="tool_calls")
    elif script.tools:
        missing = [name for name, _ in script.tools if name not in turn.tool_names]
        if not missing:
            calls = [
                ToolCall(name, args, id_prefix + uuid.uuid4().hex[:24])
                for name, args in script.tools
            ]
            return Reply(tool_calls=calls, finish="tool_calls")
        if turn.json_schema is None and not turn.tool_results:
            names = ", ".join(missing)
            return Reply(text=f"The tool {names} is not available in this request.")
    if turn.tool_results:
        result = "\n".join(r.strip() for r in turn.tool_results).strip()
        return Reply(text=f"Tool result: {result[:200]}")
    if turn.json_schema is not None:
        return Reply(text=orjson.dumps(json_instance(turn.json_schema)).decode())
    if turn.json_object:
        return Reply(text=orjson.dumps({"reply": script.text or "emulated"}).decode())
    if script.echo:
        return Reply(text=script.text)
    return Reply(text=f"Hello from the {turn.provider} emulator, model {turn.model}.")


def thinking_text(user_text: str) -> str:
    """The emulated model's reasoning: short, deterministic, about the prompt."""
    topic = " ".join(user_text.split())[:80] or "the request"
    return f"The user wrote: {topic}. I will answer as the emulator script says."


def apply_limits(reply: Reply, max_tokens: int | None, stop: list[str] | None = None) -> Reply:
    """Cuts the text at the first stop sequence, then at ``max_tokens``."""
    if stop and reply.text:
        hits = [(reply.text.find(s), s) for s in stop if s and s in reply.text]
        if hits:
            at, seq = min(hits)
            reply.text = reply.text[:at]
            reply.finish = "stop_sequence"
            reply.stop_sequence = seq
    if max_tokens is not None and not reply.tool_calls:
        budget = max_tokens - (count_tokens(reply.thinking) if reply.thinking else 0)
        if count_tokens(reply.text) > max(budget, 0):
            reply.text = reply.text[: max(budget, 0) * 4]
            reply.finish = "length"
            reply.stop_sequence = None
    return reply


def split_chunks(text: str, count: int | None) -> list[str]:
    """Splits text into ``count`` pieces (default: about one per 12 characters,
    at least 2 when possible, at most 8)."""
    if not text:
        return []
    n = count if count is not None else min(8, max(2, len(text) // 12))
    n = max(1, min(n, len(text)))
    size, extra = divmod(len(text), n)
    out, pos = [], 0
    for i in range(n):
        step = size + (1 if i < extra else 0)
        out.append(text[pos : pos + step])
        pos += step
    return out


def split_fragments(text: str) -> list[str]:
    """Cuts a JSON string into 3 to 7 byte pieces, as providers stream tool
    arguments: mid-token, so a client must concatenate before parsing."""
    out, pos, sizes = [], 0, (3, 5, 7, 4, 6)
    i = 0
    while pos < len(text):
        out.append(text[pos : pos + sizes[i % len(sizes)]])
        pos += sizes[i % len(sizes)]
        i += 1
    return out


def json_instance(schema: Any, defs: dict[str, Any] | None = None, name: str = "") -> Any:
    """A small value that satisfies a JSON Schema (the subset used for
    structured outputs): enough to make a client's parser happy."""
    if not isinstance(schema, dict):
        return "emulated"
    defs = (
        defs if defs is not None else {**schema.get("definitions", {}), **schema.get("$defs", {})}
    )
    if "$ref" in schema:
        ref = str(schema["$ref"]).rsplit("/", 1)[-1]
        return json_instance(defs.get(ref, {}), defs, name)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            return json_instance(schema[key][0], defs, name)
    if schema.get("allOf"):
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            if isinstance(part, dict):
                merged.update(part)
        return json_instance(merged, defs, name)
    typ = schema.get("type")
    if isinstance(typ, list):
        typ = next((t for t in typ if t != "null"), "null")
    if typ is None:
        typ = "object" if "properties" in schema else "string"
    typ = str(typ).lower()
    if typ == "object":
        props = schema.get("properties") or {}
        required = schema.get("required") or list(props)
        return {k: json_instance(props.get(k, {}), defs, k) for k in required if k in props}
    if typ == "array":
        return [
            json_instance(schema.get("items", {}), defs, name)
            for _ in range(schema.get("minItems", 0))
        ]
    if typ in ("integer", "number"):
        value = schema.get("minimum", schema.get("exclusiveMinimum", -1) + 1)
        return int(value) if typ == "integer" else value
    if typ == "boolean":
        return True
    if typ == "null":
        return None
    text = f"Emulated {name}".strip() if name else "emulated"
    return text.ljust(int(schema.get("minLength", 0)), ".")
