"""Anthropic's Messages API: /v1/messages, /v1/messages/count_tokens, /v1/models.

Answers carry real usage (with prompt caching at ``cache_control``
breakpoints), thinking blocks signed by the emulator (a gateway that alters a
signature is refused on the next turn, as Anthropic refuses it), and the exact
event sequence of a stream, which the official SDK's accumulator validates.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from typing import Any

import orjson
from aiohttp import web

from .anthropic_validate import anthropic_error, sign_thinking, validate_messages
from .context_windows import context_window, overflow_tokens
from .rate_limits import anthropic_headers
from .responses import ApiError, json_response
from .script import (
    Reply,
    Script,
    ToolCall,
    Turn,
    apply_limits,
    json_instance,
    parse_script,
    plan_reply,
    split_chunks,
    split_fragments,
    thinking_text,
)
from .state import STATE, EmulatorState
from .stream import FrameWriter, StreamCut, cut_before_answer
from .tokens import count_tokens, json_tokens

__all__ = ["count_tokens_handler", "messages_handler", "models_handler"]

NAME = "anthropic"
# Tokens of the prompt template around the content: never cached, so a
# request cached up to its last block still reports a few input tokens.
FRAMING_TOKENS = 3
# 2026-10-21 is what the current official SDK sends.
VERSIONS = ("2023-06-01", "2023-01-01", "2026-10-21")
STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "stop_sequence": "stop_sequence",
}
FAILURES = {
    400: ("invalid_request_error", "Emulated invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    402: ("billing_error", "Your credit balance is too low to access the Anthropic API."),
    403: (
        "permission_error",
        "Your API key does not have permission to use the specified resource.",
    ),
    404: ("not_found_error", "The requested resource could not be found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: (
        "rate_limit_error",
        "This request would exceed the rate limit for your organization (emulator) of 50 requests per "
        "minute. For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the "
        "response headers for current usage. Please reduce the prompt length or the maximum tokens "
        "requested, or try again later.",
    ),
    500: ("api_error", "Internal server error"),
    503: ("api_error", "Service unavailable"),
    504: ("timeout_error", "Request timeout"),
    529: ("overloaded_error", "Overloaded"),
}
MODELS = (
    ("claude-opus-4-8", "Claude Opus 4.8", "2026-08-05T00:00:00Z"),
    ("claude-sonnet-4-6", "Claude Sonnet 4.6", "2026-02-17T00:00:00Z"),
    ("claude-opus-4-5-20251101", "Claude Opus 4.5", "2025-11-24T00:00:00Z"),
    ("claude-sonnet-4-5-20250929", "Claude Sonnet 4.5", "2025-09-29T00:00:00Z"),
    ("claude-haiku-4-5-20251001", "Claude Haiku 4.5", "2025-10-15T00:00:00Z"),
)


def failure(status: int) -> ApiError:
    type_, message = FAILURES.get(status, ("api_error", f"Emulated error with status {status}."))
    return anthropic_error(status, type_, message, anthropic_headers(status))


def authenticate(request: web.Request, state: EmulatorState) -> None:
    key = request.headers.get("x-api-key", "")
    auth = request.headers.get("Authorization", "")
    if not key and auth[:7].lower() == "bearer ":
        key = auth[7:].strip()
    if not key:
        raise anthropic_error(401, "authentication_error", "x-api-key header is required")
    if not state.key_accepted(NAME, key):
        raise anthropic_error(401, "authentication_error", "invalid x-api-key")


def check_version(request: web.Request) -> None:
    version = request.headers.get("anthropic-version")
    if version is None:
        raise anthropic_error(400, "invalid_request_error", "anthropic-version: header is required")
    if version not in VERSIONS:
        raise anthropic_error(
            400, "invalid_request_error", f'anthropic-version: "{version}" is not a valid version'
        )


async def _read(
    request: web.Request, state: EmulatorState, counting: bool
) -> tuple[dict[str, Any], set[str]]:
    authenticate(request, state)
    check_version(request)
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError as exc:
        raise anthropic_error(
            400,
            "invalid_request_error",
            "There was an error parsing the body of your request: invalid JSON",
        ) from exc
    betas = {b.strip() for b in request.headers.get("anthropic-beta", "").split(",") if b.strip()}
    names = validate_messages(body, betas, state.thinking_secret, counting)
    if not body["model"].startswith("claude-"):
        raise anthropic_error(404, "not_found_error", f"model: {body['model']}")
    return body, names


def _headers() -> dict[str, str]:
    return {
        "request-id": "req_011C" + secrets.token_hex(10),
        "anthropic-organization-id": str(uuid.uuid4()),
        **anthropic_headers(),
    }


def _block_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"
        )
    return ""


def extract_turn(body: dict[str, Any], names: set[str]) -> tuple[Turn, Script]:
    """Text and tool results of the user messages after the last assistant one."""
    texts: list[str] = []
    results: list[str] = []
    for msg in reversed(body["messages"]):
        if msg["role"] == "assistant":
            break
        if msg["role"] != "user":
            continue
        content = msg["content"]
        if isinstance(content, str):
            texts.insert(0, content)
            continue
        texts.insert(0, _block_text(content))
        results[0:0] = [
            _block_text(b.get("content")) for b in content if b.get("type") == "tool_result"
        ]
    fmt = (body.get("output_config") or {}).get("format") or body.get("output_format")
    schema = fmt.get("schema") if isinstance(fmt, dict) else None
    text = "\n".join(t for t in texts if t)
    turn = Turn(NAME, body["model"], text, results, names, json_schema=schema)
    return turn, parse_script(text, NAME, body["model"])


def _check_context(body: dict[str, Any], script: Script) -> None:
    """Anthropic's overflow error, the one Claude Code compacts on."""
    segments, _ = _segments(body)
    window = context_window(NAME, body["model"])
    tokens = overflow_tokens(script.overflow, json_tokens(segments) + FRAMING_TOKENS, window)
    if tokens is not None:
        raise anthropic_error(
            400, "invalid_request_error", f"prompt is too long: {tokens} tokens > {window} maximum"
        )


def _forced_call(body: dict[str, Any], reply: Reply, script: Script) -> Reply:
    """``tool_choice`` ``tool`` or ``any`` makes the model call a tool whatever
    the prompt says (how clients get structured output through a tool): the
    named tool, else the first, with arguments that fit its schema (an object
    schema that declares nothing gets ``{"reply": <prompt text>}``)."""
    choice = body.get("tool_choice") or {}
    if reply.tool_calls or choice.get("type") not in ("tool", "any"):
        return reply
    tools = [t for t in body.get("tools") or [] if "input_schema" in t]
    if choice["type"] == "tool":
        tools = [t for t in tools if t.get("name") == choice.get("name")]
    if not tools:
        return reply
    tool = tools[0]
    schema = tool["input_schema"]
    if isinstance(schema, dict) and schema.get("properties"):
        arguments = json_instance(schema)
    else:
        arguments = {"reply": script.text or "emulated"}
    call = ToolCall(tool["name"], arguments, "toolu_01" + uuid.uuid4().hex[:24])
    return Reply(tool_calls=[call], finish="tool_calls")


def _segments(body: dict[str, Any]) -> tuple[list[Any], list[int]]:
    """The prompt as an ordered list of cacheable pieces (tools, system blocks,
    message blocks) and the indices that carry ``cache_control``."""
    segments: list[Any] = []
    breakpoints: list[int] = []

    def add(piece: Any) -> None:
        if isinstance(piece, dict) and piece.get("cache_control"):
            breakpoints.append(len(segments))
        segments.append(piece)

    for tool in body.get("tools") or []:
        add(tool)
    system = body.get("system")
    for block in [system] if isinstance(system, str) else system or []:
        add(block)
    for msg in body["messages"]:
        content = msg["content"]
        for block in [content] if isinstance(content, str) else content:
            add(block)
    return segments, breakpoints


def _usage(state: EmulatorState, body: dict[str, Any], output: int) -> dict[str, Any]:
    segments, breakpoints = _segments(body)
    total = json_tokens(segments) + FRAMING_TOKENS
    hit = state.cache(NAME).explicit(body["model"], segments, breakpoints)
    return {
        "input_tokens": total - hit.read - hit.created,
        "cache_creation_input_tokens": hit.created,
        "cache_read_input_tokens": hit.read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": hit.created,
            "ephemeral_1h_input_tokens": 0,
        },
        "output_tokens": output,
        "service_tier": "standard",
    }


def _content(reply: Reply, signature: str | None, display: str | None) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if reply.thinking is not None and signature is not None:
        shown = "" if display == "omitted" else reply.thinking
        blocks.append({"type": "thinking", "thinking": shown, "signature": signature})
    if reply.text or not reply.tool_calls:
        blocks.append({"type": "text", "text": reply.text})
    for call in reply.tool_calls:
        blocks.append(
            {"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}
        )
    return blocks


async def messages_handler(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    try:
        body, names = await _read(request, state, counting=False)
        turn, script = extract_turn(body, names)
        _check_context(body, script)
        if script.sleep:
            await asyncio.sleep(script.sleep)
        stream = bool(body.get("stream"))
        if script.fail is not None and (script.fail_after is None or not stream):
            raise failure(script.fail)
    except ApiError as err:
        return err.response()
    if script.cut is not None and not stream:
        return cut_before_answer(request)
    reply = _forced_call(body, plan_reply(turn, script, id_prefix="toolu_01"), script)
    thinking = body.get("thinking") or {}
    signature = None
    if script.think and thinking.get("type") in ("enabled", "adaptive"):
        reply.thinking = thinking_text(script.text)
        signature = sign_thinking(
            state.thinking_secret, "" if thinking.get("display") == "omitted" else reply.thinking
        )
    reply = apply_limits(reply, body["max_tokens"], body.get("stop_sequences"))
    output = count_tokens(reply.text) + count_tokens(reply.thinking or "")
    output += sum(count_tokens(c.name + c.arguments_json) for c in reply.tool_calls)
    usage = _usage(state, body, output)
    message = {
        "id": "msg_01" + secrets.token_urlsafe(18).replace("-", "x").replace("_", "y"),
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": _content(reply, signature, thinking.get("display")),
        "stop_reason": STOP_REASONS[reply.finish],
        "stop_sequence": reply.stop_sequence,
        "usage": usage,
    }
    if not stream:
        return json_response(message, headers=_headers())
    return await _stream(request, message, script)


def _event(name: str, data: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def _block_events(index: int, block: dict[str, Any], chunks: int | None) -> list[bytes]:
    kind = block["type"]
    start: dict[str, Any]
    if kind == "thinking":
        start = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [
            {"type": "thinking_delta", "thinking": p} for p in split_chunks(block["thinking"], None)
        ]
        deltas.append({"type": "signature_delta", "signature": block["signature"]})
    elif kind == "text":
        start = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": p} for p in split_chunks(block["text"], chunks)]
    else:
        start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
        raw = orjson.dumps(block["input"]).decode()
        deltas = [
            {"type": "input_json_delta", "partial_json": p} for p in ["", *split_fragments(raw)]
        ]
    events = [
        _event(
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": start},
        )
    ]
    if index == 0:
        events.append(_event("ping", {"type": "ping"}))
    events += [
        _event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d})
        for d in deltas
    ]
    events.append(_event("content_block_stop", {"type": "content_block_stop", "index": index}))
    return events


async def _stream(
    request: web.Request, message: dict[str, Any], script: Script
) -> web.StreamResponse:
    usage = message["usage"]
    start_usage = {**usage, "output_tokens": 1}
    events = [
        _event(
            "message_start",
            {
                "type": "message_start",
                "message": {
                    **message,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": start_usage,
                },
            },
        )
    ]
    for index, block in enumerate(message["content"]):
        events += _block_events(index, block, script.chunks)
    delta_usage = {
        k: usage[k]
        for k in (
            "input_tokens",
            "cache_creation_input_tokens",
            "cache_read_input_tokens",
            "output_tokens",
        )
    }
    events.append(
        _event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {
                    "stop_reason": message["stop_reason"],
                    "stop_sequence": message["stop_sequence"],
                },
                "usage": delta_usage,
            },
        )
    )
    events.append(_event("message_stop", {"type": "message_stop"}))
    writer = await FrameWriter.open(
        request, "text/event-stream; charset=utf-8", _headers(), script.slow_ms, script.cut
    )
    try:
        for i, frame in enumerate(events):
            if script.fail is not None and i == script.fail_after:
                body = failure(script.fail).body
                await writer.send(_event("error", body))
                return await writer.finish()
            await writer.send(frame)
        return await writer.finish()
    except StreamCut:
        return writer.response


async def count_tokens_handler(request: web.Request) -> web.Response:
    state = request.app[STATE]
    try:
        body, _ = await _read(request, state, counting=True)
    except ApiError as err:
        return err.response()
    segments, _ = _segments(body)
    total = json_tokens(segments) + FRAMING_TOKENS
    return json_response({"input_tokens": total}, headers=_headers())


async def models_handler(request: web.Request) -> web.Response:
    state = request.app[STATE]
    try:
        authenticate(request, state)
        check_version(request)
    except ApiError as err:
        return err.response()
    data = [{"type": "model", "id": m, "display_name": d, "created_at": c} for m, d, c in MODELS]
    body = {"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]}
    return json_response(body, headers=_headers())
