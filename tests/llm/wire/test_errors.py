"""Upstream failures mapped to the client's error format."""

from __future__ import annotations

import anthropic
import openai
import orjson
import pytest

from lockgate.llm.wire.errors import (
    MAX_MESSAGE_CHARS,
    anthropic_error_type_for_error_object,
    error_type_for_status,
    extract_upstream_message,
    openai_error_type_for_status,
    upstream_error_to_anthropic,
    upstream_error_to_openai,
)


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, "invalid_request_error"), (401, "authentication_error"), (402, "billing_error"),
        (403, "permission_error"), (404, "not_found_error"), (413, "request_too_large"),
        (429, "rate_limit_error"), (500, "api_error"), (502, "api_error"), (504, "api_error"),
        (503, "overloaded_error"), (529, "overloaded_error"), (418, "invalid_request_error"),
        (422, "invalid_request_error"), (599, "api_error"), (302, "api_error"),
    ],
)  # fmt: skip
def test_error_type_for_status(status: int, error_type: str) -> None:
    assert error_type_for_status(status) == error_type


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(400, "invalid_request_error"), (401, "authentication_error"), (403, "permission_error"),
     (404, "not_found_error"), (413, "invalid_request_error"), (429, "rate_limit_error"),
     (500, "server_error"), (503, "server_error"), (409, "invalid_request_error")],
)  # fmt: skip
def test_openai_error_type_for_status(status: int, error_type: str) -> None:
    assert openai_error_type_for_status(status) == error_type


@pytest.mark.parametrize(
    ("body", "message"),
    [
        # OpenAI
        (b'{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}',
         "Incorrect API key provided"),
        # Anthropic
        (b'{"type":"error","error":{"type":"not_found_error","message":"model: claude-x"},"request_id":"req_1"}',
         "model: claude-x"),
        # Gemini
        (b'{"error":{"code":400,"message":"API key not valid.","status":"INVALID_ARGUMENT"}}', "API key not valid."),
        # Vertex AI wraps errors in a list
        (b'[{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}}]', "Quota exceeded"),
        # DashScope native: the code names the cause
        (b'{"code":"Arrearage","message":"Access denied, please make sure your account is in good standing.","request_id":"r"}',
         "Arrearage: Access denied, please make sure your account is in good standing."),
        (b'{"code":"InvalidParameter","message":"InvalidParameter: bad"}', "InvalidParameter: bad"),
        # DashScope compatible mode: OpenAI shape
        (b'{"error":{"message":"The model does not exist.","type":"invalid_request_error","code":"model_not_found"}}',
         "The model does not exist."),
        # HuggingFace / TGI
        (b'{"error":"Model is currently loading","error_type":"overloaded"}', "Model is currently loading"),
        # FastAPI (vLLM and others)
        (b'{"detail":"Not Found"}', "Not Found"),
        (b"upstream connect error or disconnect/reset before headers", "upstream connect error or disconnect/reset before headers"),
        (b"  \n", ""),
        (b"", ""),
        (b'"just a string"', "just a string"),
        (b"[1, 2]", "[1, 2]"),
        (b'{"unexpected": true}', '{"unexpected": true}'),
    ],
)  # fmt: skip
def test_extract_upstream_message(body: bytes, message: str) -> None:
    assert extract_upstream_message(body) == message


def test_html_error_page() -> None:
    page = (
        b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title><style>body{color:red}</style>"
        b"<script>var x = 1;</script></head><body><h1>Bad Gateway</h1>\n<p>The proxy got an &quot;invalid&quot; "
        b"response.</p></body></html>"
    )
    assert (
        extract_upstream_message(page)
        == '502 Bad Gateway Bad Gateway The proxy got an "invalid" response.'
    )


def test_long_messages_are_truncated() -> None:
    message = extract_upstream_message(b"x" * 10_000)
    assert len(message) == MAX_MESSAGE_CHARS and message.endswith("...")
    assert (
        len(extract_upstream_message(b"<html><body>" + b"word " * 5000 + b"</body></html>"))
        == MAX_MESSAGE_CHARS
    )


@pytest.mark.parametrize(
    ("error", "error_type"),
    [
        ({"type": "overloaded_error"}, "overloaded_error"),
        ({"type": "rate_limit_exceeded"}, "rate_limit_error"),
        ({"type": "tokens", "code": "rate_limit_exceeded"}, "rate_limit_error"),
        ({"type": "server_error"}, "api_error"),
        ({"code": 401, "message": "x"}, "authentication_error"),
        ({"code": 429, "status": "RESOURCE_EXHAUSTED"}, "rate_limit_error"),
        ({"status": "UNAVAILABLE"}, "overloaded_error"),
        ({"type": "weird"}, "api_error"),
        ({}, "api_error"),
    ],
)
def test_anthropic_error_type_for_error_object(error: dict[str, object], error_type: str) -> None:
    assert anthropic_error_type_for_error_object(error) == error_type


def test_to_anthropic_keeps_status_and_message() -> None:
    status, body = upstream_error_to_anthropic(
        401,
        b'{"error":{"message":"Bad key","type":"invalid_request_error","code":"invalid_api_key"}}',
    )
    assert status == 401
    assert body == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "Bad key"},
    }


def test_to_anthropic_keeps_an_anthropic_error_type() -> None:
    raw = b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
    assert upstream_error_to_anthropic(529, raw) == (
        529,
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    )
    raw = b'{"type":"error","error":{"type":"invalid_request_error","message":"bad"}}'
    assert upstream_error_to_anthropic(500, raw)[1]["error"]["type"] == "invalid_request_error"


def test_to_anthropic_unmapped_status_uses_the_body() -> None:
    raw = b'{"error":{"message":"too fast","type":"rate_limit_exceeded"}}'
    assert upstream_error_to_anthropic(420, raw)[1]["error"]["type"] == "rate_limit_error"
    assert upstream_error_to_anthropic(422, b"nope")[1]["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    "raw",
    [
        b'{"error":{"message":"This model\'s maximum context length is 128000 tokens. However, your messages resulted in 200000 tokens.","type":"invalid_request_error","code":"context_length_exceeded"}}',
        b'{"error":{"message":"Input too long","code":"context_length_exceeded"}}',
        b'{"object":"error","message":"This model\'s maximum context length is 32768 tokens.","type":"BadRequestError","code":400}',
    ],
)
def test_context_overflow_is_phrased_like_anthropic(raw: bytes) -> None:
    status, body = upstream_error_to_anthropic(400, raw)
    message = body["error"]["message"]
    assert status == 400 and message.startswith("prompt is too long: ")
    assert extract_upstream_message(raw) in message


def test_prompt_too_long_is_not_doubled() -> None:
    raw = b'{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}'
    assert (
        upstream_error_to_anthropic(400, raw)[1]["error"]["message"]
        == "prompt is too long: 210000 tokens > 200000 maximum"
    )


def test_empty_body_and_non_error_status() -> None:
    assert upstream_error_to_anthropic(503, b"") == (
        503,
        {
            "type": "error",
            "error": {"type": "overloaded_error", "message": "upstream returned HTTP 503"},
        },
    )
    status, body = upstream_error_to_anthropic(200, b"<html>ok</html>")
    assert status == 502 and body["error"]["type"] == "api_error"


def test_to_openai_keeps_an_openai_error() -> None:
    raw = b'{"error":{"message":"Invalid value","type":"invalid_request_error","param":"messages[0].role","code":"invalid_value"}}'
    assert upstream_error_to_openai(400, raw) == (
        400,
        {
            "error": {
                "message": "Invalid value",
                "type": "invalid_request_error",
                "param": "messages[0].role",
                "code": "invalid_value",
            }
        },
    )


@pytest.mark.parametrize(
    ("status", "raw", "expected"),
    [
        (529, b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
         (503, {"error": {"message": "Overloaded", "type": "server_error", "param": None, "code": None}})),
        (429, b'{"type":"error","error":{"type":"rate_limit_error","message":"Slow down"}}',
         (429, {"error": {"message": "Slow down", "type": "rate_limit_error", "param": None, "code": "rate_limit_exceeded"}})),
        (400, b'{"error":{"code":400,"message":"Bad schema","status":"INVALID_ARGUMENT"}}',
         (400, {"error": {"message": "Bad schema", "type": "invalid_request_error", "param": None, "code": None}})),
        (302, b"", (502, {"error": {"message": "upstream returned HTTP 502", "type": "server_error", "param": None, "code": None}})),
    ],
)  # fmt: skip
def test_to_openai(status: int, raw: bytes, expected: tuple[int, dict[str, object]]) -> None:
    assert upstream_error_to_openai(status, raw) == expected


@pytest.mark.parametrize(
    ("status", "exception"),
    [(400, anthropic.BadRequestError), (401, anthropic.AuthenticationError), (403, anthropic.PermissionDeniedError),
     (404, anthropic.NotFoundError), (429, anthropic.RateLimitError), (529, anthropic.InternalServerError),
     (503, anthropic.InternalServerError)],
)  # fmt: skip
def test_anthropic_sdk_reads_the_mapped_error(status: int, exception: type[Exception]) -> None:
    import httpx2

    mapped_status, body = upstream_error_to_anthropic(
        status, b'{"error":{"message":"upstream said no"}}'
    )

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(mapped_status, json=body)

    with httpx2.Client(transport=httpx2.MockTransport(handler)) as http:
        client = anthropic.Anthropic(
            api_key="k", base_url="http://t", http_client=http, max_retries=0
        )
        with pytest.raises(exception) as info:
            client.messages.create(
                model="m", max_tokens=1, messages=[{"role": "user", "content": "x"}]
            )
    assert "upstream said no" in str(info.value)
    assert info.value.body == body["error"] or info.value.body == body  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("status", "exception"),
    [(400, openai.BadRequestError), (401, openai.AuthenticationError), (429, openai.RateLimitError),
     (529, openai.InternalServerError)],
)  # fmt: skip
def test_openai_sdk_reads_the_mapped_error(status: int, exception: type[Exception]) -> None:
    import httpx2

    mapped_status, body = upstream_error_to_openai(
        status, orjson.dumps({"type": "error", "error": {"type": "x", "message": "nope"}})
    )

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(mapped_status, json=body)

    with httpx2.Client(transport=httpx2.MockTransport(handler)) as http:
        client = openai.OpenAI(api_key="k", base_url="http://t/v1", http_client=http, max_retries=0)
        with pytest.raises(exception) as info:
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert "nope" in str(info.value)
