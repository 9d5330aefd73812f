"""Model facts through the real gateway: Claude Code's 32000-64000 output
tokens fit the model, the operator's ``model.options.max_tokens`` is a
ceiling, unknown models pass through unchanged, and the log prices each call
from list prices unless the operator configured costs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import pytest
import yaml

from tests.ai.conftest import PROVIDERS, Provider, Stack, http_json, plugin_config
from tests.ai.fixtures import claude_code_sized_request

OPENAI_PATH = "/openai/v1/chat/completions"
ANTHROPIC_PATH = "/anthropic/v1/messages"
OPENAI_CREDENTIAL = ("authorization", "Bearer sk-openai-secret")

#: Routes of this module (prefix ``ml-``), each an ai-proxy for one model.
MODELS = {
    "ml-gpt-4o": Provider("ml-gpt-4o", "openai", "gpt-4o", OPENAI_PATH, OPENAI_CREDENTIAL),
    "ml-flash": Provider(
        "ml-flash",
        "gemini",
        "gemini-2.0-flash",
        "/v1/projects/lockgate-ai/locations/us-central1/publishers/google/models/gemini-2.0-flash:",
        ("authorization", "Bearer "),
        vertex=True,
    ),
    "ml-capped": Provider("ml-capped", "openai", "gpt-4o", OPENAI_PATH, OPENAI_CREDENTIAL),
    "ml-unknown": Provider(
        "ml-unknown", "openai", "gpt-lockgate-experimental", OPENAI_PATH, OPENAI_CREDENTIAL
    ),
    "ml-haiku": Provider(
        "ml-haiku",
        "anthropic",
        "claude-3-5-haiku-20241022",
        ANTHROPIC_PATH,
        ("x-api-key", "sk-ant-secret"),
    ),
    "ml-claude-unknown": Provider(
        "ml-claude-unknown",
        "anthropic",
        "claude-lockgate-preview",
        ANTHROPIC_PATH,
        ("x-api-key", "sk-ant-secret"),
    ),
}
CEILING = 1000


@pytest.fixture(scope="module")
def models(stack: Stack) -> Iterator[Stack]:
    account = json.dumps(http_json("POST", stack.emulator + "/_emulator/service-account", {}))
    routes = []
    for fmt, prefix in (("anthropic", ""), ("openai", "oai-")):
        for p in MODELS.values():
            config = plugin_config(p, stack.emulator, account, fmt)
            options = config["model"]["options"]
            options.pop("input_cost", None)
            options.pop("output_cost", None)
            if p.key == "ml-capped":
                options["max_tokens"] = CEILING
            routes.append(
                {
                    "name": prefix + p.key,
                    "paths": [f"/{prefix}{p.key}"],
                    "plugins": [{"name": "ai-proxy", "config": config}],
                }
            )
    stack.apply(
        yaml.safe_dump(
            {
                "_format_version": "3.0",
                "services": [{"name": "model-limits", "url": stack.emulator, "routes": routes}],
            },
            sort_keys=False,
        )
    )
    yield stack


@pytest.fixture
def fresh_models(models: Stack) -> Stack:
    models.clear_upstream()
    return models


def _only_upstream(stack: Stack, path: str) -> dict[str, Any]:
    records = stack.upstream(path)
    assert len(records) == 1, [r["path"] for r in records]
    body: dict[str, Any] = records[0]["body"]
    return body


@pytest.mark.parametrize(
    ("key", "max_tokens", "stream", "sent"),
    [
        ("ml-gpt-4o", 32000, False, 16384),
        ("ml-gpt-4o", 64000, True, 16384),
        ("ml-flash", 32000, True, 8192),
        ("ml-flash", 64000, False, 8192),
    ],
)
def test_claude_code_sized_requests_fit_the_model(
    fresh_models: Stack, tag: str, key: str, max_tokens: int, stream: bool, sent: int
) -> None:
    """gpt-4o takes 16384 output tokens and gemini-2.0-flash 8192; the real
    APIs answer 400 to Claude Code's 32000 or 64000."""
    provider = MODELS[key]
    client = fresh_models.anthropic(key, tag)
    request = claude_code_sized_request(
        "Go on. [[reply it fits]]", model=provider.model, stream=stream
    )
    request["max_tokens"] = max_tokens
    if stream:
        request.pop("stream")
        with client.messages.stream(**request) as s:
            text = "".join(s.text_stream)
    else:
        message = client.messages.create(**request)
        text = message.content[0].text
    assert text == "it fits"
    body = _only_upstream(fresh_models, provider.path)
    if provider.name == "gemini":
        assert body["generationConfig"]["maxOutputTokens"] == sent
    else:
        assert body["max_tokens"] == sent


def test_operator_max_tokens_is_a_ceiling(fresh_models: Stack, tag: str) -> None:
    client = fresh_models.anthropic("ml-capped", tag)
    for asked, sent in ((32000, CEILING), (200, 200)):
        fresh_models.clear_upstream()
        message = client.messages.create(
            model="gpt-4o",
            max_tokens=asked,
            messages=[{"role": "user", "content": "[[reply capped]]"}],
        )
        assert message.content[0].text == "capped"
        assert _only_upstream(fresh_models, OPENAI_PATH)["max_tokens"] == sent
    # An OpenAI-format client asking for nothing gets the ceiling (Kong's default).
    fresh_models.clear_upstream()
    openai_client = fresh_models.openai("oai-ml-capped", tag)
    done = openai_client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "[[reply capped]]"}]
    )
    assert done.choices[0].message.content == "capped"
    assert _only_upstream(fresh_models, OPENAI_PATH)["max_tokens"] == CEILING
    fresh_models.clear_upstream()
    openai_client.chat.completions.create(
        model="gpt-4o",
        max_completion_tokens=64000,
        messages=[{"role": "user", "content": "[[reply capped]]"}],
    )
    assert _only_upstream(fresh_models, OPENAI_PATH)["max_completion_tokens"] == CEILING


def test_unknown_models_pass_through_unchanged(fresh_models: Stack, tag: str) -> None:
    client = fresh_models.anthropic("ml-unknown", tag)
    client.messages.create(
        model="gpt-lockgate-experimental",
        max_tokens=64000,
        messages=[{"role": "user", "content": "[[reply as asked]]"}],
    )
    assert _only_upstream(fresh_models, OPENAI_PATH)["max_tokens"] == 64000
    fresh_models.clear_upstream()
    sent = {
        "model": "claude-lockgate-preview",
        "max_tokens": 500000,
        "messages": [{"role": "user", "content": "[[reply as asked]]"}],
    }
    message = fresh_models.anthropic("ml-claude-unknown", tag).messages.create(**sent)
    assert message.content[0].text == "as asked"
    assert _only_upstream(fresh_models, ANTHROPIC_PATH) == sent


def test_anthropic_passthrough_fits_older_models(fresh_models: Stack, tag: str) -> None:
    """claude-3-5-haiku gives 8192 output tokens; Anthropic answers 400 to 64000."""
    client = fresh_models.anthropic("ml-haiku", tag)
    for stream in (False, True):
        fresh_models.clear_upstream()
        kwargs: dict[str, Any] = {
            "model": "claude-3-5-haiku-20241022",
            "max_tokens": 64000,
            "messages": [{"role": "user", "content": "[[reply short]]"}],
        }
        if stream:
            with client.messages.stream(**kwargs) as s:
                assert "".join(s.text_stream) == "short"
        else:
            assert client.messages.create(**kwargs).content[0].text == "short"
        body = _only_upstream(fresh_models, ANTHROPIC_PATH)
        assert body["max_tokens"] == 8192 and body["messages"] == kwargs["messages"]


def _usage(stack: Stack, tag: str, count: int = 1) -> dict[str, Any]:
    usage: dict[str, Any] = stack.log_records(tag, count)[-1]["ai"]["proxy"]["usage"]
    return usage


def test_cost_from_list_prices(fresh_models: Stack, tag: str) -> None:
    """gpt-4o: $2.50 in, $1.25 cached in, $10 out per million tokens; Vertex
    gemini-2.0-flash: $0.15 in, $0.60 out."""
    request = claude_code_sized_request(
        "Price me. [[reply priced]]", model="gpt-4o", stream=False, seed=11
    )
    fresh_models.anthropic("ml-gpt-4o", tag).messages.create(**request)
    usage = _usage(fresh_models, tag)
    cached = usage["prompt_tokens_details"].get("cached_tokens", 0)
    expected = (
        (usage["prompt_tokens"] - cached) * 2.5 + cached * 1.25 + usage["completion_tokens"] * 10
    ) / 1e6
    assert usage["cost_source"] == "list_price"
    assert usage["cost"] == pytest.approx(expected) and usage["cost"] > 0
    # The same request again: OpenAI's prompt cache answers part of it, at the cached rate.
    fresh_models.anthropic("ml-gpt-4o", tag).messages.create(**request)
    again = _usage(fresh_models, tag, 2)
    cached = again["prompt_tokens_details"].get("cached_tokens", 0)
    assert cached > 0
    expected = (
        (again["prompt_tokens"] - cached) * 2.5 + cached * 1.25 + again["completion_tokens"] * 10
    ) / 1e6
    assert again["cost"] == pytest.approx(expected) and again["cost"] < usage["cost"]

    flash_tag = tag + "-flash"
    fresh_models.anthropic("ml-flash", flash_tag).messages.create(
        model="gemini-2.0-flash",
        max_tokens=100,
        messages=[{"role": "user", "content": "[[reply priced]]"}],
    )
    flash = _usage(fresh_models, flash_tag)
    assert flash["cost_source"] == "list_price"
    expected = (flash["prompt_tokens"] * 0.15 + flash["completion_tokens"] * 0.60) / 1e6
    assert flash["cost"] == pytest.approx(expected) and flash["cost"] > 0


def test_configured_costs_win_and_unknown_models_are_unpriced(
    fresh_models: Stack, tag: str
) -> None:
    # The shared "openai" route configures input_cost 2.5 and output_cost 10 for gpt-4.1.
    fresh_models.anthropic("openai", tag).messages.create(
        model=PROVIDERS["openai"].model,
        max_tokens=64000,
        messages=[{"role": "user", "content": "[[reply configured]]"}],
    )
    usage = _usage(fresh_models, tag)
    assert usage["cost_source"] == "configured"
    expected = (usage["prompt_tokens"] * 2.5 + usage["completion_tokens"] * 10) / 1e6
    assert usage["cost"] == pytest.approx(expected)
    unknown_tag = tag + "-unknown"
    fresh_models.anthropic("ml-unknown", unknown_tag).messages.create(
        model="gpt-lockgate-experimental",
        max_tokens=100,
        messages=[{"role": "user", "content": "[[reply free]]"}],
    )
    unknown = _usage(fresh_models, unknown_tag)
    assert (unknown["cost_source"], unknown["cost"]) == ("unpriced", 0)


def test_failed_calls_are_priced_too(fresh_models: Stack, tag: str) -> None:
    """A refused call is logged with the input it would have cost."""
    with pytest.raises(anthropic.APIStatusError):
        fresh_models.anthropic("ml-gpt-4o", tag).messages.create(
            model="gpt-4o",
            max_tokens=100,
            messages=[{"role": "user", "content": "[[fail 500]]"}],
        )
    usage = _usage(fresh_models, tag)
    assert usage["cost_source"] == "list_price" and usage["completion_tokens"] == 0
    assert usage["cost"] == pytest.approx(usage["prompt_tokens"] * 2.5 / 1e6)


def test_huggingface_output_fits_the_context_with_claude_codes_input(
    fresh_models: Stack, tag: str
) -> None:
    """Qwen3-32B serves 40960 tokens in all: Claude Code's 90 KB of input plus
    its 32000 output tokens do not fit, so the output is lowered to what does."""
    provider = PROVIDERS["hf"]
    request = claude_code_sized_request("Go on. [[reply it fits]]", model=provider.model)
    request.pop("stream")
    request["max_tokens"] = 32000
    with fresh_models.anthropic("hf", tag).messages.stream(**request) as s:
        assert "".join(s.text_stream) == "it fits"
    sent = _only_upstream(fresh_models, provider.path)["max_tokens"]
    assert 1000 < sent < 32000
    usage = _usage(fresh_models, tag)
    assert usage["prompt_tokens"] + sent <= 40960
    assert (usage["cost_source"], usage["cost"]) == ("unpriced", 0)


def test_openai_clients_passthrough_fits_the_model(fresh_models: Stack, tag: str) -> None:
    """An OpenAI-format client on OpenAI: re-encoded only when the model is
    known and the request asks for more than it gives."""
    client = fresh_models.openai("oai-ml-gpt-4o", tag)
    for asked, sent in ((64000, 16384), (1000, 1000)):
        fresh_models.clear_upstream()
        done = client.chat.completions.create(
            model="gpt-4o",
            max_tokens=asked,
            messages=[{"role": "user", "content": "[[reply fits]]"}],
        )
        assert done.choices[0].message.content == "fits"
        assert _only_upstream(fresh_models, OPENAI_PATH)["max_tokens"] == sent


def test_anthropic_cache_reads_and_writes_at_their_list_prices(
    fresh_models: Stack, tag: str
) -> None:
    """claude-sonnet-4-6: $3 in, $15 out, cache hits $0.30, cache writes $3.75."""
    provider = PROVIDERS["anthropic"]
    request = claude_code_sized_request(
        "[[reply cached]]", model=provider.model, stream=False, seed=13
    )
    request["thinking"] = {"type": "disabled"}
    del request["stream"]
    for message in request["messages"]:
        if isinstance(message["content"], list):
            message["content"] = [
                b for b in message["content"] if b["type"] not in ("thinking", "redacted_thinking")
            ]
    client = fresh_models.anthropic("anthropic", tag)
    for count in (1, 2):
        answer = client.messages.create(**request)
        read = answer.usage.cache_read_input_tokens or 0
        written = answer.usage.cache_creation_input_tokens or 0
        usage = _usage(fresh_models, tag, count)
        assert usage["cost_source"] == "list_price"
        fresh = usage["prompt_tokens"] - read - written
        expected = (
            fresh * 3 + read * 0.30 + written * 3.75 + usage["completion_tokens"] * 15
        ) / 1e6
        assert usage["cost"] == pytest.approx(expected)
        assert (written if count == 1 else read) > 1000
