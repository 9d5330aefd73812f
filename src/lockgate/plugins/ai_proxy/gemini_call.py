"""Gemini-format clients (``llm_format: gemini``, Kong 3.13; route_type
``llm/v1/chat``): what differs from the body-described formats.

- The operation and the model are in the path:
  ``.../models/{model}:generateContent``, ``:streamGenerateContent`` (SSE
  with ``alt=sse``, else one streamed JSON array) and ``:countTokens``; the
  body names no model. Vertex-style paths
  (``.../publishers/google/models/{model}:...``) are read the same way.
- The client's API key (``x-goog-api-key`` or ``?key=``) is never passed on:
  the upstream request is built from the configured credential, and the
  client's query string is not forwarded.
- Errors are Google's: ``{"error": {"code", "message", "status"}}``.
- Passthrough to Gemini (public API or Vertex) sends the client's bytes
  unchanged; the model goes into the URL.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import orjson

from lockgate.llm.wire.errors import extract_upstream_message
from lockgate.llm.wire.gemini import gemini_error_body, gemini_status
from lockgate.llm.wire.gemini_client import count_request, field
from lockgate.proxy.context import Exit

if TYPE_CHECKING:
    from lockgate.plugins.ai_proxy.exchange import AttemptFailed, ClientCall
    from lockgate.plugins.ai_proxy.target import Target

__all__ = [
    "gemini_client_error",
    "gemini_error_answer",
    "gemini_model_answer",
    "gemini_models_answer",
    "gemini_operation",
    "gemini_upstream_body",
    "gemini_upstream_failure",
]

_TARGET = re.compile(r"/models/([^/]+):([A-Za-z]+)$")  # model ids may hold ":" (Bedrock)
_METHODS = {
    "generateContent": "chat",
    "streamGenerateContent": "chat",
    "countTokens": "count_tokens",
}


def gemini_operation(path: str) -> tuple[str, str | None, bool]:
    """(operation, model, streamed) for a request path; operation ``models``
    for a listing, ``unknown`` for a method lockgate does not serve."""
    match = _TARGET.search(path)
    if match is None:
        if path.rstrip("/").endswith("/models"):
            return "models", None, False
        _, slash, name = path.rstrip("/").rpartition("/models/")
        if slash and name and "/" not in name:
            return "models", name, False  # GET .../models/{model}
        return "unknown", None, False
    model, method = match.group(1), match.group(2)
    operation = _METHODS.get(method, "unknown")
    return operation, model, method == "streamGenerateContent"


def gemini_client_error(status: int, message: str) -> Exit:
    return Exit(status, gemini_error_body(status, message, gemini_status(status)))


def gemini_error_answer(status: int, body: bytes) -> Exit:
    """An upstream's error for a Gemini client: Google's own error body as it
    came (with its details), any other provider's message in Google's shape."""
    try:
        parsed = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        parsed = None
    if isinstance(parsed, list) and parsed and isinstance(parsed[0], dict):
        parsed = parsed[0]  # a streamed JSON array that held only the error
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(error, dict) and isinstance(error.get("status"), str):
        return Exit(status, {"error": error})
    message = extract_upstream_message(body) if body else ""
    return gemini_client_error(status, message or f"the upstream answered {status}")


def _model(name: str) -> dict[str, Any]:
    return {
        "name": f"models/{name}",
        "baseModelId": name,
        "version": "001",
        "displayName": name,
        "supportedGenerationMethods": ["generateContent", "countTokens"],
    }


def gemini_models_answer(names: list[str]) -> Exit:
    """GET .../v1beta/models: the models this configuration serves, as Google lists them."""
    return Exit(200, {"models": [_model(n) for n in names]})


def gemini_model_answer(name: str) -> Exit:
    """GET .../v1beta/models/{model}: the model asked about (the provider says
    whether it exists when it is used)."""
    return Exit(200, _model(name))


def gemini_overrides(body: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """The configured tuning values, in generationConfig (``max_tokens`` is a ceiling)."""
    if not overrides:
        return body
    config = dict(field(body, "generationConfig") or {})
    body = {k: v for k, v in body.items() if k != "generation_config"}
    names = {"temperature": "temperature", "top_p": "topP", "top_k": "topK"}
    for key, value in overrides.items():
        if key == "max_tokens":
            asked = config.get("maxOutputTokens", config.pop("max_output_tokens", None))
            if not isinstance(asked, int) or isinstance(asked, bool) or asked > value:
                config["maxOutputTokens"] = value
        elif key in names:
            config[names[key]] = value
    body["generationConfig"] = config
    return body


def gemini_passthrough_body(
    target: Target, raw: bytes, parsed: dict[str, Any], model: str
) -> bytes:
    """The body sent to Gemini for a Gemini client: its bytes unchanged unless
    something configured must change them (the model is in the URL)."""
    provider = target.provider
    if (
        not target.overrides
        and not provider.body_credentials()
        and not provider.output_over_limit(parsed, model)
    ):
        return raw
    body = gemini_overrides(dict(parsed), target.overrides)
    body = provider.prepare_chat(body, model)
    body.update(provider.body_credentials())
    return orjson.dumps(body)


def gemini_count_body(target: Target, raw: bytes, parsed: dict[str, Any], model: str) -> bytes:
    """A Gemini client's countTokens body for Gemini: Vertex takes the fields
    at the top level, the public API also the wrapped form with the model named."""
    inner = field(parsed, "generateContentRequest")
    if not isinstance(inner, dict):
        return raw
    if getattr(target.provider, "vertex", False):
        return orjson.dumps({k: v for k, v in inner.items() if k != "model"})
    return orjson.dumps({"generateContentRequest": {**inner, "model": f"models/{model}"}})


def gemini_upstream_failure(failure: AttemptFailed, back_off: dict[str, str]) -> Exit:
    """The answer when no (further) target can be tried, with the back-off headers."""
    if failure.criterion in ("error", "timeout"):
        status = 504 if failure.criterion == "timeout" else 502
        return gemini_client_error(status, f"upstream LLM provider failed: {failure.message}")
    answer = gemini_error_answer(failure.status, failure.body)
    answer.headers.update(back_off)
    return answer


def gemini_upstream_body(
    target: Target, call: ClientCall, parsed: dict[str, Any], model: str
) -> tuple[bytes | None, dict[str, Any]]:
    """(the upstream body, None) for a Gemini client's call; for a token count
    on a provider that is not Gemini, (None, the count as an Anthropic body)
    for the gateway's own counting path."""
    conv = target.conversion
    if call.operation == "count_tokens":
        if conv.passthrough:
            return gemini_count_body(target, call.raw, parsed, model), parsed
        return None, count_request(parsed, model)
    if conv.passthrough:
        return gemini_passthrough_body(target, call.raw, parsed, model), parsed
    # The method called says whether to stream; the decoder reads it from the body.
    body = {**gemini_overrides(parsed, target.overrides), "stream": call.stream}
    assert conv.request is not None
    body = conv.request(body, model)
    if conv.upstream not in ("gemini", "bedrock"):  # their URL names the model
        body["model"] = model
    body = target.provider.prepare_chat(body, model)
    body.update(target.provider.body_credentials())
    return orjson.dumps(body), parsed
