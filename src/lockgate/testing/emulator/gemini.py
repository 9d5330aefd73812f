"""Gemini: Vertex AI (OAuth bearer tokens from the emulated token endpoint)
and the public Generative Language API (API key), generateContent,
streamGenerateContent (``alt=sse`` frames or one streamed JSON array) and
countTokens.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from .context_windows import context_window, overflow_tokens
from .gemini_validate import DUMMY_SIGNATURES, google_error, thinking_model, validate_generate
from .google_oauth import CLOUD_PLATFORM
from .responses import ApiError, json_response
from .script import (
    Reply,
    Script,
    Turn,
    apply_limits,
    parse_script,
    plan_reply,
    split_chunks,
    thinking_text,
)
from .state import STATE, EmulatorState
from .stream import FrameWriter, StreamCut, cut_before_answer
from .tokens import count_tokens, json_tokens

__all__ = ["Call", "failure", "public_handler", "vertex_handler"]

NAME = "gemini"
_AUTH_HELP = (
    "Expected OAuth 2 access token, login cookie or other valid authentication credential. "
    "See https://developers.google.com/identity/sign-in/web/devconsole-project."
)
_FAILURES = {
    400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
    401: ("UNAUTHENTICATED", f"Request had invalid authentication credentials. {_AUTH_HELP}"),
    403: ("PERMISSION_DENIED", "The caller does not have permission"),
    404: ("NOT_FOUND", "Requested entity was not found."),
    429: (
        "RESOURCE_EXHAUSTED",
        "Resource exhausted. Please try again later. Please refer to "
        "https://cloud.google.com/vertex-ai/generative-ai/docs/error-code-429 for more details.",
    ),
    500: ("INTERNAL", "Internal error encountered."),
    503: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
    504: ("DEADLINE_EXCEEDED", "Deadline expired before operation could complete."),
}


@dataclass(slots=True)
class Call:
    """One request's route: which API, which model, which method."""

    vertex: bool
    model: str
    action: str
    project: str = ""
    location: str = ""

    @property
    def resource(self) -> str:
        return f"projects/{self.project}/locations/{self.location}/publishers/google/models/{self.model}"


def failure(status: int) -> ApiError:
    name, message = _FAILURES.get(status, ("UNAVAILABLE", f"Emulated error with status {status}."))
    details = None
    if status == 429:
        details = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1s"}]
    return google_error(status, name, message, details)


def _error_info(reason: str, call: Call) -> list[dict[str, Any]]:
    service = "aiplatform.googleapis.com" if call.vertex else "generativelanguage.googleapis.com"
    return [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": reason,
            "domain": "googleapis.com",
            "metadata": {"service": service},
        }
    ]


def _authorize_vertex(request: web.Request, state: EmulatorState, call: Call) -> None:
    auth = request.headers.get("Authorization", "")
    token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
    if not token:
        raise google_error(
            401,
            "UNAUTHENTICATED",
            f"Request is missing required authentication credential. {_AUTH_HELP}",
            _error_info("CREDENTIALS_MISSING", call),
            {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
        )
    if token in state.keys.get("vertex", set()):
        return
    info = state.oauth.token_info(token)
    if info is None:
        raise google_error(
            401,
            "UNAUTHENTICATED",
            f"Request had invalid authentication credentials. {_AUTH_HELP}",
            _error_info("ACCESS_TOKEN_TYPE_UNSUPPORTED", call),
            {
                "WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"'
            },
        )
    if CLOUD_PLATFORM not in info.scopes:
        raise google_error(
            403,
            "PERMISSION_DENIED",
            "Request had insufficient authentication scopes.",
            _error_info("ACCESS_TOKEN_SCOPE_INSUFFICIENT", call),
        )


def _authorize_public(request: web.Request, state: EmulatorState, call: Call) -> None:
    key = request.headers.get("x-goog-api-key") or request.query.get("key", "")
    if not key:
        raise google_error(
            403,
            "PERMISSION_DENIED",
            "Method doesn't allow unregistered callers (callers without established identity). "
            "Please use API Key or other form of API consumer identity to call this API.",
        )
    if not state.key_accepted(NAME, key):
        raise google_error(
            400,
            "INVALID_ARGUMENT",
            "API key not valid. Please pass a valid API key.",
            _error_info("API_KEY_INVALID", call),
        )


def _check_model(call: Call) -> None:
    if call.model.startswith(("gemini-", "gemma-")):
        return
    if call.vertex:
        raise google_error(
            404,
            "NOT_FOUND",
            f"Publisher Model `{call.resource}` was not found or your project does not have access to it. "
            "Please ensure you are using a valid model version. For more information, see: "
            "https://cloud.google.com/vertex-ai/generative-ai/docs/learn/model-versions",
        )
    raise google_error(
        404,
        "NOT_FOUND",
        f"models/{call.model} is not found for API version v1beta, or is not supported for "
        f"{call.action}. Call ListModels to see the list of available models and their supported methods.",
    )


def _get(obj: dict[str, Any], camel: str, snake: str) -> Any:
    return obj.get(camel, obj.get(snake))


def _response_text(response: Any) -> str:
    if isinstance(response, dict):
        for key in ("content", "output", "result", "text"):
            if isinstance(response.get(key), str):
                return response[key]
        if len(response) == 1:
            only = next(iter(response.values()))
            return only if isinstance(only, str) else orjson.dumps(only).decode()
    return orjson.dumps(response).decode()


def extract_turn(body: dict[str, Any], call: Call, names: set[str]) -> tuple[Turn, Script]:
    """Text and function responses of the user contents after the last model one."""
    texts: list[str] = []
    results: list[str] = []
    for content in reversed(_get(body, "contents", "contents") or []):
        if content.get("role", "user") == "model":
            break
        for part in reversed(content.get("parts") or []):
            if isinstance(part.get("text"), str) and not part.get("thought"):
                texts.insert(0, part["text"])
            response = _get(part, "functionResponse", "function_response")
            if response:
                results.insert(0, _response_text(response.get("response")))
    config = _get(body, "generationConfig", "generation_config") or {}
    schema = _get(config, "responseJsonSchema", "response_json_schema") or _get(
        config, "responseSchema", "response_schema"
    )
    mime = _get(config, "responseMimeType", "response_mime_type")
    text = "\n".join(texts)
    turn = Turn(
        NAME,
        call.model,
        text,
        results,
        names,
        json_schema=schema if isinstance(schema, dict) else None,
    )
    turn.json_object = mime == "application/json" and turn.json_schema is None
    script = parse_script(text, NAME, call.model)
    if results and not texts:
        # Function responses only: an agent's step. A [[chain]] prompt that
        # started the exchange decides the next call.
        prompt, steps = _exchange_prompt(_get(body, "contents", "contents") or [])
        chained = parse_script(prompt, NAME, call.model)
        if chained.chain:
            script, turn.steps = chained, steps
    return turn, script


def _exchange_prompt(contents: list[dict[str, Any]]) -> tuple[str, int]:
    """The text of the user turn that started the current exchange, and the
    number of model turns with function calls since."""
    steps = 0
    for content in reversed(contents):
        parts = content.get("parts") or []
        if content.get("role", "user") == "model":
            steps += any(_get(p, "functionCall", "function_call") for p in parts)
            continue
        texts = [
            p["text"] for p in parts if isinstance(p.get("text"), str) and not p.get("thought")
        ]
        if texts:
            return "\n".join(texts), steps
    return "", steps


async def vertex_handler(request: web.Request) -> web.StreamResponse:
    model, _, action = request.match_info["target"].partition(":")
    call = Call(True, model, action, request.match_info["project"], request.match_info["location"])
    return await _handle(request, call)


async def public_handler(request: web.Request) -> web.StreamResponse:
    model, _, action = request.match_info["target"].partition(":")
    return await _handle(request, Call(False, model, action))


async def _handle(request: web.Request, call: Call) -> web.StreamResponse:
    state = request.app[STATE]
    try:
        if call.vertex:
            _authorize_vertex(request, state, call)
        else:
            _authorize_public(request, state, call)
        if call.action not in ("generateContent", "streamGenerateContent", "countTokens"):
            raise google_error(404, "NOT_FOUND", f"Method not found: {call.action}")
        _check_model(call)
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError as exc:
            raise google_error(
                400, "INVALID_ARGUMENT", "Invalid JSON payload received. Unexpected token."
            ) from exc
        if call.action == "countTokens":
            return _count(body, call)
        names = validate_generate(body, call.model, call.vertex)
        _check_signatures(state, body)
        turn, script = extract_turn(body, call, names)
        window = context_window(NAME, call.model)
        overflow = overflow_tokens(script.overflow, _prompt_tokens(body), window)
        if overflow is not None:
            raise google_error(
                400,
                "INVALID_ARGUMENT",
                f"The input token count ({overflow}) exceeds the maximum number of tokens "
                f"allowed ({window}).",
            )
        if script.sleep:
            await asyncio.sleep(script.sleep)
        stream = call.action == "streamGenerateContent"
        if script.fail is not None and (script.fail_after is None or not stream):
            raise failure(script.fail)
    except ApiError as err:
        return err.response()
    if script.cut is not None and not stream:
        return cut_before_answer(request)
    reply, usage, thought_parts = _answer(state, body, call, turn, script)
    if stream:
        return await _stream(request, call, reply, usage, thought_parts, script)
    parts = [*thought_parts, *_parts(reply, call, state)]
    return json_response(_response(call, parts, _finish(reply), usage))


def _count(body: Any, call: Call) -> web.Response:
    if not isinstance(body, dict):
        raise google_error(
            400, "INVALID_ARGUMENT", "Invalid JSON payload received. Expected an object."
        )
    allowed: tuple[str, ...] = (
        "contents",
        "systemInstruction",
        "system_instruction",
        "tools",
        "generationConfig",
        "generation_config",
        "instances",
        "model",
    )
    if not call.vertex:
        allowed = ("contents", "generateContentRequest", "generate_content_request")
    for key in body:
        if key not in allowed:
            raise google_error(
                400,
                "INVALID_ARGUMENT",
                f'Invalid JSON payload received. Unknown name "{key}": Cannot find field.',
            )
    inner = _get(body, "generateContentRequest", "generate_content_request")
    request = (
        dict(inner)
        if isinstance(inner, dict)
        else {k: v for k, v in body.items() if k not in ("instances", "model")}
    )
    request.pop("model", None)
    validate_generate(request, call.model, call.vertex, counting=True)
    details = _prompt_details(request)
    total = sum(d["tokenCount"] for d in details)
    out: dict[str, Any] = {"totalTokens": total, "promptTokensDetails": details}
    if call.vertex:
        out["totalBillableCharacters"] = details[0]["tokenCount"] * 4
    return json_response(out)


#: What Gemini counts for one media part: an image of up to 384 px a side, or
#: one page of a PDF. The emulator does not decode media, so every part costs
#: this; its base64 bytes are not text the model reads (an attached image must
#: not look like a prompt of a million tokens to a client that counts first,
#: as Gemini CLI does with countTokens before sending an image).
MEDIA_TOKENS = 258
_MODALITIES = {"image": "IMAGE", "audio": "AUDIO", "video": "VIDEO"}


def _prompt_details(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Prompt tokens by modality, as ``promptTokensDetails`` lists them."""
    media: dict[str, int] = {}
    contents = []
    for content in body.get("contents") or []:
        if not isinstance(content, dict):
            contents.append(content)
            continue
        parts = []
        for part in content.get("parts") or []:
            blob = isinstance(part, dict) and (
                _get(part, "inlineData", "inline_data") or _get(part, "fileData", "file_data")
            )
            if not isinstance(blob, dict):
                parts.append(part)
                continue
            mime = str(_get(blob, "mimeType", "mime_type") or "")
            modality = _MODALITIES.get(mime.partition("/")[0], "DOCUMENT")
            media[modality] = media.get(modality, 0) + MEDIA_TOKENS
        contents.append({**content, "parts": parts})
    text = json_tokens(
        [
            _get(body, "systemInstruction", "system_instruction"),
            _get(body, "tools", "tools"),
            contents,
        ]
    )
    return [{"modality": "TEXT", "tokenCount": text}] + [
        {"modality": m, "tokenCount": n} for m, n in media.items()
    ]


def _prompt_tokens(body: dict[str, Any]) -> int:
    return sum(d["tokenCount"] for d in _prompt_details(body))


def _answer(
    state: EmulatorState, body: dict[str, Any], call: Call, turn: Turn, script: Script
) -> tuple[Reply, dict[str, Any], list[dict[str, Any]]]:
    config = _get(body, "generationConfig", "generation_config") or {}
    thinking_cfg = _get(config, "thinkingConfig", "thinking_config") or {}
    budget = _get(thinking_cfg, "thinkingBudget", "thinking_budget")
    reply = plan_reply(turn, script)
    thinks = script.think and thinking_model(call.model) and budget not in (0, "0")
    if thinks:
        reply.thinking = thinking_text(script.text)
    limit = _get(config, "maxOutputTokens", "max_output_tokens")
    stops = _get(config, "stopSequences", "stop_sequences")
    reply = apply_limits(reply, int(limit) if limit is not None else None, stops)
    thoughts = count_tokens(reply.thinking or "")
    candidates = count_tokens(reply.text) + sum(
        count_tokens(c.name + c.arguments_json) for c in reply.tool_calls
    )
    details = _prompt_details(body)
    prompt = sum(d["tokenCount"] for d in details)
    cached = state.cache(NAME).automatic(
        call.model, [body.get("systemInstruction"), body.get("tools"), *body["contents"]]
    )
    usage: dict[str, Any] = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": candidates,
        "totalTokenCount": prompt + candidates + thoughts,
        "promptTokensDetails": details,
    }
    if cached:
        usage["cachedContentTokenCount"] = cached
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    if call.vertex:
        usage["trafficType"] = "ON_DEMAND"
    include = _get(thinking_cfg, "includeThoughts", "include_thoughts")
    thought_parts = (
        [{"text": reply.thinking, "thought": True}] if thinks and include and reply.thinking else []
    )
    return reply, usage, thought_parts


def _signature(state: EmulatorState, name: str) -> str:
    mac = hmac.new(state.thinking_secret, name.encode(), hashlib.sha256).digest()
    return base64.b64encode(b"EmuGeminiSig" + mac).decode()


def _check_signatures(state: EmulatorState, body: dict[str, Any]) -> None:
    """A signature that comes back must be one the model issued (Gemini
    validates them; a gateway that re-encodes or swaps one is refused)."""
    for content in _get(body, "contents", "contents") or []:
        if content.get("role") != "model":
            continue
        for part in content.get("parts") or []:
            signature = _get(part, "thoughtSignature", "thought_signature")
            function = _get(part, "functionCall", "function_call")
            if not isinstance(function, dict) or not isinstance(signature, str):
                continue
            if signature in DUMMY_SIGNATURES:
                continue
            issued = base64.b64decode(_signature(state, str(function.get("name"))))
            if not hmac.compare_digest(_signature_bytes(signature), issued):
                raise google_error(400, "INVALID_ARGUMENT", "Corrupted thought signature.")


def _signature_bytes(signature: str) -> bytes:
    """thoughtSignature is a proto3 ``bytes`` field: its JSON form may use
    either base64 alphabet, padded or not (google-genai sends URL-safe)."""
    text = signature.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except ValueError:
        return b""


def _parts(reply: Reply, call: Call, state: EmulatorState) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    if reply.text or not reply.tool_calls:
        parts.append({"text": reply.text})
    for i, tc in enumerate(reply.tool_calls):
        part: dict[str, Any] = {"functionCall": {"name": tc.name, "args": tc.arguments}}
        if i == 0 and call.model.startswith("gemini-3"):
            part["thoughtSignature"] = _signature(state, tc.name)
        parts.append(part)
    return parts


def _finish(reply: Reply) -> str:
    return "MAX_TOKENS" if reply.finish == "length" else "STOP"


def _response(
    call: Call, parts: list[dict[str, Any]], finish: str | None, usage: dict[str, Any]
) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}}
    if finish:
        candidate["finishReason"] = finish
    if not call.vertex:
        candidate["index"] = 0
    out: dict[str, Any] = {
        "candidates": [candidate],
        "usageMetadata": usage,
        "modelVersion": call.model,
    }
    if call.vertex:
        out["createTime"] = (
            datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
        )
    out["responseId"] = secrets.token_urlsafe(18)
    return out


async def _stream(
    request: web.Request,
    call: Call,
    reply: Reply,
    usage: dict[str, Any],
    thought_parts: list[dict[str, Any]],
    script: Script,
) -> web.StreamResponse:
    state = request.app[STATE]
    sse = request.query.get("alt") == "sse"
    groups: list[list[dict[str, Any]]] = [[p] for p in thought_parts]
    groups += [[{"text": piece}] for piece in split_chunks(reply.text, script.chunks)]
    calls = [p for p in _parts(reply, call, state) if "functionCall" in p]
    if calls:
        groups.append(calls)  # function calls arrive whole, in one chunk
    if not groups:
        groups.append([{"text": ""}])
    partial = {
        "promptTokenCount": usage["promptTokenCount"],
        "totalTokenCount": usage["promptTokenCount"],
    }
    base = _response(call, [], None, usage)
    chunks = []
    for i, parts in enumerate(groups):
        last = i == len(groups) - 1
        chunk = {
            **base,
            "candidates": [{"content": {"role": "model", "parts": parts}}],
            "usageMetadata": usage if last else partial,
        }
        if last:
            chunk["candidates"][0]["finishReason"] = _finish(reply)
        if not call.vertex:
            chunk["candidates"][0]["index"] = 0
        chunks.append(chunk)
    content_type = "text/event-stream" if sse else "application/json; charset=UTF-8"
    writer = await FrameWriter.open(
        request,
        content_type,
        {"x-emulator-stream": "sse" if sse else "json-array"},
        script.slow_ms,
        script.cut,
    )
    try:
        for i, chunk in enumerate(chunks):
            if script.fail is not None and i == script.fail_after:
                await writer.send(_frame(failure(script.fail).body, sse, i == 0))
                if not sse:
                    await writer.send(b"]")
                return await writer.finish()
            await writer.send(_frame(chunk, sse, i == 0))
        if not sse:
            await writer.send(b"]")
        return await writer.finish()
    except StreamCut:
        return writer.response


def _frame(data: Any, sse: bool, first: bool) -> bytes:
    if sse:
        return b"data: " + orjson.dumps(data) + b"\r\n\r\n"
    pretty = orjson.dumps(data, option=orjson.OPT_INDENT_2)
    return (b"[" if first else b",\r\n") + pretty + b"\n"
