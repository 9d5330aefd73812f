"""Context overflows, in each provider's real wording, reach Claude Code as
Anthropic's ``prompt is too long`` and OpenAI clients as
``context_length_exceeded``."""

from __future__ import annotations

import orjson
import pytest

from lockgate.llm.wire.context_overflow import find_context_overflow
from lockgate.llm.wire.errors import upstream_error_to_anthropic, upstream_error_to_openai

# (provider, status, body as the provider sends it, expected Anthropic message start)
CASES = [
    (
        "openai",
        400,
        {
            "error": {
                "message": "This model's maximum context length is 128000 tokens. However, your "
                "messages resulted in 130512 tokens. Please reduce the length of the messages.",
                "type": "invalid_request_error",
                "param": "messages",
                "code": "context_length_exceeded",
            }
        },
        "prompt is too long: 130512 tokens > 128000 maximum (upstream: This model's",
    ),
    (
        "openai-new-wording",
        400,
        {
            "error": {
                "message": "Your input exceeds the context window of this model. Please adjust "
                "your input and try again.",
                "type": "invalid_request_error",
                "param": "input",
                "code": "context_length_exceeded",
            }
        },
        "prompt is too long: Your input exceeds the context window",
    ),
    (
        "gemini",
        400,
        {
            "error": {
                "code": 400,
                "message": "The input token count (1200293) exceeds the maximum number of tokens "
                "allowed (1048576).",
                "status": "INVALID_ARGUMENT",
            }
        },
        "prompt is too long: 1200293 tokens > 1048576 maximum (upstream: The input token count",
    ),
    (
        "vertex-stream",
        400,
        [
            {
                "error": {
                    "code": 400,
                    "message": "The input token count exceeds the maximum number of tokens "
                    "allowed (1048576).",
                    "status": "INVALID_ARGUMENT",
                }
            }
        ],
        "prompt is too long: the input exceeds the 1048576 token maximum (upstream:",
    ),
    (
        "dashscope",
        400,
        {
            "error": {
                "code": "invalid_parameter_error",
                "param": None,
                "message": "<400> InternalError.Algo.InvalidParameter: Range of input length "
                "should be [1, 129024]",
                "type": "invalid_request_error",
            },
            "request_id": "81a373d6-28bd-9968-8335-e22a2127c41b",
        },
        "prompt is too long: the input exceeds the 129024 token maximum (upstream: <400>",
    ),
    (
        "vllm",
        400,
        {
            "object": "error",
            "message": "This model's maximum context length is 32768 tokens. However, you "
            "requested 45000 tokens (40000 in the messages, 5000 in the completion). Please "
            "reduce the length of the messages or completion.",
            "type": "BadRequestError",
            "param": None,
            "code": 400,
        },
        "prompt is too long: 40000 tokens > 32768 maximum (upstream: This model's",
    ),
    (
        "tgi",
        422,
        {
            "error": "Input validation error: `inputs` tokens + `max_new_tokens` must be <= "
            "32768. Given: 40100 `inputs` tokens and 1000 `max_new_tokens`",
            "error_type": "validation",
        },
        "prompt is too long: 40100 tokens > 32768 maximum (upstream: Input validation error",
    ),
    (
        "anthropic",
        400,
        {
            "type": "error",
            "error": {
                "type": "invalid_request_error",
                "message": "prompt is too long: 210000 tokens > 200000 maximum",
            },
        },
        "prompt is too long: 210000 tokens > 200000 maximum",
    ),
]


@pytest.mark.parametrize(("body", "status", "start"), [(c[2], c[1], c[3]) for c in CASES], ids=[c[0] for c in CASES])  # fmt: skip
def test_overflow_reaches_claude_code_as_prompt_is_too_long(
    body: object, status: int, start: str
) -> None:
    out_status, out = upstream_error_to_anthropic(status, orjson.dumps(body))
    assert out_status == 400
    assert out["type"] == "error" and out["error"]["type"] == "invalid_request_error"
    assert out["error"]["message"].startswith(start), out["error"]["message"]


@pytest.mark.parametrize(("body", "status"), [(c[2], c[1]) for c in CASES], ids=[c[0] for c in CASES])  # fmt: skip
def test_overflow_reaches_openai_clients_as_context_length_exceeded(
    body: object, status: int
) -> None:
    out_status, out = upstream_error_to_openai(status, orjson.dumps(body))
    assert out_status == 400
    error = out["error"]
    assert error["code"] == "context_length_exceeded"
    assert error["type"] == "invalid_request_error" and error["param"] == "messages"


def test_openai_clients_get_openai_wording_with_numbers() -> None:
    body = CASES[2][2]  # Gemini
    _, out = upstream_error_to_openai(400, orjson.dumps(body))
    assert out["error"]["message"].startswith(
        "This model's maximum context length is 1048576 tokens. However, your messages "
        "resulted in 1200293 tokens."
    )


def test_output_that_does_not_fit_is_not_a_prompt_overflow() -> None:
    """vLLM refuses prompt + max_tokens over the window; compacting would not help."""
    message = (
        "This model's maximum context length is 6048 tokens. However, you requested 6616 "
        "tokens (568 in the messages, 6048 in the completion). Please reduce the length of the "
        "messages or completion."
    )
    assert find_context_overflow(message) is None
    body = {"object": "error", "message": message, "type": "BadRequestError", "code": 400}
    _, out = upstream_error_to_anthropic(400, orjson.dumps(body))
    assert out["error"]["message"] == message
    _, oai = upstream_error_to_openai(400, orjson.dumps(body))
    assert oai["error"]["code"] != "context_length_exceeded"


def test_other_errors_are_untouched() -> None:
    body = {
        "error": {"code": 429, "message": "Resource exhausted.", "status": "RESOURCE_EXHAUSTED"}
    }
    status, out = upstream_error_to_anthropic(429, orjson.dumps(body))
    assert status == 429 and out["error"]["message"] == "Resource exhausted."
    assert find_context_overflow("Invalid API key") is None
    # A server error never becomes a 400, whatever it says.
    status, out = upstream_error_to_anthropic(500, b'{"error":{"message":"context window"}}')
    assert status == 500 and not out["error"]["message"].startswith("prompt is too long")
