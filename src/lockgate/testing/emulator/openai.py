"""OpenAI Chat Completions, Embeddings and Models, and the base every
OpenAI-compatible emulator (HuggingFace router, DashScope) builds on.

:class:`ChatProfile` is OpenAI itself; a compatible service subclasses it and
overrides only what differs (auth errors, error envelope, model rules,
reasoning output). The request flow, response shapes and stream framing are
written once here.
"""

from __future__ import annotations

import array
import asyncio
import base64
import hashlib
import math
import re
import secrets
import time
from typing import Any

import orjson
from aiohttp import web

from lockgate.llm.providers.models import model_facts

from .context_windows import context_window, overflow_tokens
from .openai_validate import ChatRules, validate_chat
from .rate_limits import REQUESTS_PER_MINUTE, RETRY_AFTER, openai_headers
from .responses import ApiError, json_response
from .script import (
    Reply,
    Script,
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

__all__ = [
    "ChatProfile",
    "OpenAIProfile",
    "bearer",
    "chat_handler",
    "embeddings_handler",
    "extract_turn",
    "mask_key",
    "models_handler",
]

_REASONING_MODEL = re.compile(r"^(gpt-5(?!-chat)|o1|o3|o4)")
_CHAT_MODEL = re.compile(r"^(gpt-|o1|o3|o4|chatgpt-|ft:|codex-|computer-use-)")
_EFFORT_TOKENS = {"none": 0, "minimal": 16, "low": 64, "medium": 128, "high": 256, "xhigh": 512}
_EMBEDDING_DIMS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
_PARSE_ERROR = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
    "HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. "
    "If you have trouble figuring out how to fix this, please contact us through our help center at "
    "help.openai.com.)"
)
_NO_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header using "
    "Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) "
    "if you're accessing the API from your browser and are prompted for a username and password. You "
    "can obtain an API key from https://platform.openai.com/account/api-keys."
)


def bearer(request: web.Request) -> str:
    auth = request.headers.get("Authorization", "")
    return auth[7:].strip() if auth[:7].lower() == "bearer " else ""


def mask_key(key: str) -> str:
    return key[:3] + "*" * max(len(key) - 7, 1) + key[-4:] if len(key) > 8 else "*" * len(key)


class ChatProfile:
    """OpenAI's behaviour; compatible services override the differences."""

    name = "openai"
    rules = ChatRules()
    obfuscation = True

    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    # -- errors ------------------------------------------------------------
    def error(
        self,
        status: int,
        message: str,
        type_: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> ApiError:
        body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
        return ApiError(status, body, headers)

    def bad_request(self, message: str, param: str | None, code: str | None) -> ApiError:
        return self.error(400, message, "invalid_request_error", param, code)

    def parse_error(self) -> ApiError:
        return self.error(400, _PARSE_ERROR)

    def failure(self, status: int, model: str) -> ApiError:
        """The body a real outage or limit would produce (``[[fail N]]``)."""
        if status == 429:
            return self.error(
                429,
                f"Rate limit reached for {model} in organization org-emulator on requests per min "
                f"(RPM): Limit {REQUESTS_PER_MINUTE}, Used {REQUESTS_PER_MINUTE}, Requested 1. "
                f"Please try again in {RETRY_AFTER}s. Visit "
                "https://platform.openai.com/account/rate-limits to learn more.",
                "requests",
                None,
                "rate_limit_exceeded",
                {"retry-after": "1", "x-ratelimit-remaining-requests": "0"},
            )
        if status >= 500:
            message = {
                500: "The server had an error while processing your request. Sorry about that!",
                503: "The engine is currently overloaded, please try again later.",
            }.get(status, "The server is overloaded or not ready yet.")
            return self.error(status, message, "server_error")
        return self.error(status, f"Emulated error with status {status}.")

    def context_overflow(self, body: dict[str, Any], prompt: int, window: int) -> ApiError:
        """The error for a prompt longer than the model's window."""
        return self.error(
            400,
            f"This model's maximum context length is {window} tokens. However, your messages "
            f"resulted in {prompt} tokens. Please reduce the length of the messages.",
            "invalid_request_error",
            "messages",
            "context_length_exceeded",
        )

    def stream_failure(self, status: int, model: str) -> dict[str, Any]:
        body = self.failure(status, model).body
        assert isinstance(body, dict)
        return body

    # -- auth and request rules ---------------------------------------------
    def authenticate(self, request: web.Request) -> None:
        key = bearer(request)
        if not key:
            raise self.error(401, _NO_KEY)
        if not self.state.key_accepted(self.name, key):
            raise self.error(
                401,
                f"Incorrect API key provided: {mask_key(key)}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                code="invalid_api_key",
            )

    def check_model(self, model: str) -> None:
        if model.startswith(("text-embedding-", "davinci", "babbage")):
            raise self.error(
                404,
                "This is not a chat model and thus not supported in the v1/chat/completions "
                "endpoint. Did you mean to use v1/completions?",
            )
        if not _CHAT_MODEL.match(model):
            raise self.error(
                404,
                f"The model `{model}` does not exist or you do not have access to it.",
                code="model_not_found",
            )

    def is_reasoning(self, model: str) -> bool:
        """Reasoning models (max_completion_tokens only, default sampling),
        from the table of model facts; by name for models it does not know."""
        facts = model_facts("openai", model)
        if facts is not None:
            return facts.reasoning == "effort"
        return bool(_REASONING_MODEL.match(model))

    def check_body(self, body: Any) -> None:
        """Rules a compatible service checks before OpenAI's (its own schema)."""
        return None

    def name_calls(self, reply: Reply) -> None:
        """Give the reply's tool calls ids in the service's own form (OpenAI's are kept)."""
        return None

    def always_streams_usage(self) -> bool:
        """Whether the last chunk of a stream carries usage without ``stream_options``."""
        return False

    def check_params(self, body: dict[str, Any]) -> None:
        """Reasoning models' restrictions, in OpenAI's words."""
        model = body["model"]
        if not self.is_reasoning(model):
            if body.get("reasoning_effort") is not None:
                raise self.bad_request(
                    "Unrecognized request argument supplied: reasoning_effort", None, None
                )
            return
        if body.get("max_tokens") is not None:
            raise self.bad_request(
                "Unsupported parameter: 'max_tokens' is not supported with this model. "
                "Use 'max_completion_tokens' instead.",
                "max_tokens",
                "unsupported_parameter",
            )
        for name in ("temperature", "top_p"):
            value = body.get(name)
            if value is not None and value != 1:
                raise self.bad_request(
                    f"Unsupported value: '{name}' does not support {value} with this model. "
                    "Only the default (1) value is supported.",
                    name,
                    "unsupported_value",
                )
        for name in (
            "presence_penalty",
            "frequency_penalty",
            "logprobs",
            "top_logprobs",
            "logit_bias",
        ):
            if body.get(name) not in (None, 0, False):
                raise self.bad_request(
                    f"Unsupported parameter: '{name}' is not supported with this model.",
                    name,
                    "unsupported_parameter",
                )
        effort = body.get("reasoning_effort")
        allowed = self.efforts(model)
        if effort is not None and effort not in allowed:
            quoted = ", ".join(f"'{e}'" for e in allowed[:-1]) + f", and '{allowed[-1]}'"
            raise self.bad_request(
                f"Invalid value: '{effort}'. Supported values are: {quoted}.",
                "reasoning_effort",
                "invalid_value",
            )

    def check_output_limit(self, body: dict[str, Any]) -> None:
        """The model's output limit, from the gateway's own table of model facts."""
        facts = model_facts(self.name, body["model"])
        limit = facts.max_output if facts is not None else None
        if limit is None:
            return
        for param in ("max_completion_tokens", "max_tokens"):
            value = body.get(param)
            if isinstance(value, int) and value > limit:
                raise self.bad_request(
                    f"{param} is too large: {value}. This model supports at most {limit} "
                    f"completion tokens, whereas you provided {value}.",
                    param,
                    "invalid_value",
                )

    @staticmethod
    def efforts(model: str) -> tuple[str, ...]:
        if model.startswith("gpt-5."):
            return ("none", "low", "medium", "high", "xhigh")
        if model.startswith("gpt-5"):
            return ("minimal", "low", "medium", "high")
        return ("low", "medium", "high")

    # -- output ----------------------------------------------------------------
    def thinks(self, body: dict[str, Any], script: Script) -> bool:
        """Whether visible reasoning (``reasoning_content``) is produced."""
        return False

    def hidden_reasoning(self, body: dict[str, Any]) -> int:
        """Reasoning tokens billed but not shown (OpenAI's reasoning models)."""
        if not self.is_reasoning(body["model"]):
            return 0
        return _EFFORT_TOKENS.get(body.get("reasoning_effort") or "medium", 128)

    def usage(self, prompt: int, completion: int, cached: int, reasoning: int) -> dict[str, Any]:
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": reasoning,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }

    def cached_tokens(self, body: dict[str, Any]) -> int:
        cache = self.state.cache(self.name, minimum=1024, granularity=128)
        return cache.automatic(body["model"], [body.get("tools"), *body["messages"]])

    def headers(self) -> dict[str, str]:
        return {
            "x-request-id": "req_" + secrets.token_hex(16),
            "openai-processing-ms": "12",
            "openai-version": "2020-10-01",
        }

    def envelope(self) -> dict[str, Any]:
        """Top-level fields every completion object and chunk carries."""
        return {"service_tier": "default", "system_fingerprint": None}

    def message_extras(self, reply: Reply) -> dict[str, Any]:
        return {"refusal": None, "annotations": []}


class OpenAIProfile(ChatProfile):
    """OpenAI itself: rate-limit headers on every answer, ``retry-after`` on a 429 or 503."""

    def headers(self) -> dict[str, str]:
        return {**super().headers(), **openai_headers()}

    def failure(self, status: int, model: str) -> ApiError:
        err = super().failure(status, model)
        err.headers = {**err.headers, **openai_headers(status)}
        return err


# -- the request flow ------------------------------------------------------------


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(p.get("text", ""))
            for p in content
            if isinstance(p, dict) and p.get("type") == "text"
        )
    return ""


def extract_turn(
    profile: ChatProfile, body: dict[str, Any], tool_names: set[str]
) -> tuple[Turn, Script]:
    """The last user turn: every user and tool message after the last assistant one."""
    texts: list[str] = []
    results: list[str] = []
    for msg in reversed(body["messages"]):
        role = msg.get("role")
        if role == "assistant":
            break
        if role == "user":
            texts.insert(0, _text_of(msg.get("content")))
        elif role == "tool":
            results.insert(0, _text_of(msg.get("content")))
    text = "\n".join(texts)
    fmt = body.get("response_format") or {}
    schema = None
    if fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema") or {}
    turn = Turn(
        provider=profile.name,
        model=body["model"],
        user_text=text,
        tool_results=results,
        tool_names=tool_names,
        json_schema=schema,
        json_object=fmt.get("type") == "json_object",
    )
    return turn, parse_script(text, profile.name, body["model"])


async def chat_handler(request: web.Request, profile: ChatProfile) -> web.StreamResponse:
    try:
        profile.authenticate(request)
        raw = await request.read()
        try:
            body = orjson.loads(raw)
        except ValueError as exc:
            raise profile.parse_error() from exc
        profile.check_body(body)
        tool_names = validate_chat(profile.rules, profile.bad_request, body)
        profile.check_model(body["model"])
        profile.check_params(body)
        profile.check_output_limit(body)
        turn, script = extract_turn(profile, body, tool_names)
        prompt = json_tokens([body.get("tools"), body["messages"]])
        window = context_window(profile.name, body["model"])
        overflow = overflow_tokens(script.overflow, prompt, window)
        if overflow is not None:
            raise profile.context_overflow(body, overflow, window)
        if script.sleep:
            await asyncio.sleep(script.sleep)
        stream = bool(body.get("stream"))
        if script.fail is not None and (script.fail_after is None or not stream):
            raise profile.failure(script.fail, body["model"])
    except ApiError as err:
        return _with_headers(err.response(), profile.headers())
    if script.cut is not None and not stream:
        return cut_before_answer(request)
    reply = plan_reply(turn, script)
    profile.name_calls(reply)
    if script.think and profile.thinks(body, script):
        reply.thinking = thinking_text(script.text)
    hidden = profile.hidden_reasoning(body)
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    stop = body.get("stop")
    stops = [stop] if isinstance(stop, str) else stop if isinstance(stop, list) else None
    if limit is not None and hidden >= limit:
        hidden, reply = limit, Reply(finish="length")
    else:
        reply = apply_limits(reply, None if limit is None else limit - hidden, stops)
    completion = hidden + count_tokens(reply.text) + count_tokens(reply.thinking or "")
    completion += sum(count_tokens(c.name + c.arguments_json) for c in reply.tool_calls)
    reasoning = hidden + count_tokens(reply.thinking or "")
    usage = profile.usage(prompt, completion, profile.cached_tokens(body), reasoning)
    if stream:
        return await _stream(request, profile, body, reply, usage, script)
    return json_response(_completion(profile, body, reply, usage), headers=profile.headers())


def _with_headers(response: web.Response, headers: dict[str, str]) -> web.Response:
    for key, value in headers.items():
        response.headers.setdefault(key, value)
    return response


def _finish(reply: Reply) -> str:
    return {"length": "length", "tool_calls": "tool_calls"}.get(reply.finish, "stop")


def _tool_calls(reply: Reply) -> list[dict[str, Any]]:
    return [
        {
            "id": c.id,
            "type": "function",
            "function": {"name": c.name, "arguments": c.arguments_json},
        }
        for c in reply.tool_calls
    ]


def _completion(
    profile: ChatProfile, body: dict[str, Any], reply: Reply, usage: dict[str, Any]
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": reply.text if not reply.tool_calls else None,
    }
    if reply.thinking:
        message["reasoning_content"] = reply.thinking
    if reply.tool_calls:
        message["tool_calls"] = _tool_calls(reply)
    message.update(profile.message_extras(reply))
    choices = [
        {"index": i, "message": message, "logprobs": None, "finish_reason": _finish(reply)}
        for i in range(int(body.get("n") or 1))
    ]
    return {
        "id": "chatcmpl-" + secrets.token_urlsafe(21),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body["model"],
        "choices": choices,
        "usage": usage,
        **profile.envelope(),
    }


async def _stream(
    request: web.Request,
    profile: ChatProfile,
    body: dict[str, Any],
    reply: Reply,
    usage: dict[str, Any],
    script: Script,
) -> web.StreamResponse:
    options = body.get("stream_options") or {}
    include_usage = bool(options.get("include_usage"))
    obfuscate = profile.obfuscation and options.get("include_obfuscation", True)
    base = {
        "id": "chatcmpl-" + secrets.token_urlsafe(21),
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body["model"],
        **profile.envelope(),
    }

    def chunk(delta: dict[str, Any], finish: str | None = None, last_usage: Any = None) -> bytes:
        data: dict[str, Any] = {
            **base,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if include_usage:
            data["usage"] = None
        if last_usage is not None:
            data["usage"] = last_usage
        if obfuscate:
            data["obfuscation"] = secrets.token_urlsafe(6)
        return _frame(data)

    frames = [chunk({"role": "assistant", "content": "", **profile.message_extras(reply)})]
    for piece in split_chunks(reply.thinking or "", None):
        frames.append(chunk({"reasoning_content": piece}))
    for piece in split_chunks(reply.text, script.chunks):
        frames.append(chunk({"content": piece}))
    for index, call in enumerate(reply.tool_calls):
        head = {
            "index": index,
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        frames.append(chunk({"tool_calls": [head]}))
        for frag in split_fragments(call.arguments_json):
            frames.append(
                chunk({"tool_calls": [{"index": index, "function": {"arguments": frag}}]})
            )
    unasked = usage if profile.always_streams_usage() and not include_usage else None
    frames.append(chunk({}, _finish(reply), unasked))
    if include_usage:
        frames.append(_frame({**base, "choices": [], "usage": usage}))
    frames.append(b"data: [DONE]\n\n")
    writer = await FrameWriter.open(
        request, "text/event-stream; charset=utf-8", profile.headers(), script.slow_ms, script.cut
    )
    try:
        for i, frame in enumerate(frames):
            if script.fail is not None and script.fail_after is not None and i == script.fail_after:
                await writer.send(_frame(profile.stream_failure(script.fail, body["model"])))
                return await writer.finish()
            await writer.send(frame)
        return await writer.finish()
    except StreamCut:
        return writer.response


def _frame(data: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(data) + b"\n\n"


# -- embeddings and models -------------------------------------------------------


def _vector(text: str, dims: int) -> list[float]:
    digest = hashlib.shake_256(text.encode()).digest(dims * 2)
    raw = [
        int.from_bytes(digest[i : i + 2], "little") / 32767.5 - 1.0 for i in range(0, dims * 2, 2)
    ]
    norm = math.sqrt(sum(v * v for v in raw)) or 1.0
    return [v / norm for v in raw]


async def embeddings_handler(request: web.Request) -> web.Response:
    profile = OpenAIProfile(request.app[STATE])
    try:
        profile.authenticate(request)
        try:
            body = orjson.loads(await request.read())
        except ValueError as exc:
            raise profile.parse_error() from exc
        if not isinstance(body, dict):
            raise profile.parse_error()
        unknown = [
            k for k in body if k not in ("input", "model", "encoding_format", "dimensions", "user")
        ]
        if unknown:
            raise profile.bad_request(
                f"Unrecognized request argument supplied: {', '.join(unknown)}", None, None
            )
        model = body.get("model")
        if not model:
            raise profile.bad_request("you must provide a model parameter", None, None)
        if model not in _EMBEDDING_DIMS:
            raise profile.error(
                404,
                f"The model `{model}` does not exist or you do not have access to it.",
                code="model_not_found",
            )
        inputs = body.get("input")
        if isinstance(inputs, str) or (
            isinstance(inputs, list) and inputs and isinstance(inputs[0], int)
        ):
            inputs = [inputs]
        if not isinstance(inputs, list) or not inputs or any(i in ("", []) for i in inputs):
            raise profile.bad_request(
                "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
                None,
                None,
            )
        dims = _EMBEDDING_DIMS[model]
        if body.get("dimensions") is not None:
            if model == "text-embedding-ada-002":
                raise profile.bad_request(
                    "This model does not support specifying dimensions.", None, None
                )
            if not isinstance(body["dimensions"], int) or not 1 <= body["dimensions"] <= dims:
                raise profile.bad_request(
                    f"Invalid 'dimensions': expected a value between 1 and {dims}.",
                    "dimensions",
                    "invalid_value",
                )
            dims = body["dimensions"]
        fmt = body.get("encoding_format") or "float"
        if fmt not in ("float", "base64"):
            raise profile.bad_request(
                f"Invalid value: '{fmt}'. Supported values are: 'float' and 'base64'.",
                "encoding_format",
                "invalid_value",
            )
    except ApiError as err:
        return err.response()
    data = []
    tokens = 0
    for i, item in enumerate(inputs):
        text = item if isinstance(item, str) else " ".join(str(t) for t in item)
        tokens += count_tokens(text) if isinstance(item, str) else len(item)
        vec = _vector(text, dims)
        emb: Any = (
            vec if fmt == "float" else base64.b64encode(array.array("f", vec).tobytes()).decode()
        )
        data.append({"object": "embedding", "index": i, "embedding": emb})
    body_out = {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
    return json_response(body_out, headers=profile.headers())


OPENAI_MODELS = (
    "gpt-5",
    "gpt-5-mini",
    "gpt-5-nano",
    "gpt-4.1",
    "gpt-4o",
    "gpt-4o-mini",
    "o3",
    "o4-mini",
    "text-embedding-3-small",
)


async def models_handler(request: web.Request) -> web.Response:
    profile = OpenAIProfile(request.app[STATE])
    try:
        profile.authenticate(request)
    except ApiError as err:
        return err.response()
    data = [
        {"id": m, "object": "model", "created": 1700000000, "owned_by": "system"}
        for m in OPENAI_MODELS
    ]
    return json_response({"object": "list", "data": data}, headers=profile.headers())
