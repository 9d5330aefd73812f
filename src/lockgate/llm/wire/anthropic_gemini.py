"""An Anthropic Messages client in front of Gemini (Vertex AI or the public API).

Request: Anthropic body -> GenerateContent body (``model`` and ``stream`` are
not in it: they select the URL). Response: GenerateContentResponse ->
Anthropic message. Stream: ``streamGenerateContent?alt=sse`` chunks ->
Anthropic events, one chunk at a time.

Mapping decisions (see also :mod:`lockgate.llm.wire.gemini`):

- ``system`` blocks, and ``{"role": "system"}`` entries that come before any
  other message, become ``systemInstruction`` (one part per block). A system entry later in the conversation stays where it is, as a user text part
  wrapped in ``<system>`` tags: Gemini has no mid-conversation system role,
  and moving it into ``systemInstruction`` would change the prompt prefix on
  every turn (defeating Gemini's implicit prompt cache) and lose its position.
- ``thinking`` and ``redacted_thinking`` blocks are not sent back: Gemini does
  not need past thought text, and the one signature it does need travels in
  the tool_use id (see :func:`lockgate.llm.wire.gemini.tool_call_id`).
- ``tool_result`` images and documents follow the function responses as
  ``inlineData`` parts of the same turn (function responses cannot carry
  media on every model version).
- ``output_config.format`` (structured output) -> ``responseMimeType`` +
  ``responseSchema`` when the request declares no tools or the model is
  Gemini 3 or later (Gemini 2.x rejects JSON mode combined with function
  calling); ``output_config.effort``,
  ``context_management``, ``cache_control``, ``metadata``,
  ``disable_parallel_tool_use``, server tools (``{"type": "web_search_..."}``)
  and unknown fields are dropped.
- thinking (and any thought signature) is sent only to models that support
  it, and the budget is clamped to the model's range: Claude Code sends
  thinking whatever the model. ``max_tokens`` becomes ``maxOutputTokens`` as
  asked; the provider layer lowers it to the model's limit.
"""

from __future__ import annotations

from typing import Any, TypeGuard

import orjson

from lockgate.llm.sse import encode_event
from lockgate.llm.usage import Usage
from lockgate.llm.wire.gemini import (
    anthropic_error_type,
    anthropic_stop_reason,
    candidate_parts,
    finalize_contents,
    first_candidate,
    function_declaration,
    json_output_with_tools,
    response_seed,
    supports_thinking,
    thinking_budget,
    tool_call_id,
    tool_call_signature,
    usage_from_gemini,
)
from lockgate.llm.wire.gemini_schema import sanitize_parameters, sanitize_schema

__all__ = [
    "GeminiToAnthropicStream",
    "anthropic_to_gemini_count_tokens_request",
    "anthropic_to_gemini_request",
    "gemini_to_anthropic_response",
]

_TOOL_CHOICE = {"auto": "AUTO", "any": "ANY", "tool": "ANY", "none": "NONE"}
#: Gemini accepts at most five stop sequences.
_MAX_STOP_SEQUENCES = 5
_EXTENSION_MIME = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "pdf": "application/pdf",
}


# -- request ------------------------------------------------------------------


def anthropic_to_gemini_request(
    body: dict[str, Any], *, model: str | None = None
) -> dict[str, Any]:
    """Anthropic Messages body -> GenerateContent body.

    ``model`` is the upstream model when the gateway configures one (it
    decides model-specific limits); by default the body's ``model``.
    """
    target = model or _str(body.get("model"))
    thinks = supports_thinking(target)
    out = _conversation(body, thinks)
    config: dict[str, Any] = {}
    max_tokens = body.get("max_tokens")
    if _is_int(max_tokens) and max_tokens > 0:
        config["maxOutputTokens"] = max_tokens
    for src, dst in (("temperature", "temperature"), ("top_p", "topP"), ("top_k", "topK")):
        value = body.get(src)
        if isinstance(value, int | float) and not isinstance(value, bool):
            config[dst] = value
    stops = body.get("stop_sequences")
    if isinstance(stops, list):
        kept = [s for s in stops if isinstance(s, str) and s][:_MAX_STOP_SEQUENCES]
        if kept:
            config["stopSequences"] = kept
    thinking = body.get("thinking")
    if thinks and isinstance(thinking, dict):
        if thinking.get("type") == "enabled" and _is_int(thinking.get("budget_tokens")):
            budget = thinking_budget(target, thinking["budget_tokens"])
            config["thinkingConfig"] = {"thinkingBudget": budget, "includeThoughts": True}
        elif thinking.get("type") == "adaptive":
            config["thinkingConfig"] = {"thinkingBudget": -1, "includeThoughts": True}
    output_config = body.get("output_config")
    fmt = output_config.get("format") if isinstance(output_config, dict) else None
    if fmt is None:
        fmt = body.get("output_format")  # the structured-outputs beta's place for it
    if (
        isinstance(fmt, dict)
        and fmt.get("type") == "json_schema"
        and ("tools" not in out or json_output_with_tools(target))
    ):
        config["responseMimeType"] = "application/json"
        if isinstance(fmt.get("schema"), dict):
            config["responseSchema"] = sanitize_schema(fmt["schema"])
    if config:
        out["generationConfig"] = config
    return out


def anthropic_to_gemini_count_tokens_request(body: dict[str, Any]) -> dict[str, Any]:
    """The body for Vertex ``:countTokens`` (contents, systemInstruction,
    tools). The public Gemini API takes the same fields wrapped as
    ``{"generateContentRequest": {"model": "models/<m>", ...}}``."""
    out = _conversation(body, False)
    out.pop("toolConfig", None)
    return out


def _conversation(body: dict[str, Any], thinks: bool) -> dict[str, Any]:
    """contents, systemInstruction, tools and toolConfig."""
    system = _texts(body.get("system"))
    messages = body.get("messages")
    messages = messages if isinstance(messages, list) else []
    turns: list[tuple[str, list[dict[str, Any]]]] = []
    names: dict[str, str] = {}
    leading = True
    for message in messages:
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        content = message.get("content")
        if role == "system":
            texts = _texts(content)
            if leading:
                system.extend(texts)
            elif texts:
                turns.append(
                    ("user", [{"text": "<system>\n" + "\n\n".join(texts) + "\n</system>"}])
                )
            continue
        leading = False
        if role == "assistant":
            turns.append(("model", _model_parts(content, names, thinks)))
        else:
            turns.append(("user", _user_parts(content, names)))
    out: dict[str, Any] = {"contents": finalize_contents(turns, thought_signatures=thinks)}
    if system:
        out["systemInstruction"] = {"parts": [{"text": t} for t in system]}
    declarations = _declarations(body.get("tools"))
    if declarations:
        out["tools"] = [{"functionDeclarations": declarations}]
        choice = body.get("tool_choice")
        choice = choice if isinstance(choice, dict) else {}
        kind = choice.get("type")
        if isinstance(kind, str) and kind in _TOOL_CHOICE:
            mode: dict[str, Any] = {"mode": _TOOL_CHOICE[kind]}
            if kind == "tool" and isinstance(choice.get("name"), str):
                mode["allowedFunctionNames"] = [choice["name"]]
            out["toolConfig"] = {"functionCallingConfig": mode}
    return out


def _declarations(tools: Any) -> list[dict[str, Any]]:
    if not isinstance(tools, list):
        return []
    out = []
    for tool in tools:
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            continue
        if tool.get("type") not in (None, "custom"):
            continue  # Anthropic server tools (web search, code execution, ...)
        params = sanitize_parameters(tool.get("input_schema"))
        out.append(function_declaration(tool["name"], tool.get("description"), params))
    return out


def _texts(content: Any) -> list[str]:
    """The non-empty texts of a string or a list of text blocks."""
    if isinstance(content, str):
        return [content] if content else []
    if not isinstance(content, list):
        return []
    return [
        b["text"]
        for b in content
        if isinstance(b, dict)
        and b.get("type") == "text"
        and isinstance(b.get("text"), str)
        and b["text"]
    ]


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return [b for b in content if isinstance(b, dict)]
    return []


def _model_parts(content: Any, names: dict[str, str], signed: bool) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for block in _blocks(content):
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str) and block["text"]:
            parts.append({"text": block["text"]})
        elif kind == "tool_use" and isinstance(block.get("name"), str):
            call_id = _str(block.get("id"))
            names[call_id] = block["name"]
            args = block.get("input")
            part: dict[str, Any] = {
                "functionCall": {
                    "id": call_id,
                    "name": block["name"],
                    "args": args if isinstance(args, dict) else {},
                }
            }
            signature = tool_call_signature(call_id) if signed else None
            if signature:
                part["thoughtSignature"] = signature
            parts.append(part)
    return parts


def _user_parts(content: Any, names: dict[str, str]) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for block in _blocks(content):
        kind = block.get("type")
        if kind == "tool_result":
            parts.extend(_tool_result_parts(block, names))
        else:
            parts.extend(_media_or_text(block))
    return parts


def _tool_result_parts(block: dict[str, Any], names: dict[str, str]) -> list[dict[str, Any]]:
    texts: list[str] = []
    media: list[dict[str, Any]] = []
    content = block.get("content")
    structured: Any = None
    if isinstance(content, str):
        texts.append(content)
    elif isinstance(content, list):
        for sub in content:
            if not isinstance(sub, dict):
                continue
            if sub.get("type") == "text" and isinstance(sub.get("text"), str):
                texts.append(sub["text"])
            elif sub.get("type") in ("image", "document"):
                media.extend(_media_or_text(sub))
            else:
                texts.append(orjson.dumps(sub).decode())
    elif isinstance(content, dict):
        structured = content
    value = structured if structured is not None else "\n".join(texts)
    call_id = _str(block.get("tool_use_id"))
    name = names.get(call_id)
    if name is None:  # answers no call we know: keep the text, lose the pairing
        text = value if isinstance(value, str) else orjson.dumps(value).decode()
        return [{"text": f"Result of tool call {call_id}: {text}"}, *media]
    key = "error" if block.get("is_error") is True else "content"
    response = {"id": call_id, "name": name, "response": {key: value}}
    return [{"functionResponse": response}, *media]


def _media_or_text(block: dict[str, Any]) -> list[dict[str, Any]]:
    kind = block.get("type")
    if kind == "text":
        text = block.get("text")
        return [{"text": text}] if isinstance(text, str) and text else []
    if kind in ("image", "document"):
        source = block.get("source")
        if not isinstance(source, dict):
            return []
        default = "image/jpeg" if kind == "image" else "application/pdf"
        stype = source.get("type")
        if stype == "base64" and isinstance(source.get("data"), str):
            mime = _str(source.get("media_type")) or default
            return [{"inlineData": {"mimeType": mime, "data": source["data"]}}]
        if stype == "url" and isinstance(source.get("url"), str):
            url = source["url"]
            mime = _str(source.get("media_type")) or _mime_from_url(url, default)
            return [{"fileData": {"mimeType": mime, "fileUri": url}}]
        if stype == "text" and isinstance(source.get("data"), str) and source["data"]:
            return [{"text": source["data"]}]
        if stype == "content":
            return [{"text": t} for t in _texts(source.get("content"))]
        return []  # file ids of Anthropic's Files API mean nothing to Gemini
    if kind == "search_result":
        return [{"text": t} for t in _texts(block.get("content"))]
    return []


def _mime_from_url(url: str, default: str) -> str:
    path = url.split("?", 1)[0].split("#", 1)[0]
    ext = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    return _EXTENSION_MIME.get(ext, default)


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


# -- response -----------------------------------------------------------------


def _anthropic_usage(usage: Usage) -> dict[str, int]:
    return {
        "input_tokens": max(usage.prompt_tokens - usage.cached_tokens, 0),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": usage.cached_tokens,
        "output_tokens": usage.completion_tokens,
    }


def _blocked(resp: dict[str, Any]) -> bool:
    feedback = resp.get("promptFeedback")
    return isinstance(feedback, dict) and bool(feedback.get("blockReason"))


def gemini_to_anthropic_response(resp: dict[str, Any], model: str) -> tuple[dict[str, Any], Usage]:
    """GenerateContentResponse -> Anthropic message, and its usage.

    Consecutive text (or thought) parts form one block; a text part's
    ``thoughtSignature`` is dropped (Gemini only requires those of function
    calls); a prompt blocked before generation is a ``refusal`` with no content.
    """
    seed = response_seed(resp)
    candidate = first_candidate(resp)
    content: list[dict[str, Any]] = []
    calls = 0
    for part in candidate_parts(candidate):
        text = part.get("text")
        call = part.get("functionCall")
        last = content[-1] if content else None
        if isinstance(text, str) and part.get("thought") is True:
            signature = _str(part.get("thoughtSignature"))
            if last is not None and last["type"] == "thinking":
                last["thinking"] += text
                last["signature"] = signature or last["signature"]
            elif text or signature:
                content.append({"type": "thinking", "thinking": text, "signature": signature})
        elif isinstance(text, str):
            if last is not None and last["type"] == "text":
                last["text"] += text
            elif text:
                content.append({"type": "text", "text": text})
        elif isinstance(call, dict):
            args = call.get("args")
            content.append(
                {
                    "type": "tool_use",
                    "id": tool_call_id("toolu_", seed, calls, part.get("thoughtSignature")),
                    "name": _str(call.get("name")),
                    "input": args if isinstance(args, dict) else {},
                }
            )
            calls += 1
    finish = candidate.get("finishReason") if candidate is not None else None
    if candidate is None and _blocked(resp):
        stop_reason = "refusal"
    else:
        stop_reason = anthropic_stop_reason(finish if isinstance(finish, str) else None, calls > 0)
    usage = usage_from_gemini(resp.get("usageMetadata"))
    version = resp.get("modelVersion")
    message: dict[str, Any] = {
        "id": f"msg_{seed}",
        "type": "message",
        "role": "assistant",
        "model": version if isinstance(version, str) and version else model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": _anthropic_usage(usage),
    }
    return message, usage


# -- stream -------------------------------------------------------------------


def _error_event(error_type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}}


def _encode(events: list[dict[str, Any]]) -> bytes:
    return b"".join([encode_event(e["type"], e) for e in events])


class GeminiToAnthropicStream:
    """``streamGenerateContent?alt=sse`` chunks -> Anthropic stream events.

    Each chunk's parts are new output (not cumulative). Text parts extend the
    open text block, thought parts the open thinking block (its signature is
    sent as a ``signature_delta`` when it closes); a function call arrives
    whole and becomes a complete tool_use block. ``usageMetadata`` is
    cumulative: the last one wins. The stream is complete once a
    ``finishReason`` (or a prompt block) was seen. :meth:`events` and its
    siblings give the same events as dicts, for other client formats' encoders.
    """

    __slots__ = (
        "_blocked",
        "_calls",
        "_done",
        "_estimate",
        "_finish",
        "_index",
        "_model",
        "_open",
        "_seed",
        "_signature",
        "_started",
        "completed",
        "response_model",
        "usage",
    )

    def __init__(self, model: str, input_tokens_estimate: int = 0) -> None:
        self.usage = Usage()
        self.response_model: str | None = None
        self.completed = False
        self._model = model
        self._estimate = input_tokens_estimate
        self._started = False
        self._done = False
        self._seed = ""
        self._index = 0
        self._open: str | None = None
        self._signature = ""
        self._calls = 0
        self._finish: str | None = None
        self._blocked = False

    def feed(self, data: dict[str, Any]) -> bytes:
        return _encode(self.events(data))

    def finish(self) -> bytes:
        return _encode(self.finish_events())

    def fail(self, error_type: str, message: str) -> bytes:
        return _encode(self.fail_events(error_type, message))

    def events(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        if self._done or not isinstance(data, dict):
            return []
        error = data.get("error")
        if isinstance(error, dict):
            self._done = True
            return [
                _error_event(
                    anthropic_error_type(error.get("status"), error.get("code")),
                    _str(error.get("message")) or "Gemini reported an error",
                )
            ]
        if isinstance(data.get("usageMetadata"), dict):
            self.usage = usage_from_gemini(data["usageMetadata"])
        version = data.get("modelVersion")
        if isinstance(version, str) and version:
            self.response_model = version
        out: list[dict[str, Any]] = []
        if not self._started:
            out.append(self._start(data))
        candidate = first_candidate(data)
        for part in candidate_parts(candidate):
            self._part(part, out)
        finish = candidate.get("finishReason") if candidate is not None else None
        if isinstance(finish, str) and finish:
            self._finish = finish
            self.completed = True
        elif candidate is None and _blocked(data):
            self._blocked = True
            self.completed = True
        return out

    def finish_events(self) -> list[dict[str, Any]]:
        if self._done:
            return []
        self._done = True
        if not self.completed:
            return [_error_event("api_error", "The Gemini stream ended without a finish reason.")]
        out: list[dict[str, Any]] = []
        self._close(out)
        if self._blocked and self._finish is None:
            stop_reason = "refusal"
        else:
            stop_reason = anthropic_stop_reason(self._finish, self._calls > 0)
        usage = _anthropic_usage(self.usage)
        out.append(
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {
                    "input_tokens": usage["input_tokens"],
                    "cache_read_input_tokens": usage["cache_read_input_tokens"],
                    "output_tokens": usage["output_tokens"],
                },
            }
        )
        out.append({"type": "message_stop"})
        return out

    def fail_events(self, error_type: str, message: str) -> list[dict[str, Any]]:
        if self._done:
            return []
        self._done = True
        return [_error_event(error_type, message)]

    def _start(self, chunk: dict[str, Any]) -> dict[str, Any]:
        self._started = True
        self._seed = response_seed(chunk)
        usage = _anthropic_usage(self.usage)
        if not self.usage.reported:
            usage["input_tokens"] = self._estimate
        message: dict[str, Any] = {
            "id": f"msg_{self._seed}",
            "type": "message",
            "role": "assistant",
            "model": self.response_model or self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {**usage, "output_tokens": 0},
        }
        return {"type": "message_start", "message": message}

    def _part(self, part: dict[str, Any], out: list[dict[str, Any]]) -> None:
        text = part.get("text")
        call = part.get("functionCall")
        if isinstance(text, str) and part.get("thought") is True:
            signature = _str(part.get("thoughtSignature"))
            if not text and not signature:
                return
            self._ensure("thinking", {"type": "thinking", "thinking": "", "signature": ""}, out)
            if signature:
                self._signature = signature
            if text:
                out.append(self._delta({"type": "thinking_delta", "thinking": text}))
            return
        if isinstance(text, str):
            if not text:
                return
            self._ensure("text", {"type": "text", "text": ""}, out)
            out.append(self._delta({"type": "text_delta", "text": text}))
            return
        if isinstance(call, dict):
            self._close(out)
            block = {
                "type": "tool_use",
                "id": tool_call_id("toolu_", self._seed, self._calls, part.get("thoughtSignature")),
                "name": _str(call.get("name")),
                "input": {},
            }
            self._calls += 1
            self._ensure("tool_use", block, out)
            args = call.get("args")
            arguments = orjson.dumps(args if isinstance(args, dict) else {}).decode()
            out.append(self._delta({"type": "input_json_delta", "partial_json": arguments}))
            self._close(out)

    def _ensure(self, kind: str, block: dict[str, Any], out: list[dict[str, Any]]) -> None:
        if self._open == kind:
            return
        self._close(out)
        self._open = kind
        out.append({"type": "content_block_start", "index": self._index, "content_block": block})

    def _delta(self, delta: dict[str, Any]) -> dict[str, Any]:
        return {"type": "content_block_delta", "index": self._index, "delta": delta}

    def _close(self, out: list[dict[str, Any]]) -> None:
        if self._open is None:
            return
        if self._open == "thinking" and self._signature:
            out.append(self._delta({"type": "signature_delta", "signature": self._signature}))
        self._signature = ""
        out.append({"type": "content_block_stop", "index": self._index})
        self._open = None
        self._index += 1
