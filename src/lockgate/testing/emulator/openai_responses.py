"""OpenAI's Responses API: ``POST /v1/responses`` and ``GET /v1/responses/{id}``.

Answers come from the same script directives as Chat Completions
(:mod:`.script`); what differs is the wire: typed input and output items,
reasoning items (with ``encrypted_content`` when the request includes it,
signed so that a gateway that alters or invents one is caught), usage in
``input_tokens``/``output_tokens``, and a stream of named events each
carrying its ``type`` and a ``sequence_number``.

Responses are stored unless ``store`` is false (the API's default is to
store), so ``previous_response_id`` continues a conversation as the real API
does and names a response the emulator never issued with the real 400.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from typing import Any

import orjson
from aiohttp import web

from lockgate.llm.providers.models import model_facts

from .context_windows import context_window, overflow_tokens
from .openai import OpenAIProfile
from .openai_responses_validate import Checked, validate_input, validate_request
from .openai_validate import type_name
from .responses import ApiError, json_response
from .script import (
    Reply,
    Script,
    ToolCall,
    Turn,
    apply_limits,
    parse_script,
    plan_reply,
    split_chunks,
    split_fragments,
    thinking_text,
)
from .state import STATE, EmulatorState
from .stream import FrameWriter, StreamCut, cut_before_answer
from .tokens import count_tokens, json_tokens

__all__ = ["RESPONSES", "ResponseStore", "create_handler", "retrieve_handler"]

_EFFORT_TOKENS = {"none": 0, "minimal": 16, "low": 64, "medium": 128, "high": 256, "xhigh": 512}
_ENCRYPTED_PREFIX = "gAAAAA"


class ResponseStore:
    """Stored responses (``store`` not false): the whole conversation up to
    each, by response id, and every stored item by its id. Bounded, so a
    long load test does not grow the emulator without end."""

    def __init__(self, limit: int = 2000) -> None:
        self.limit = limit
        self.responses: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.conversations: dict[str, list[dict[str, Any]]] = {}

    def add(self, response: dict[str, Any], conversation: list[dict[str, Any]]) -> None:
        self.responses[response["id"]] = response
        self.conversations[response["id"]] = conversation
        while len(self.responses) > self.limit:
            old, _ = self.responses.popitem(last=False)
            self.conversations.pop(old, None)

    def item_ids(self) -> set[str]:
        return {
            str(item["id"])
            for items in self.conversations.values()
            for item in items
            if isinstance(item, dict) and item.get("id")
        }


RESPONSES = web.AppKey("lockgate_emulator_responses", ResponseStore)


def _store(request: web.Request) -> ResponseStore:
    return request.app[RESPONSES]


# -- reasoning's encrypted content ---------------------------------------------


def _seal(state: EmulatorState, text: str) -> str:
    payload = orjson.dumps({"t": text})
    mac = hmac.new(state.thinking_secret, payload, hashlib.sha256).digest()[:16]
    return _ENCRYPTED_PREFIX + base64.urlsafe_b64encode(mac + payload).decode()


def _verifier(state: EmulatorState) -> Any:
    def verify(sealed: str) -> bool:
        if not sealed.startswith(_ENCRYPTED_PREFIX):
            return False
        try:
            raw = base64.urlsafe_b64decode(sealed[len(_ENCRYPTED_PREFIX) :])
        except ValueError:
            return False
        mac, payload = raw[:16], raw[16:]
        expected = hmac.new(state.thinking_secret, payload, hashlib.sha256).digest()[:16]
        return hmac.compare_digest(mac, expected)

    return verify


# -- the request -----------------------------------------------------------------


def _items(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": value}]
    return list(value)


def _text_of(content: Any, kinds: tuple[str, ...] = ("input_text", "output_text")) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(p.get("text", ""))
            for p in content
            if isinstance(p, dict) and p.get("type") in kinds
        )
    return ""


def _is_model_item(item: dict[str, Any]) -> bool:
    kind = item.get("type") or "message"
    if kind == "message":
        return item.get("role") == "assistant"
    return kind in ("function_call", "custom_tool_call", "local_shell_call", "reasoning")


def _turn(
    profile: OpenAIProfile, body: dict[str, Any], items: list[dict[str, Any]], checked: Checked
) -> tuple[Turn, Script]:
    """The last user turn: what came after the model's last item."""
    texts: list[str] = []
    results: list[str] = []
    for item in reversed(items):
        if _is_model_item(item):
            break
        kind = item.get("type") or "message"
        if kind == "message" and item.get("role") == "user":
            texts.insert(0, _text_of(item.get("content")))
        elif kind.endswith("_output"):
            output = item.get("output")
            results.insert(0, output if isinstance(output, str) else _text_of(output))
    text = "\n".join(texts)
    fmt = (body.get("text") or {}).get("format") or {}
    names = checked.function_names | checked.custom_names
    if checked.local_shell:
        names.add("local_shell")
    turn = Turn(
        provider=profile.name,
        model=body["model"],
        user_text=text,
        tool_results=results,
        tool_names=names,
        json_schema=(fmt.get("schema") or {}) if fmt.get("type") == "json_schema" else None,
        json_object=fmt.get("type") == "json_object",
    )
    script = parse_script(text, profile.name, body["model"])
    if results and not texts:
        # Tool outputs only: an agent's step. A [[chain]] prompt that started
        # the exchange decides the next call.
        prompt, steps = _exchange_prompt(items)
        chained = parse_script(prompt, profile.name, body["model"])
        if chained.chain:
            script, turn.steps = chained, steps
    return turn, script


_CALL_ITEMS = ("function_call", "custom_tool_call", "local_shell_call")


def _exchange_prompt(items: list[dict[str, Any]]) -> tuple[str, int]:
    """The text of the user message that started the current exchange, and
    the number of model steps with tool calls since (parallel calls are one)."""
    steps = 0
    in_calls = False
    for item in reversed(items):
        kind = item.get("type") or "message"
        if kind in _CALL_ITEMS:
            steps += not in_calls
            in_calls = True
            continue
        in_calls = False
        if kind == "message" and item.get("role") == "user":
            text = _text_of(item.get("content"))
            if text:
                return text, steps
    return "", steps


def _model_error(profile: OpenAIProfile, model: str) -> ApiError | None:
    if model.startswith(("text-embedding-", "davinci", "babbage")) or not model.startswith(
        ("gpt-", "o1", "o3", "o4", "chatgpt-", "ft:", "codex-", "computer-use-")
    ):
        return profile.bad_request(
            f"The requested model '{model}' does not exist.", "model", "model_not_found"
        )
    return None


def _check_reasoning(profile: OpenAIProfile, body: dict[str, Any], reasoning_model: bool) -> None:
    reasoning = body.get("reasoning")
    if reasoning is None:
        return
    if not isinstance(reasoning, dict):
        raise profile.bad_request(
            "Invalid type for 'reasoning': expected an object, but got "
            f"{type_name(reasoning)} instead.",
            "reasoning",
            "invalid_type",
        )
    for key in reasoning:
        if key not in ("effort", "summary", "generate_summary"):
            raise profile.bad_request(
                f"Unknown parameter: 'reasoning.{key}'.", f"reasoning.{key}", "unknown_parameter"
            )
    effort = reasoning.get("effort")
    if effort is None:
        return
    if not reasoning_model:
        raise profile.bad_request(
            "Unsupported parameter: 'reasoning.effort' is not supported with this model.",
            "reasoning.effort",
            "unsupported_parameter",
        )
    allowed = profile.efforts(body["model"])
    if effort not in allowed:
        quoted = ", ".join(f"'{e}'" for e in allowed[:-1]) + f", and '{allowed[-1]}'"
        raise profile.bad_request(
            f"Invalid value: '{effort}'. Supported values are: {quoted}.",
            "reasoning.effort",
            "invalid_value",
        )


def _check_output_limit(profile: OpenAIProfile, body: dict[str, Any]) -> None:
    facts = model_facts("openai", body["model"])
    limit = facts.max_output if facts is not None else None
    value = body.get("max_output_tokens")
    if limit is not None and isinstance(value, int) and value > limit:
        raise profile.bad_request(
            f"Invalid 'max_output_tokens': integer above maximum value. Expected a value <= "
            f"{limit}, but got {value} instead.",
            "max_output_tokens",
            "integer_above_max_value",
        )


async def create_handler(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    profile = OpenAIProfile(state)
    store = _store(request)
    try:
        profile.authenticate(request)
        try:
            body = orjson.loads(await request.read())
        except ValueError as exc:
            raise profile.parse_error() from exc
        model = body.get("model") if isinstance(body, dict) else None
        reasoning_model = isinstance(model, str) and profile.is_reasoning(model)
        checked = validate_request(profile.bad_request, body, reasoning_model)
        err = _model_error(profile, body["model"])
        if err is not None:
            raise err
        _check_reasoning(profile, body, reasoning_model)
        _check_output_limit(profile, body)
        previous: list[dict[str, Any]] = []
        prev_id = body.get("previous_response_id")
        if prev_id:
            if prev_id not in store.conversations:
                raise profile.bad_request(
                    f"Previous response with id '{prev_id}' not found.",
                    "previous_response_id",
                    "previous_response_not_found",
                )
            previous = store.conversations[prev_id]
        new_items = _items(body.get("input"))
        items = previous + new_items
        keep = body.get("store") is not False
        validate_input(
            profile.bad_request,
            items,
            len(previous),
            keep,
            _verifier(state),
            store.item_ids(),
        )
        checked.items = items
        turn, script = _turn(profile, body, items, checked)
        prompt = json_tokens([body.get("instructions"), body.get("tools"), items])
        window = context_window("openai", body["model"])
        overflow = overflow_tokens(script.overflow, prompt, window)
        if overflow is not None:
            raise profile.bad_request(
                "Your input exceeds the context window of this model. Please adjust your input "
                "and try again.",
                "input",
                "context_length_exceeded",
            )
        if script.sleep:
            await asyncio.sleep(script.sleep)
        stream = bool(body.get("stream"))
        if script.fail is not None and (script.fail_after is None or not stream):
            raise profile.failure(script.fail, body["model"])
    except ApiError as err:
        answer = err.response()
        for key, value in profile.headers().items():
            answer.headers.setdefault(key, value)
        return answer
    if script.cut is not None and not stream:
        return cut_before_answer(request)
    reply = plan_reply(turn, script)
    hidden = _EFFORT_TOKENS.get(_effort(body), 128) if reasoning_model else 0
    summary = None
    if reasoning_model and script.think and (body.get("reasoning") or {}).get("summary"):
        summary = thinking_text(script.text)
    limit = body.get("max_output_tokens")
    if limit is not None and hidden >= limit:
        hidden, reply = limit, Reply(finish="length")
    else:
        reply = apply_limits(reply, None if limit is None else limit - hidden)
    output = _output(state, body, reply, checked, reasoning_model, summary)
    completion = hidden + count_tokens(reply.text) + count_tokens(summary or "")
    completion += sum(count_tokens(c.name + c.arguments_json) for c in reply.tool_calls)
    cached = state.cache("openai", minimum=1024, granularity=128).automatic(
        body["model"], [body.get("instructions"), body.get("tools"), *items]
    )
    usage = {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": hidden + count_tokens(summary or "")},
        "total_tokens": prompt + completion,
    }
    response = _response(body, output, usage, reply)
    if keep:
        store.add(response, [*items, *output])
    if stream:
        return await _stream(request, profile, body, response, script)
    return json_response(response, headers=profile.headers())


def _effort(body: dict[str, Any]) -> str:
    return str((body.get("reasoning") or {}).get("effort") or "medium")


async def retrieve_handler(request: web.Request) -> web.StreamResponse:
    profile = OpenAIProfile(request.app[STATE])
    try:
        profile.authenticate(request)
    except ApiError as err:
        return err.response()
    response_id = request.match_info["response_id"]
    found = _store(request).responses.get(response_id)
    if found is None:
        return profile.error(
            404, f"Response with id '{response_id}' not found.", param="response_id"
        ).response()
    return json_response(found, headers=profile.headers())


# -- the answer ------------------------------------------------------------------


def _new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(24)


def _output(
    state: EmulatorState,
    body: dict[str, Any],
    reply: Reply,
    checked: Checked,
    reasoning_model: bool,
    summary: str | None,
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if reasoning_model:
        item: dict[str, Any] = {
            "id": _new_id("rs_"),
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": summary}] if summary else [],
        }
        if "reasoning.encrypted_content" in (body.get("include") or []):
            item["encrypted_content"] = _seal(state, summary or "emulated reasoning")
        out.append(item)
    if reply.text or not reply.tool_calls:
        out.append(
            {
                "id": _new_id("msg_"),
                "type": "message",
                "status": "incomplete" if reply.finish == "length" else "completed",
                "content": [
                    {"type": "output_text", "annotations": [], "logprobs": [], "text": reply.text}
                ],
                "role": "assistant",
            }
        )
    for call in reply.tool_calls:
        out.append(_call_item(call, checked))
    return out


def _call_item(call: ToolCall, checked: Checked) -> dict[str, Any]:
    call_id = "call_" + secrets.token_urlsafe(18).replace("-", "x").replace("_", "y")
    if call.name in checked.custom_names:
        text = call.arguments.get("input")
        # A custom tool call has no status (a client replaying one with it is refused).
        return {
            "id": _new_id("ctc_"),
            "type": "custom_tool_call",
            "call_id": call_id,
            "input": text if isinstance(text, str) else call.arguments_json,
            "name": call.name,
        }
    if call.name == "local_shell":
        return {
            "id": _new_id("lsh_"),
            "type": "local_shell_call",
            "status": "completed",
            "call_id": call_id,
            "action": {"type": "exec", **call.arguments},
        }
    return {
        "id": _new_id("fc_"),
        "type": "function_call",
        "status": "completed",
        "arguments": call.arguments_json,
        "call_id": call_id,
        "name": call.name,
    }


def _response(
    body: dict[str, Any], output: list[dict[str, Any]], usage: dict[str, Any], reply: Reply
) -> dict[str, Any]:
    reasoning = body.get("reasoning") or {}
    incomplete = reply.finish == "length"
    text = body.get("text") or {}
    now = int(time.time())
    return {
        "id": _new_id("resp_"),
        "object": "response",
        "created_at": now,
        "status": "incomplete" if incomplete else "completed",
        "background": False,
        "completed_at": None if incomplete else now,
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": body.get("max_tool_calls"),
        "model": body["model"],
        "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "prompt_cache_key": body.get("prompt_cache_key"),
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "safety_identifier": body.get("safety_identifier"),
        "service_tier": "default",
        "store": body.get("store") is not False,
        "temperature": body.get("temperature", 1.0),
        "text": {
            "format": text.get("format") or {"type": "text"},
            "verbosity": text.get("verbosity", "medium"),
        },
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "top_logprobs": body.get("top_logprobs", 0),
        "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation", "disabled"),
        "usage": usage,
        "user": body.get("user"),
        "metadata": body.get("metadata") or {},
    }


# -- the stream --------------------------------------------------------------------


#: Delta events that carry random padding (``obfuscation``) unless the
#: request's ``stream_options.include_obfuscation`` is false, as OpenAI's do.
_PADDED = frozenset({"response.output_text.delta", "response.function_call_arguments.delta"})


class _Events:
    """Numbers the events of one stream as the API does (from 0)."""

    def __init__(self, obfuscate: bool = True) -> None:
        self.frames: list[bytes] = []
        self.obfuscate = obfuscate

    def add(self, kind: str, **data: Any) -> None:
        event = {"type": kind, "sequence_number": len(self.frames), **data}
        if self.obfuscate and kind in _PADDED:
            event["obfuscation"] = secrets.token_urlsafe(6)[: 1 + len(self.frames) % 8]
        self.frames.append(f"event: {kind}\n".encode() + b"data: " + orjson.dumps(event) + b"\n\n")


def _item_events(events: _Events, index: int, item: dict[str, Any], chunks: int | None) -> None:
    kind = item["type"]
    ref = {"item_id": item["id"], "output_index": index}
    if kind == "reasoning":
        events.add("response.output_item.added", output_index=index, item={**item, "summary": []})
        for s, part in enumerate(item["summary"]):
            empty = {"type": "summary_text", "text": ""}
            events.add("response.reasoning_summary_part.added", **ref, summary_index=s, part=empty)
            for piece in split_chunks(part["text"], None):
                events.add(
                    "response.reasoning_summary_text.delta", **ref, summary_index=s, delta=piece
                )
            events.add(
                "response.reasoning_summary_text.done", **ref, summary_index=s, text=part["text"]
            )
            events.add("response.reasoning_summary_part.done", **ref, summary_index=s, part=part)
    elif kind == "message":
        part = item["content"][0]
        added = {**item, "status": "in_progress", "content": []}
        events.add("response.output_item.added", output_index=index, item=added)
        blank: dict[str, Any] = {"type": "output_text", "annotations": [], "logprobs": []}
        events.add(
            "response.content_part.added", **ref, content_index=0, part={**blank, "text": ""}
        )
        for piece in split_chunks(part["text"], chunks):
            events.add(
                "response.output_text.delta", **ref, content_index=0, delta=piece, logprobs=[]
            )
        events.add(
            "response.output_text.done", **ref, content_index=0, text=part["text"], logprobs=[]
        )
        events.add("response.content_part.done", **ref, content_index=0, part=part)
    elif kind == "function_call":
        added = {**item, "status": "in_progress", "arguments": ""}
        events.add("response.output_item.added", output_index=index, item=added)
        for frag in split_fragments(item["arguments"]):
            events.add("response.function_call_arguments.delta", **ref, delta=frag)
        events.add("response.function_call_arguments.done", **ref, arguments=item["arguments"])
    elif kind == "custom_tool_call":
        added = {**item, "input": ""}
        events.add("response.output_item.added", output_index=index, item=added)
        for frag in split_fragments(item["input"]):
            events.add("response.custom_tool_call_input.delta", **ref, delta=frag)
        events.add("response.custom_tool_call_input.done", **ref, input=item["input"])
    else:
        events.add(
            "response.output_item.added", output_index=index, item={**item, "status": "in_progress"}
        )
    events.add("response.output_item.done", output_index=index, item=item)


async def _stream(
    request: web.Request,
    profile: OpenAIProfile,
    body: dict[str, Any],
    response: dict[str, Any],
    script: Script,
) -> web.StreamResponse:
    options = body.get("stream_options") or {}
    events = _Events(obfuscate=options.get("include_obfuscation", True) is not False)
    opening = {
        **response,
        "status": "in_progress",
        "completed_at": None,
        "incomplete_details": None,
        "output": [],
        "usage": None,
    }
    events.add("response.created", response=opening)
    events.add("response.in_progress", response=opening)
    for index, item in enumerate(response["output"]):
        _item_events(events, index, item, script.chunks)
    final = "response.incomplete" if response["status"] == "incomplete" else "response.completed"
    events.add(final, response=response)
    writer = await FrameWriter.open(
        request, "text/event-stream; charset=utf-8", profile.headers(), script.slow_ms, script.cut
    )
    try:
        for i, frame in enumerate(events.frames):
            if script.fail is not None and script.fail_after is not None and i == script.fail_after:
                await writer.send(_failed_frame(profile, body, opening, script.fail, i))
                return await writer.finish()
            await writer.send(frame)
        return await writer.finish()
    except StreamCut:
        return writer.response


def _failed_frame(
    profile: OpenAIProfile, body: dict[str, Any], opening: dict[str, Any], status: int, seq: int
) -> bytes:
    """``[[fail N after K]]``: the API ends a stream that failed midway with
    ``response.failed``, the error inside the response."""
    error = profile.failure(status, body["model"]).body["error"]
    code = error.get("code") or ("server_error" if status >= 500 else "invalid_request_error")
    failed = {**opening, "status": "failed", "error": {"code": code, "message": error["message"]}}
    event = {"type": "response.failed", "sequence_number": seq, "response": failed}
    return b"event: response.failed\ndata: " + orjson.dumps(event) + b"\n\n"
