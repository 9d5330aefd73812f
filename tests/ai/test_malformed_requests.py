"""A malformed client body gets the 400 the client's own API would give,
worded as that API words it, before any provider is asked: never a
provider's puzzling answer, never a 500. Through the real gateway, with
the official SDKs (which send what they are given)."""

from __future__ import annotations

from typing import Any

import anthropic
import openai
import pytest

from tests.ai.conftest import PROVIDERS, Stack

TEXT = [{"role": "user", "content": "hi"}]

ANTHROPIC_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("messages-string", {"messages": "hi"}, "messages: Input should be a valid list"),
    ("no-messages", {"messages": anthropic.omit}, "messages: Field required"),
    ("empty-messages", {"messages": []}, "messages: at least one message is required"),
    (
        "message-string",
        {"messages": ["hi"]},
        "messages.0: Input should be a valid dictionary or object to extract fields from",
    ),
    (
        "content-number",
        {"messages": [{"role": "user", "content": 5}]},
        "messages.0.content: Input should be a valid string",
    ),
    (
        "no-role",
        {"messages": [{"content": "hi"}]},
        "messages.0.role: Field required",
    ),
    (
        "text-number",
        {"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]},
        "messages.0.content.0.text.text: Input should be a valid string",
    ),
    (
        "block-without-type",
        {"messages": [{"role": "user", "content": [{"text": "hi"}]}]},
        "messages.0.content.0: Unable to extract tag using discriminator 'type'",
    ),
    ("model-number", {"model": 5, "messages": TEXT}, "model: Input should be a valid string"),
    (
        "max-tokens-string",
        {"max_tokens": "many", "messages": TEXT},
        "max_tokens: Input should be a valid integer",
    ),
]


@pytest.mark.parametrize("key", ["openai", "gemini", "anthropic"])
@pytest.mark.parametrize(
    ("body", "message"), [c[1:] for c in ANTHROPIC_CASES], ids=[c[0] for c in ANTHROPIC_CASES]
)
def test_anthropic_client(
    fresh: Stack, tag: str, key: str, body: dict[str, Any], message: str
) -> None:
    kwargs: dict[str, Any] = {"model": PROVIDERS[key].model, "max_tokens": 32, **body}
    with pytest.raises(anthropic.BadRequestError) as caught:
        fresh.anthropic(key, tag).messages.create(**kwargs)
    err = caught.value
    assert err.status_code == 400
    assert err.body == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": message},
    }
    assert fresh.upstream() == []  # no provider was asked


def test_anthropic_count_tokens(fresh: Stack, tag: str) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        fresh.anthropic("gemini", tag).messages.count_tokens(
            model=PROVIDERS["gemini"].model,
            messages="hi",  # type: ignore[arg-type]
        )
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["error"]["message"] == "messages: Input should be a valid list"
    assert fresh.upstream() == []


OPENAI_CASES: list[tuple[str, dict[str, Any], str, str, str]] = [
    (
        "messages-string",
        {"messages": "hi"},
        "Invalid type for 'messages': expected an array, but got a string instead.",
        "messages",
        "invalid_type",
    ),
    (
        "no-messages",
        {"messages": openai.omit},
        "Missing required parameter: 'messages'.",
        "messages",
        "missing_required_parameter",
    ),
    (
        "content-number",
        {"messages": [{"role": "user", "content": 5}]},
        "Invalid type for 'messages[0].content': expected one of a string or array of objects, "
        "but got an integer instead.",
        "messages[0].content",
        "invalid_type",
    ),
    (
        "unknown-role",
        {"messages": [{"role": "robot", "content": "hi"}]},
        "Invalid value: 'robot'. Supported values are: 'system', 'assistant', 'user', "
        "'function', 'tool', and 'developer'.",
        "messages[0].role",
        "invalid_value",
    ),
    (
        "model-number",
        {"model": 5, "messages": TEXT},
        "Invalid type for 'model': expected a string, but got an integer instead.",
        "model",
        "invalid_type",
    ),
    (
        # Read by the gateway itself: this one used to be a 500.
        "stream-options-string",
        {"messages": TEXT, "stream_options": "usage"},
        "Invalid type for 'stream_options': expected an object, but got a string instead.",
        "stream_options",
        "invalid_type",
    ),
]


@pytest.mark.parametrize("key", ["anthropic", "gemini", "openai"])
@pytest.mark.parametrize(
    ("body", "message", "param", "code"),
    [c[1:] for c in OPENAI_CASES],
    ids=[c[0] for c in OPENAI_CASES],
)
def test_openai_client(
    fresh: Stack,
    tag: str,
    key: str,
    body: dict[str, Any],
    message: str,
    param: str,
    code: str,
) -> None:
    kwargs: dict[str, Any] = {"model": PROVIDERS[key].model, **body}
    with pytest.raises(openai.BadRequestError) as caught:
        fresh.openai(f"oai-{key}", tag).chat.completions.create(**kwargs)
    err = caught.value
    assert err.status_code == 400
    assert err.body == {
        "message": message,
        "type": "invalid_request_error",
        "param": param,
        "code": code,
    }
    assert fresh.upstream() == []
