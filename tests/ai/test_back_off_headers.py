"""Back-off signals reach the client through the real gateway: a provider's
429 or 503 keeps its ``retry-after`` (Gemini's is read from the body), and
the rate-limit headers come in the client format's names, converted where
the formats differ (OpenAI durations <-> Anthropic RFC 3339 timestamps),
on refusals and on successful answers alike. Seen with the official SDKs."""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any

import anthropic
import openai
import pytest

from tests.ai.conftest import PROVIDERS, SEEDS, Stack

#: An OpenAI reset: a Go-style duration.
DURATION = re.compile(r"^(\d+h)?(\d+m)?(\d+(\.\d+)?(ms|s))$")


def _seconds_until(stamp: str) -> float:
    assert stamp.endswith("Z"), stamp
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() - time.time()


def _anthropic_refusal(
    stack: Stack, route: str, tag: str, status: int, stream: bool = False
) -> Any:
    model = PROVIDERS[route].model
    client = stack.anthropic(route, tag)
    kwargs: dict[str, Any] = {
        "model": model,
        "max_tokens": 32,
        "messages": [{"role": "user", "content": f"[[fail {status}]]"}],
    }
    with pytest.raises(anthropic.APIStatusError) as caught:
        if stream:
            with client.messages.stream(**kwargs) as s:
                s.get_final_message()
        else:
            client.messages.create(**kwargs)
    assert caught.value.status_code == status
    return caught.value.response


def _openai_refusal(stack: Stack, key: str, tag: str, status: int) -> Any:
    client = stack.openai(f"oai-{key}", tag)
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(
            model=PROVIDERS[key].model,
            messages=[{"role": "user", "content": f"[[fail {status}]]"}],
        )
    assert caught.value.status_code == status
    return caught.value.response


@pytest.mark.parametrize("key", SEEDS)
def test_429_keeps_retry_after_for_anthropic_clients(fresh: Stack, tag: str, key: str) -> None:
    response = _anthropic_refusal(fresh, key, tag, 429, stream=True)
    # Gemini says it in the body (RetryInfo.retryDelay "1s"); the others in the header.
    assert response.headers["retry-after"] == "1"


@pytest.mark.parametrize("key", SEEDS)
def test_429_keeps_retry_after_for_openai_clients(fresh: Stack, tag: str, key: str) -> None:
    response = _openai_refusal(fresh, key, tag, 429)
    assert response.headers["retry-after"] == "1"


def test_openai_limits_renamed_for_an_anthropic_client(fresh: Stack, tag: str) -> None:
    headers = _anthropic_refusal(fresh, "openai", tag, 429).headers
    assert headers["anthropic-ratelimit-requests-limit"] == "50"
    assert headers["anthropic-ratelimit-requests-remaining"] == "0"
    # "1s" from now, as a timestamp rounded up to the second.
    assert 0 < _seconds_until(headers["anthropic-ratelimit-requests-reset"]) <= 3
    assert headers["anthropic-ratelimit-tokens-limit"] == "80000"
    assert headers["anthropic-ratelimit-tokens-remaining"] == "79000"
    assert 0 < _seconds_until(headers["anthropic-ratelimit-tokens-reset"]) <= 2
    assert not [name for name in headers if name.startswith("x-ratelimit-")]


def test_anthropic_limits_renamed_for_an_openai_client(fresh: Stack, tag: str) -> None:
    headers = _openai_refusal(fresh, "anthropic", tag, 429).headers
    assert headers["x-ratelimit-limit-requests"] == "50"
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert DURATION.match(headers["x-ratelimit-reset-requests"])
    assert headers["x-ratelimit-limit-tokens"] == "80000"
    assert DURATION.match(headers["x-ratelimit-reset-tokens"])
    assert not [name for name in headers if name.startswith("anthropic-ratelimit-")]


def test_passthrough_keeps_the_whole_family(fresh: Stack, tag: str) -> None:
    headers = _anthropic_refusal(fresh, "anthropic", tag, 429).headers
    assert headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert headers["anthropic-ratelimit-input-tokens-limit"] == "40000"
    assert headers["anthropic-ratelimit-output-tokens-limit"] == "40000"
    headers = _openai_refusal(fresh, "openai", tag, 429).headers
    assert headers["x-ratelimit-reset-requests"] == "1s"
    assert headers["x-ratelimit-reset-tokens"] == "750ms"


@pytest.mark.parametrize(("upstream", "client"), [("openai", "anthropic"), ("anthropic", "openai")])
def test_503_keeps_retry_after(fresh: Stack, tag: str, upstream: str, client: str) -> None:
    if client == "anthropic":
        response = _anthropic_refusal(fresh, upstream, tag, 503)
    else:
        response = _openai_refusal(fresh, upstream, tag, 503)
    assert response.headers["retry-after"] == "1"


def test_successful_answer_carries_renamed_limits(fresh: Stack, tag: str) -> None:
    raw = fresh.anthropic("openai", tag).messages.with_raw_response.create(
        model=PROVIDERS["openai"].model,
        max_tokens=32,
        messages=[{"role": "user", "content": "hello"}],
    )
    assert raw.headers["anthropic-ratelimit-requests-remaining"] == "49"
    assert 0 < _seconds_until(raw.headers["anthropic-ratelimit-requests-reset"]) <= 3
    assert raw.parse().content
    completion = fresh.openai("oai-anthropic", tag).chat.completions.with_raw_response.create(
        model=PROVIDERS["anthropic"].model, messages=[{"role": "user", "content": "hello"}]
    )
    assert completion.headers["x-ratelimit-remaining-requests"] == "49"
    assert DURATION.match(completion.headers["x-ratelimit-reset-requests"])
