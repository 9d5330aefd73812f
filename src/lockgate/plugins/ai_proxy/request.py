"""Reading the client's request: which operation, which model, streaming or not.

Shared by ai-proxy and ai-proxy-advanced; errors are answered in the
client's own format.
"""

from __future__ import annotations

from typing import Any

import orjson

from lockgate.llm.wire.gemini_client import gemini_request_problem
from lockgate.llm.wire.openai import openai_error_body
from lockgate.llm.wire.request_checks import anthropic_request_problem, openai_request_problem
from lockgate.llm.wire.responses_checks import responses_request_problem
from lockgate.plugins.ai_proxy.exchange import ClientCall, client_error
from lockgate.plugins.ai_proxy.gemini_call import (
    gemini_model_answer,
    gemini_models_answer,
    gemini_operation,
)
from lockgate.proxy.context import Exit, RequestContext

__all__ = ["models_answer", "parse_call"]


def operation_for(path: str, route_type: str) -> str:
    if path.endswith("/count_tokens"):
        return "count_tokens"
    if route_type == "llm/v1/embeddings" or path.endswith("/embeddings"):
        return "embeddings"
    if path.endswith("/models") or "/models/" in path.rsplit("/v1", 1)[-1]:
        return "models"
    return "chat"


#: Paths of the Responses API that are not a new response.
_RESPONSES_ELSEWHERE = ("/input_tokens", "/cancel")


async def parse_call(
    ctx: RequestContext, client_format: str, route_type: str, max_body: int, streaming_policy: str
) -> ClientCall | None:
    """None when the request is not a model call (HEAD probes, model listing) and was answered."""
    request = ctx.request
    path_model: str | None = None
    path_stream = False
    if client_format == "gemini":
        operation, path_model, path_stream = gemini_operation(request.path)
    else:
        operation = operation_for(request.path, route_type)
    if request.method in ("HEAD", "OPTIONS"):
        raise Exit(200, b"", {"Content-Type": "application/json"})
    if request.method == "GET":
        if operation == "models" and path_model is not None:
            raise gemini_model_answer(path_model)
        if operation == "models":
            return None
        raise client_error(
            client_format,
            405,
            f"{request.method} is not supported here: send POST requests to this route",
        )
    if client_format == "responses" and request.path.endswith(_RESPONSES_ELSEWHERE):
        # Sub-resources of the Responses API (token counting, cancelling) are
        # not generations: they must not be sent on as one.
        raise client_error(
            client_format,
            404,
            f"{request.path} is not served here: lockgate serves POST .../v1/responses",
        )
    if operation == "unknown" or (client_format == "gemini" and operation == "models"):
        raise client_error(
            client_format,
            404,
            f"{request.path} is not served here: expected .../models/{{model}}:generateContent, "
            ":streamGenerateContent or :countTokens",
        )
    try:
        raw = await ctx.read_body(max_body)
    except Exit as exc:
        if exc.status == 413:
            raise client_error(
                client_format,
                413,
                f"request body is larger than the {max_body} bytes this route accepts (max_request_body_size)",
                "request_too_large" if client_format == "anthropic" else None,
            ) from exc
        raise
    if not raw:
        raise client_error(client_format, 400, "request body is empty: expected a JSON object")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise client_error(client_format, 400, f"request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise client_error(client_format, 400, "request body must be a JSON object")
    if client_format == "gemini":
        problem = gemini_request_problem(body, counting=operation == "count_tokens")
        if problem is not None:
            raise client_error(client_format, 400, problem)
    elif operation in ("chat", "count_tokens"):
        _check_shape(client_format, body)
    stream = (
        path_stream if client_format == "gemini" else bool(body.get("stream"))
    ) and operation == "chat"
    if stream and streaming_policy == "deny":
        raise client_error(client_format, 400, "response streaming is not enabled for this LLM")
    if (
        operation == "chat"
        and streaming_policy == "always"
        and not body.get("stream")
        and client_format != "gemini"  # its answer's shape is chosen by the method called
    ):
        body = {**body, "stream": True}
        raw = orjson.dumps(body)
        stream = True
    include_usage = (
        bool((body.get("stream_options") or {}).get("include_usage"))
        if client_format == "openai"
        else False
    )
    model = path_model if client_format == "gemini" else body.get("model")
    return ClientCall(
        operation=operation,
        body=body,
        raw=raw,
        stream=stream,
        requested_model=model if isinstance(model, str) and model else None,
        client_format=client_format,
        include_usage=include_usage,
        request_id=ctx.request_id,
        started_at=ctx.started_at,
    )


def _check_shape(client_format: str, body: dict[str, Any]) -> None:
    """A malformed body gets the 400 the client's own API would give, before
    any translation could turn it into a provider's puzzling answer."""
    if client_format == "anthropic":
        problem = anthropic_request_problem(body)
        if problem is not None:
            raise client_error(client_format, 400, problem.message)
    elif client_format in ("openai", "responses"):
        problem = (
            openai_request_problem(body)
            if client_format == "openai"
            else responses_request_problem(body)
        )
        if problem is not None:
            raise Exit(
                400,
                openai_error_body(
                    problem.message, "invalid_request_error", problem.code, problem.param
                ),
            )


def models_answer(client_format: str, names: list[str]) -> Exit:
    """GET .../v1/models: the models this configuration serves."""
    if client_format == "gemini":
        return gemini_models_answer(names)
    if client_format == "anthropic":
        data: list[dict[str, Any]] = [
            {"type": "model", "id": n, "display_name": n, "created_at": "2025-01-01T00:00:00Z"}
            for n in names
        ]
        return Exit(
            200,
            {
                "data": data,
                "has_more": False,
                "first_id": names[0] if names else None,
                "last_id": names[-1] if names else None,
            },
        )
    return Exit(
        200,
        {
            "object": "list",
            "data": [
                {"id": n, "object": "model", "created": 0, "owned_by": "lockgate"} for n in names
            ],
        },
    )
