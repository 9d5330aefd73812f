"""An OpenAI Chat Completions client in front of Gemini (Vertex AI or the public API).

The same rules as :mod:`lockgate.llm.wire.anthropic_gemini`, mirrored:
leading ``system``/``developer`` messages -> ``systemInstruction`` (later
ones stay in place as ``<system>``-wrapped user text); ``tool`` messages ->
``functionResponse`` named after the matching ``tool_calls`` entry (legacy
``function`` messages match by name); ``image_url`` data URIs ->
``inlineData``, other URLs -> ``fileData``; ``response_format`` ->
``responseMimeType`` (+ ``responseSchema``, sanitized) when no tools are
declared or the model is Gemini 3 or later; ``reasoning_effort`` -> ``thinkingConfig`` budgets. Thought parts
come back as ``reasoning_content`` (the field DeepSeek-style clients read).
``n``, ``logprobs``, ``logit_bias``, ``user``, ``store``, ``metadata``,
``parallel_tool_calls`` and unknown fields are dropped.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any, TypeGuard

import orjson

from lockgate.llm.sse import encode_data
from lockgate.llm.usage import Usage
from lockgate.llm.wire.gemini import (
    candidate_parts,
    finalize_contents,
    first_candidate,
    function_declaration,
    json_output_with_tools,
    openai_error_type,
    openai_finish_reason,
    response_seed,
    supports_thinking,
    thinking_budget,
    tool_call_id,
    tool_call_signature,
    usage_from_gemini,
)
from lockgate.llm.wire.gemini_schema import sanitize_parameters, sanitize_schema

__all__ = [
    "GeminiToOpenAIStream",
    "gemini_to_openai_response",
    "openai_to_gemini_request",
]

#: reasoning_effort -> thinkingBudget (tokens).
_EFFORT_BUDGET = {
    "none": 0,
    "minimal": 512,
    "low": 1024,
    "medium": 8192,
    "high": 24576,
    "xhigh": 32768,
}
_TOOL_CHOICE = {"auto": "AUTO", "none": "NONE", "required": "ANY"}
_MAX_STOP_SEQUENCES = 5
_AUDIO_MIME = {"wav": "audio/wav", "mp3": "audio/mp3", "flac": "audio/flac", "ogg": "audio/ogg"}
_EXTENSION_MIME = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "pdf": "application/pdf",
    "txt": "text/plain",
}


# -- request ------------------------------------------------------------------


def openai_to_gemini_request(body: dict[str, Any], *, model: str | None = None) -> dict[str, Any]:
    """Chat Completions body -> GenerateContent body (``model`` and ``stream``
    select the URL). ``model`` is the upstream model when configured."""
    target = model or _str(body.get("model"))
    thinks = supports_thinking(target)
    system: list[str] = []
    turns: list[tuple[str, list[dict[str, Any]]]] = []
    names: dict[str, str] = {}
    leading = True
    messages = body.get("messages")
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        if role in ("system", "developer"):
            texts = _texts(message.get("content"))
            if leading:
                system.extend(texts)
            elif texts:
                turns.append(
                    ("user", [{"text": "<system>\n" + "\n\n".join(texts) + "\n</system>"}])
                )
            continue
        leading = False
        if role == "assistant":
            turns.append(("model", _assistant_parts(message, names, thinks)))
        elif role == "tool":
            turns.append(("user", [_tool_part(message, names)]))
        elif role == "function":
            name = _str(message.get("name"))
            text = "\n".join(_texts(message.get("content")))
            turns.append(
                ("user", [{"functionResponse": {"name": name, "response": {"content": text}}}])
            )
        else:
            turns.append(("user", _user_parts(message.get("content"))))

    out: dict[str, Any] = {"contents": finalize_contents(turns, thought_signatures=thinks)}
    if system:
        out["systemInstruction"] = {"parts": [{"text": t} for t in system]}
    declarations = _declarations(body)
    if declarations:
        out["tools"] = [{"functionDeclarations": declarations}]
        choice = _tool_choice(body)
        if choice is not None:
            out["toolConfig"] = {"functionCallingConfig": choice}
    config = _generation_config(body, target, thinks, bool(declarations))
    if config:
        out["generationConfig"] = config
    return out


def _generation_config(
    body: dict[str, Any], target: str, thinks: bool, has_tools: bool
) -> dict[str, Any]:
    config: dict[str, Any] = {}
    max_tokens = body.get("max_completion_tokens")
    if not _is_int(max_tokens):
        max_tokens = body.get("max_tokens")
    if _is_int(max_tokens) and max_tokens > 0:
        config["maxOutputTokens"] = max_tokens
    for src, dst in (
        ("temperature", "temperature"),
        ("top_p", "topP"),
        ("presence_penalty", "presencePenalty"),
        ("frequency_penalty", "frequencyPenalty"),
    ):
        value = body.get(src)
        if isinstance(value, int | float) and not isinstance(value, bool):
            config[dst] = value
    if _is_int(body.get("seed")):
        config["seed"] = body["seed"]
    stop = body.get("stop")
    stops = [stop] if isinstance(stop, str) else stop if isinstance(stop, list) else []
    kept = [s for s in stops if isinstance(s, str) and s][:_MAX_STOP_SEQUENCES]
    if kept:
        config["stopSequences"] = kept
    effort = body.get("reasoning_effort")
    if thinks and isinstance(effort, str) and effort in _EFFORT_BUDGET:
        budget = thinking_budget(target, _EFFORT_BUDGET[effort])
        thinking: dict[str, Any] = {"thinkingBudget": budget}
        if budget != 0:
            thinking["includeThoughts"] = True
        config["thinkingConfig"] = thinking
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and (not has_tools or json_output_with_tools(target)):
        if fmt.get("type") == "json_object":
            config["responseMimeType"] = "application/json"
        elif fmt.get("type") == "json_schema":
            config["responseMimeType"] = "application/json"
            spec = fmt.get("json_schema")
            if isinstance(spec, dict) and isinstance(spec.get("schema"), dict):
                config["responseSchema"] = sanitize_schema(spec["schema"])
    return config


def _declarations(body: dict[str, Any]) -> list[dict[str, Any]]:
    specs: list[Any] = []
    tools = body.get("tools")
    if isinstance(tools, list):
        specs.extend(
            t.get("function")
            for t in tools
            if isinstance(t, dict) and t.get("type", "function") == "function"
        )
    functions = body.get("functions")  # the pre-tools API
    if isinstance(functions, list):
        specs.extend(functions)
    return [
        function_declaration(
            spec["name"], spec.get("description"), sanitize_parameters(spec.get("parameters"))
        )
        for spec in specs
        if isinstance(spec, dict) and isinstance(spec.get("name"), str)
    ]


def _tool_choice(body: dict[str, Any]) -> dict[str, Any] | None:
    choice = body.get("tool_choice", body.get("function_call"))
    if isinstance(choice, str):
        mode = _TOOL_CHOICE.get(choice)
        return {"mode": mode} if mode else None
    if isinstance(choice, dict):
        function = choice.get("function") if "function" in choice else choice
        name = function.get("name") if isinstance(function, dict) else None
        if isinstance(name, str):
            return {"mode": "ANY", "allowedFunctionNames": [name]}
    return None


def _assistant_parts(
    message: dict[str, Any], names: dict[str, str], signed: bool
) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = [{"text": t} for t in _texts(message.get("content"))]
    calls = message.get("tool_calls")
    for call in calls if isinstance(calls, list) else []:
        if not isinstance(call, dict) or not isinstance(call.get("function"), dict):
            continue
        function = call["function"]
        name = _str(function.get("name"))
        call_id = _str(call.get("id"))
        names[call_id] = name
        part: dict[str, Any] = {
            "functionCall": {"id": call_id, "name": name, "args": _arguments(function)}
        }
        signature = tool_call_signature(call_id) if signed else None
        if signature:
            part["thoughtSignature"] = signature
        parts.append(part)
    legacy = message.get("function_call")
    if isinstance(legacy, dict) and isinstance(legacy.get("name"), str):
        parts.append({"functionCall": {"name": legacy["name"], "args": _arguments(legacy)}})
    return parts


def _arguments(function: dict[str, Any]) -> dict[str, Any]:
    """``arguments`` is a JSON string the model wrote; anything but an object
    (invalid JSON included) becomes ``{}``, since Gemini's args is a Struct."""
    raw = function.get("arguments")
    if isinstance(raw, dict):
        return raw
    if not isinstance(raw, str | bytes) or not raw:
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _tool_part(message: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    call_id = _str(message.get("tool_call_id"))
    text = "\n".join(_texts(message.get("content")))
    name = names.get(call_id)
    if name is None:
        return {"text": f"Result of tool call {call_id}: {text}"}
    return {"functionResponse": {"id": call_id, "name": name, "response": {"content": text}}}


def _user_parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts: list[dict[str, Any]] = []
    for item in content if isinstance(content, list) else []:
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "text" and isinstance(item.get("text"), str) and item["text"]:
            parts.append({"text": item["text"]})
        elif kind == "image_url":
            image = item.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            if isinstance(url, str):
                parts.append(_url_part(url, "image/jpeg"))
        elif kind == "input_audio" and isinstance(item.get("input_audio"), dict):
            audio = item["input_audio"]
            if isinstance(audio.get("data"), str):
                mime = _AUDIO_MIME.get(_str(audio.get("format")), "audio/wav")
                parts.append({"inlineData": {"mimeType": mime, "data": audio["data"]}})
        elif kind == "file" and isinstance(item.get("file"), dict):
            file = item["file"]
            data = file.get("file_data")
            if isinstance(data, str) and data:
                default = _mime_from_name(_str(file.get("filename")), "application/pdf")
                if data.startswith("data:"):
                    parts.append(_url_part(data, default))
                else:
                    parts.append({"inlineData": {"mimeType": default, "data": data}})
    return parts


def _url_part(url: str, default: str) -> dict[str, Any]:
    """A data URI -> inlineData; any other URL -> fileData (Gemini fetches it)."""
    if url.startswith("data:"):
        header, _, data = url[5:].partition(",")
        mime = header.split(";", 1)[0] or default
        return {"inlineData": {"mimeType": mime, "data": data}}
    return {"fileData": {"mimeType": _mime_from_name(url, default), "fileUri": url}}


def _mime_from_name(name: str, default: str) -> str:
    path = name.split("?", 1)[0].split("#", 1)[0].rsplit("/", 1)[-1]
    ext = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    return _EXTENSION_MIME.get(ext, default)


def _texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content] if content else []
    if not isinstance(content, list):
        return []
    return [
        p["text"]
        for p in content
        if isinstance(p, dict) and isinstance(p.get("text"), str) and p["text"]
    ]


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


# -- response -----------------------------------------------------------------


def _openai_usage(usage: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }


def _created(resp: dict[str, Any]) -> int:
    """Vertex's ``createTime`` as epoch seconds; now when absent or unparsable."""
    stamp = resp.get("createTime")
    if isinstance(stamp, str):
        head, dot, tail = stamp.replace("Z", "+00:00").partition(".")
        if dot:  # Google may send nanoseconds; Python parses up to micro
            digits = len(tail) - len(tail.lstrip("0123456789"))
            head = head + "." + tail[: min(digits, 6)] + tail[digits:]
        try:
            return int(datetime.fromisoformat(head).timestamp())
        except ValueError:
            pass
    return int(time.time())


def _tool_call(seed: str, index: int, part: dict[str, Any]) -> dict[str, Any]:
    call = part["functionCall"]
    args = call.get("args")
    return {
        "id": tool_call_id("call_", seed, index, part.get("thoughtSignature")),
        "type": "function",
        "function": {
            "name": _str(call.get("name")),
            "arguments": orjson.dumps(args if isinstance(args, dict) else {}).decode(),
        },
    }


def gemini_to_openai_response(resp: dict[str, Any], model: str) -> tuple[dict[str, Any], Usage]:
    """GenerateContentResponse -> chat.completion, and its usage."""
    seed = response_seed(resp)
    candidate = first_candidate(resp)
    texts: list[str] = []
    thoughts: list[str] = []
    calls: list[dict[str, Any]] = []
    for part in candidate_parts(candidate):
        text = part.get("text")
        if isinstance(text, str):
            (thoughts if part.get("thought") is True else texts).append(text)
        elif isinstance(part.get("functionCall"), dict):
            calls.append(_tool_call(seed, len(calls), part))
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) or None}
    if thoughts and "".join(thoughts):
        message["reasoning_content"] = "".join(thoughts)
    if calls:
        message["tool_calls"] = calls
    finish = candidate.get("finishReason") if candidate is not None else None
    feedback = resp.get("promptFeedback")
    if candidate is None and isinstance(feedback, dict) and feedback.get("blockReason"):
        finish_reason = "content_filter"
    else:
        finish_reason = openai_finish_reason(
            finish if isinstance(finish, str) else None, bool(calls)
        )
    usage = usage_from_gemini(resp.get("usageMetadata"))
    version = resp.get("modelVersion")
    out = {
        "id": f"chatcmpl-{seed}",
        "object": "chat.completion",
        "created": _created(resp),
        "model": version if isinstance(version, str) and version else model,
        "choices": [
            {"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}
        ],
        "usage": _openai_usage(usage),
    }
    return out, usage


# -- stream -------------------------------------------------------------------


def _error_chunk(error_type: str, message: str) -> bytes:
    return encode_data(
        {"error": {"message": message, "type": error_type, "param": None, "code": None}}
    )


class GeminiToOpenAIStream:
    """``streamGenerateContent?alt=sse`` chunks -> chat.completion.chunk events.

    The first chunk carries the assistant role; each text, thought or
    function-call part becomes one delta (function calls arrive whole, so
    each tool call is sent complete under its own index). The finish reason
    and, with ``include_usage``, a usage chunk (empty ``choices``) are sent
    by :meth:`finish`, then ``data: [DONE]``. A stream that ends without a
    finish reason ends with an error chunk and no ``[DONE]``.
    """

    __slots__ = (
        "_blocked",
        "_calls",
        "_created",
        "_done",
        "_finish",
        "_id",
        "_include_usage",
        "_model",
        "_seed",
        "_started",
        "completed",
        "response_model",
        "usage",
    )

    def __init__(self, model: str, include_usage: bool) -> None:
        self.usage = Usage()
        self.response_model: str | None = None
        self.completed = False
        self._model = model
        self._include_usage = include_usage
        self._started = False
        self._done = False
        self._seed = ""
        self._id = ""
        self._created = 0
        self._calls = 0
        self._finish: str | None = None
        self._blocked = False

    def feed(self, data: dict[str, Any]) -> bytes:
        if self._done or not isinstance(data, dict):
            return b""
        error = data.get("error")
        if isinstance(error, dict):
            self._done = True
            return _error_chunk(
                openai_error_type(error.get("status")),
                _str(error.get("message")) or "Gemini reported an error",
            )
        if isinstance(data.get("usageMetadata"), dict):
            self.usage = usage_from_gemini(data["usageMetadata"])
        version = data.get("modelVersion")
        if isinstance(version, str) and version:
            self.response_model = version
        out = bytearray()
        if not self._started:
            self._started = True
            self._seed = response_seed(data)
            self._id = f"chatcmpl-{self._seed}"
            self._created = _created(data)
            out += self._chunk({"role": "assistant", "content": ""})
        candidate = first_candidate(data)
        for part in candidate_parts(candidate):
            text = part.get("text")
            if isinstance(text, str) and text:
                key = "reasoning_content" if part.get("thought") is True else "content"
                out += self._chunk({key: text})
            elif isinstance(part.get("functionCall"), dict):
                call = {"index": self._calls, **_tool_call(self._seed, self._calls, part)}
                self._calls += 1
                out += self._chunk({"tool_calls": [call]})
        finish = candidate.get("finishReason") if candidate is not None else None
        if isinstance(finish, str) and finish:
            self._finish = finish
            self.completed = True
        elif candidate is None and isinstance(data.get("promptFeedback"), dict):
            if data["promptFeedback"].get("blockReason"):
                self._blocked = True
                self.completed = True
        return bytes(out)

    def finish(self) -> bytes:
        if self._done:
            return b""
        self._done = True
        if not self.completed:
            return _error_chunk("server_error", "The Gemini stream ended without a finish reason.")
        if self._blocked and self._finish is None:
            reason = "content_filter"
        else:
            reason = openai_finish_reason(self._finish, self._calls > 0)
        out = bytearray(self._chunk({}, reason))
        if self._include_usage:
            out += encode_data(
                {
                    "id": self._id,
                    "object": "chat.completion.chunk",
                    "created": self._created,
                    "model": self.response_model or self._model,
                    "choices": [],
                    "usage": _openai_usage(self.usage),
                }
            )
        out += b"data: [DONE]\n\n"
        return bytes(out)

    def fail(self, error_type: str, message: str) -> bytes:
        if self._done:
            return b""
        self._done = True
        return _error_chunk(error_type, message)

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        return encode_data(
            {
                "id": self._id,
                "object": "chat.completion.chunk",
                "created": self._created,
                "model": self.response_model or self._model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            }
        )
