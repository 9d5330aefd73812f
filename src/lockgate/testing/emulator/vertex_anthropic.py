"""Claude on Vertex AI: ``publishers/anthropic/models/{model}:rawPredict``,
``:streamRawPredict`` and ``count-tokens:rawPredict``.

Google's front checks the OAuth token as for Gemini on Vertex (same errors);
Anthropic's API behind it wants ``anthropic_version`` (``vertex-2023-10-16``)
in the body and no ``model`` (the URL names it; count-tokens keeps it in the
body), refuses the ``anthropic-beta`` values Vertex does not offer, and
otherwise answers as Anthropic's Messages API does, which is the Anthropic
emulator's code.
"""

from __future__ import annotations

import secrets
from typing import Any

import orjson
from aiohttp import web

from . import anthropic
from .anthropic_validate import validate_messages
from .gemini import Call, _authorize_vertex
from .gemini_validate import google_error
from .responses import ApiError
from .state import STATE, EmulatorState

__all__ = ["PATH", "rawpredict_handler"]

PATH = "/{version:v1|v1beta1}/projects/{project}/locations/{location}/publishers/anthropic/models/{target}"
VERSION = "vertex-2023-10-16"
#: What Vertex's Claude endpoints accept in ``anthropic-beta`` (kept apart
#: from the gateway's list on purpose: the emulator is the second opinion).
ACCEPTED_BETAS = frozenset(
    (
        "compact-2026-01-12",
        "compact-2026-09-04",
        "computer-use-2025-01-24",
        "computer-use-2025-11-24",
        "context-1m-2025-08-07",
        "context-management-2025-06-27",
        "dangerous-tool-use-2026-09-03",
        "interleaved-thinking-2025-05-14",
        "per-turn-control-2026-07-01",
        "thinking-binding-controls-2026-08-01",
        "thinking-display-updates-2026-08-18",
        "tool-search-tool-2025-10-19",
    )
)


def _error(status: int, type_: str, message: str) -> ApiError:
    request_id = "req_vrtx_011C" + secrets.token_urlsafe(18).replace("-", "a").replace("_", "b")
    body = {"type": "error", "error": {"type": type_, "message": message}, "request_id": request_id}
    return ApiError(status, body, {"request-id": request_id})


def _betas(request: web.Request) -> set[str]:
    betas = [b.strip() for b in request.headers.get("anthropic-beta", "").split(",") if b.strip()]
    refused = [b for b in betas if b not in ACCEPTED_BETAS]
    if refused:
        named = ", ".join(f"`{b}`" for b in refused)
        raise _error(
            400,
            "invalid_request_error",
            f"Unexpected value(s) {named} for the `anthropic-beta` header. Please consult our "
            "documentation at docs.anthropic.com or try again without the header.",
        )
    return set(betas)


async def _body(request: web.Request, counting: bool) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError as exc:
        raise _error(
            400,
            "invalid_request_error",
            "There was an error parsing the body of your request: invalid JSON",
        ) from exc
    if not isinstance(body, dict):
        raise _error(400, "invalid_request_error", "Input should be a valid dictionary")
    version = body.get("anthropic_version")
    if version is None:
        raise _error(400, "invalid_request_error", "anthropic_version: Field required")
    if version != VERSION and version not in anthropic.VERSIONS:
        # The documented value is vertex-2023-10-16; the official SDK (2.x)
        # puts its first-party API version there, so those pass as well.
        raise _error(
            400, "invalid_request_error", f"anthropic_version: Input should be '{VERSION}'"
        )
    if not counting and "model" in body:
        raise _error(400, "invalid_request_error", "model: Extra inputs are not permitted")
    return body


async def rawpredict_handler(request: web.Request) -> web.StreamResponse:
    state: EmulatorState = request.app[STATE]
    model, _, action = request.match_info["target"].partition(":")
    call = Call(True, model, action, request.match_info["project"], request.match_info["location"])
    counting = model == "count-tokens"
    try:
        _authorize_vertex(request, state, call)
        if action not in ("rawPredict", "streamRawPredict") or (
            counting and action != "rawPredict"
        ):
            raise google_error(404, "NOT_FOUND", f"Method not found: {action}")
        if not model.startswith("claude-") and not counting:
            raise google_error(
                404,
                "NOT_FOUND",
                f"Publisher Model `projects/{call.project}/locations/{call.location}/publishers/"
                f"anthropic/models/{model}` not found.",
            )
        betas = _betas(request)
        body = await _body(request, counting)
        del body["anthropic_version"]
        if not counting:
            # The Messages checks and answers of the Anthropic emulator, model from the URL.
            body = {"model": model, **body}
        names = validate_messages(body, betas, state.thinking_secret, counting)
    except ApiError as err:
        if isinstance(err.body, dict) and err.body.get("type") == "error":
            # Anthropic's own refusals, with Vertex's request ids.
            err = _error(err.status, err.body["error"]["type"], err.body["error"]["message"])
        return err.response()
    if counting:
        return anthropic.answer_count(body)
    return await anthropic.answer_messages(request, state, body, names)
