"""A context overflow at any provider, through the real gateway: Anthropic
clients (Claude Code) get the 400 ``prompt is too long`` they compact on,
OpenAI clients get ``context_length_exceeded``."""

from __future__ import annotations

import re

import anthropic
import openai
import pytest

from tests.ai.conftest import PROVIDERS, Stack

KEYS = ["openai", "anthropic", "gemini", "gemini-public", "hf", "dashscope"]
#: What Claude Code looks for; the numbers let it size the compaction.
PROMPT_TOO_LONG = re.compile(r"^prompt is too long: (\d+) tokens > (\d+) maximum")


@pytest.mark.parametrize("stream", [False, True], ids=["oneshot", "stream"])
@pytest.mark.parametrize("key", KEYS)
def test_anthropic_clients_get_prompt_is_too_long(
    fresh: Stack, tag: str, key: str, stream: bool
) -> None:
    provider = PROVIDERS[key]
    client = fresh.anthropic(key, tag)
    kwargs = {
        "model": provider.model,
        "max_tokens": 256,
        "messages": [{"role": "user", "content": "[[overflow 2000000]] summarise the repo"}],
    }
    with pytest.raises(anthropic.BadRequestError) as caught:
        if stream:
            with client.messages.stream(**kwargs) as events:  # type: ignore[arg-type]
                events.get_final_message()
        else:
            client.messages.create(**kwargs)  # type: ignore[arg-type]
    error = caught.value
    assert error.status_code == 400
    body = error.body
    assert isinstance(body, dict) and body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    message = body["error"]["message"]
    assert message.startswith("prompt is too long"), message
    if key != "dashscope":  # DashScope never says how long the prompt was
        m = PROMPT_TOO_LONG.match(message)
        assert m is not None, message
        assert int(m.group(1)) == 2_000_000 and int(m.group(2)) < 2_000_000


@pytest.mark.parametrize("key", KEYS)
def test_openai_clients_get_context_length_exceeded(fresh: Stack, tag: str, key: str) -> None:
    provider = PROVIDERS[key]
    client = fresh.openai(f"oai-{key}", tag)
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model=provider.model,
            messages=[{"role": "user", "content": "[[overflow 2000000]] summarise the repo"}],
        )
    error = caught.value
    assert error.status_code == 400
    assert error.code == "context_length_exceeded", error.body
    assert error.param == "messages"
    assert "maximum context length" in error.message or "Range of input length" in error.message
