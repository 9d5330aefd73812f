"""ai-proxy-advanced through the real gateway: failover by criterion, no
failover on client errors, weighted round-robin, the circuit breaker.

Only the first target fails because the faults are scoped to its provider or
model (``[[fail 429 on openai]]``): every target sees the same prompt.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import anthropic
import openai
import pytest
import yaml

from tests.ai.conftest import PROVIDERS, Stack
from tests.support.processes import free_port

CRITERIA = ["error", "timeout", "http_429", "http_500"]
SECOND_OPENAI_KEY = "sk-openai-second"


def _target(provider: str, url: str, model: str, key: str, weight: int) -> dict[str, Any]:
    header = "x-api-key" if provider == "anthropic" else "Authorization"
    options: dict[str, Any] = {"upstream_url": url}
    if provider == "anthropic":
        options["anthropic_version"] = "2023-06-01"
    return {
        "route_type": "llm/v1/chat",
        "weight": weight,
        "auth": {"header_name": header, "header_value": key},
        "model": {"provider": provider, "name": model, "options": options},
    }


def _route(name: str, llm_format: str, balancer: dict[str, Any], targets: list[Any]) -> dict:
    return {
        "name": name,
        "paths": [f"/{name}"],
        "plugins": [
            {
                "name": "ai-proxy-advanced",
                "config": {"llm_format": llm_format, "balancer": balancer, "targets": targets},
            }
        ],
    }


DEAD_PORT = free_port()


@pytest.fixture(scope="module")
def balanced(stack: Stack) -> Stack:
    emu = stack.emulator
    openai_primary = _target(
        "openai", f"{emu}/openai/v1/chat/completions", "gpt-4.1", "Bearer sk-openai-secret", 100
    )
    openai_second = _target(
        "openai", f"{emu}/v1/chat/completions", "gpt-4o-mini", f"Bearer {SECOND_OPENAI_KEY}", 10
    )
    anthropic_fallback = _target(
        "anthropic", f"{emu}/anthropic/v1/messages", "claude-sonnet-4-6", "sk-ant-secret", 10
    )
    dead = _target(
        "openai",
        f"http://127.0.0.1:{DEAD_PORT}/v1/chat/completions",
        "gpt-4.1",
        "Bearer sk-openai-secret",
        100,
    )
    priority = {"algorithm": "priority", "failover_criteria": CRITERIA, "read_timeout": 1000}
    routes = [
        _route("fo-priority", "anthropic", priority, [openai_primary, anthropic_fallback]),
        _route("fo-openai", "openai", priority, [openai_primary, anthropic_fallback]),
        _route("fo-dead", "anthropic", priority, [dead, openai_second]),
        _route(
            "fo-rr",
            "anthropic",
            {"algorithm": "round-robin", "failover_criteria": CRITERIA},
            [{**openai_primary, "weight": 3}, {**openai_second, "weight": 1}],
        ),
        _route(
            "fo-trip",
            "anthropic",
            {**priority, "max_fails": 2, "fail_timeout": 600000},
            [openai_primary, anthropic_fallback],
        ),
        _route(
            "fo-trip-client",
            "anthropic",
            {**priority, "max_fails": 2, "fail_timeout": 600000},
            [openai_primary, anthropic_fallback],
        ),
    ]
    config = {
        "_format_version": "3.0",
        "services": [{"name": "failover", "url": emu, "routes": routes}],
    }
    stack.apply(yaml.safe_dump(config, sort_keys=False))
    return stack


@pytest.fixture
def bal(balanced: Stack) -> Stack:
    balanced.clear_upstream()
    return balanced


def _ask(stack: Stack, route: str, tag: str, prompt: str, stream: bool = False) -> Any:
    client = stack.anthropic(route, tag)
    kwargs: dict[str, Any] = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 256,
        "messages": [{"role": "user", "content": prompt}],
    }
    if stream:
        with client.messages.stream(**kwargs) as s:
            return s.get_final_message()
    return client.messages.create(**kwargs)


def _tried(record: dict[str, Any]) -> list[tuple[str, str]]:
    return [(t["provider"], t["model"]) for t in record["ai"]["proxy"]["tried_targets"]]


BOTH = [("openai", "gpt-4.1"), ("anthropic", "claude-sonnet-4-6")]


@pytest.mark.parametrize("stream", [False, True], ids=["oneshot", "stream"])
@pytest.mark.parametrize(
    "fault", ["[[fail 429 on openai]]", "[[fail 500 on openai]]", "[[sleep 2.5 on gpt-4.1]]"]
)
def test_failure_on_first_target_is_served_by_the_next(
    bal: Stack, tag: str, fault: str, stream: bool
) -> None:
    message = _ask(bal, "fo-priority", tag, f"{fault} [[reply served by the fallback]]", stream)
    assert message.content[0].text == "served by the fallback"
    paths = [r["path"] for r in bal.upstream()]
    assert paths == ["/openai/v1/chat/completions", "/anthropic/v1/messages"]
    first, second = bal.upstream()
    assert first["headers"]["authorization"] == "Bearer sk-openai-secret"
    assert second["headers"]["x-api-key"] == "sk-ant-secret"
    record = bal.log_record(tag)
    assert record["response"]["status"] == 200
    assert _tried(record) == BOTH
    for tried in record["ai"]["proxy"]["tried_targets"]:
        assert tried["host"] == "127.0.0.1" and tried["upstream_scheme"] == "http"
        assert tried["route_type"] == "llm/v1/chat" and tried["upstream_uri"]
    meta = record["ai"]["proxy"]["meta"]
    assert meta["provider_name"] == "anthropic" and meta["request_model"] == "claude-sonnet-4-6"
    assert meta["request_mode"] == ("stream" if stream else "oneshot")
    assert record["response"]["headers"]["x-kong-llm-model"] == "anthropic/claude-sonnet-4-6"


def test_client_error_does_not_fail_over(bal: Stack, tag: str) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        _ask(bal, "fo-priority", tag, "[[fail 400 on openai]] [[reply never]]")
    assert caught.value.status_code == 400
    assert [r["path"] for r in bal.upstream()] == ["/openai/v1/chat/completions"]
    record = bal.log_record(tag)
    assert _tried(record) == BOTH[:1]
    assert record["response"]["status"] == 400


def test_unlisted_status_does_not_fail_over(bal: Stack, tag: str) -> None:
    with pytest.raises(anthropic.InternalServerError) as caught:
        _ask(bal, "fo-priority", tag, "[[fail 503 on openai]] [[reply never]]")
    assert caught.value.status_code == 503  # http_503 is not a configured criterion
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["error"]["type"] == "overloaded_error"
    assert len(bal.upstream()) == 1
    assert _tried(bal.log_record(tag)) == BOTH[:1]


def test_every_target_failing_answers_the_last_error(bal: Stack, tag: str) -> None:
    with pytest.raises(anthropic.RateLimitError) as caught:
        _ask(bal, "fo-priority", tag, "[[fail 429]]")
    assert caught.value.status_code == 429
    assert isinstance(caught.value.body, dict)
    assert "would exceed the rate limit" in caught.value.body["error"]["message"]
    record = bal.log_record(tag)
    assert _tried(record) == BOTH
    assert record["response"]["status"] == 429
    assert record["ai"]["proxy"]["meta"]["provider_name"] == "anthropic"


def test_unreachable_target_fails_over_with_the_next_key(bal: Stack, tag: str) -> None:
    message = _ask(bal, "fo-dead", tag, "[[reply the second key works]]")
    assert message.content[0].text == "the second key works"
    records = bal.upstream()
    assert len(records) == 1  # the dead port never answered
    assert records[0]["headers"]["authorization"] == f"Bearer {SECOND_OPENAI_KEY}"
    assert records[0]["body"]["model"] == "gpt-4o-mini"
    tried = bal.log_record(tag)["ai"]["proxy"]["tried_targets"]
    emulator_port = int(bal.emulator.rsplit(":", 1)[1])
    assert [(t["model"], t["port"]) for t in tried] == [
        ("gpt-4.1", DEAD_PORT),
        ("gpt-4o-mini", emulator_port),
    ]


def test_round_robin_spreads_by_weight(bal: Stack, tag: str) -> None:
    for i in range(8):
        message = _ask(bal, "fo-rr", tag, f"[[reply number {i}]]")
        assert message.content[0].text == f"number {i}"
    models = Counter(r["body"]["model"] for r in bal.upstream())
    assert models == {"gpt-4.1": 6, "gpt-4o-mini": 2}
    keys = Counter(r["headers"]["authorization"] for r in bal.upstream())
    assert keys == {"Bearer sk-openai-secret": 6, f"Bearer {SECOND_OPENAI_KEY}": 2}
    assert all(len(_tried(r)) == 1 for r in bal.log_records(tag, 8))


def test_max_fails_trips_the_target(bal: Stack, tag: str) -> None:
    for _ in range(2):
        message = _ask(bal, "fo-trip", tag, "[[fail 500 on openai]] [[reply fell back]]")
        assert message.content[0].text == "fell back"
    assert [r["provider"] for r in bal.upstream()] == ["openai", "anthropic"] * 2
    bal.clear_upstream()
    # Two failures tripped the primary: the next request goes straight to the fallback.
    message = _ask(bal, "fo-trip", tag, "[[reply straight to the fallback]]")
    assert message.content[0].text == "straight to the fallback"
    assert [r["provider"] for r in bal.upstream()] == ["anthropic"]
    assert _tried(bal.log_records(tag, 3)[-1]) == BOTH[1:]


def test_client_errors_do_not_trip_the_target(bal: Stack, tag: str) -> None:
    """A client sending bad requests must not take a healthy target out of service."""
    for _ in range(3):
        with pytest.raises(anthropic.BadRequestError):
            _ask(bal, "fo-trip-client", tag, "[[fail 400 on openai]]")
    bal.clear_upstream()
    message = _ask(bal, "fo-trip-client", tag, "[[reply still the primary]]")
    assert message.content[0].text == "still the primary"
    assert [r["provider"] for r in bal.upstream()] == ["openai"]


def test_openai_client_fails_over_to_a_translated_target(bal: Stack, tag: str) -> None:
    client = bal.openai("fo-openai", tag)
    completion = client.chat.completions.create(
        model="gpt-4.1",
        messages=[{"role": "user", "content": "[[fail 429 on openai]] [[reply from claude]]"}],
    )
    assert completion.choices[0].message.content == "from claude"
    assert completion.object == "chat.completion"
    assert [r["provider"] for r in bal.upstream()] == ["openai", "anthropic"]
    assert _tried(bal.log_record(tag)) == BOTH
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model="gpt-4.1",
            messages=[{"role": "user", "content": "[[fail 400 on openai]]"}],
        )


def test_seed_routes_are_untouched(bal: Stack, tag: str) -> None:
    """The failover routes were added beside the ai-proxy ones, not instead."""
    provider = PROVIDERS["openai"]
    message = bal.anthropic("openai", tag).messages.create(
        model=provider.model, max_tokens=64, messages=[{"role": "user", "content": "[[reply ok]]"}]
    )
    assert message.content[0].text == "ok"
