"""ai-rate-limiting-advanced through the real gateway and the provider
emulator, with both SDKs: token limits and cost budgets per consumer and per
consumer group, refusals before the provider is called, Kong's headers, each
client's own 429, and the budgets in the Admin API."""

from __future__ import annotations

import concurrent.futures
import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from tests.support.processes import GatewayProcess, run_lockgate, start_emulator, start_gateway
from tests.support.redis_server import redis_server

CONFIG = """
_format_version: "3.0"
services:
  - name: llm
    url: http://127.0.0.1:9/unused
    routes:
      - name: claude
        paths: ["/claude"]
        plugins:
          - name: key-auth
            config: {{key_names: [x-api-key]}}
          - name: ai-proxy
            config:
              llm_format: anthropic
              route_type: llm/v1/chat
              auth: {{header_name: x-api-key, header_value: sk-ant-secret}}
              model:
                provider: anthropic
                name: claude-sonnet-4-6
                options:
                  upstream_url: {emulator}/anthropic/v1/messages
                  anthropic_version: "2023-06-01"
                  input_cost: 3.0
                  output_cost: 15.0
      - name: oai
        paths: ["/oai"]
        plugins:
          - name: key-auth
            config: {{key_names: [x-api-key]}}
          - name: ai-proxy
            config:
              llm_format: openai
              route_type: llm/v1/chat
              auth: {{header_name: authorization, header_value: Bearer sk-openai-secret}}
              model:
                provider: openai
                name: gpt-4.1
                options:
                  upstream_url: {emulator}/openai/v1/chat/completions
                  input_cost: 2.5
                  output_cost: 10.0
# Fixed ids: two nodes with their own stores count the same consumers.
consumers:
  - username: alice
    id: 5a1ce000-0000-4000-8000-000000000001
    keyauth_credentials: [{{key: alice-key}}]
    groups: [{{name: team}}]
  - username: bob
    id: 5a1ce000-0000-4000-8000-000000000002
    keyauth_credentials: [{{key: bob-key}}]
    groups: [{{name: team}}]
  - username: carol
    keyauth_credentials: [{{key: carol-key}}]
consumer_groups:
  - name: team
    id: 5a1ce000-0000-4000-8000-0000000000aa
{plugins}
"""

#: About 2,000 tokens of prompt: more than any limit below leaves.
LONG = "Please summarise the following notes. " + "lorem ipsum dolor sit amet " * 300


def _start(gw: GatewayProcess, emulator: str, plugins: str) -> None:
    done = gw.apply(CONFIG.format(emulator=emulator, plugins=plugins))
    assert done.returncode == 0, done.stdout + done.stderr
    gw.wait_config()


def _upstream_calls(emulator: str) -> int:
    with urllib.request.urlopen(emulator + "/_emulator/requests", timeout=10) as resp:
        return len(json.load(resp))


def _claude(gw: GatewayProcess, key: str) -> anthropic.Anthropic:
    # Claude Code sends its key in x-api-key (this SDK version sends a bearer token).
    return anthropic.Anthropic(
        base_url=gw.proxy_url + "/claude",
        api_key="unused",
        default_headers={"x-api-key": key},
        max_retries=0,
        timeout=60,
    )


def _openai(gw: GatewayProcess, key: str) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=gw.proxy_url + "/oai/v1",
        api_key="unused",
        default_headers={"x-api-key": key},
        max_retries=0,
        timeout=60,
    )


def _ask(client: anthropic.Anthropic, text: str = "hi") -> Any:
    return client.messages.with_raw_response.create(
        model="claude-sonnet-4-6", max_tokens=30, messages=[{"role": "user", "content": text}]
    )


def _usage(gw: GatewayProcess, path: str) -> list[dict[str, Any]]:
    status, body = gw.admin("GET", path)
    assert status == 200, body
    lines: list[dict[str, Any]] = body["data"]
    return lines


def _used_once_settled(gw: GatewayProcess, path: str, expected: float) -> float:
    """The first line's count, once the log phase has replaced the reservation
    with the real usage (it runs just after the answer is sent)."""
    used = 0.0
    for _ in range(50):
        used = float(_usage(gw, path)[0]["used"])
        if used == pytest.approx(expected, rel=1e-6):
            break
        time.sleep(0.1)
    return used


def test_token_limit_per_consumer_refuses_before_the_provider(tmp_path: Path) -> None:
    plugins = """
plugins:
  - name: ai-rate-limiting-advanced
    route: claude
    config:
      llm_format: anthropic
      window_type: fixed
      llm_providers:
        - {name: anthropic, limit: [400], window_size: [3600]}
"""
    with start_emulator() as emulator, start_gateway(tmp_path) as gw:
        _start(gw, emulator, "    plugins: []\n" + plugins)
        alice = _claude(gw, "alice-key")
        first = _ask(alice)
        assert first.status_code == 200
        assert first.headers["x-ai-ratelimit-limit-3600-anthropic"] == "400"
        remaining = int(first.headers["x-ai-ratelimit-remaining-3600-anthropic"])
        assert 0 < remaining < 400
        used = first.parse().usage
        spent = used.input_tokens + used.output_tokens

        # The Admin API shows the real usage, once the reservation is corrected.
        assert _used_once_settled(gw, "/consumers/alice/ai-usage", spent) == spent
        [line] = _usage(gw, "/consumers/alice/ai-usage")
        assert line["counted_for"] == {"consumer": "alice"}
        assert (line["provider"], line["window_size"], line["limit"]) == ("anthropic", 3600, 400)
        assert line["used"] == spent and line["remaining"] == 400 - spent

        # A prompt larger than what remains is refused before the provider sees it.
        calls = _upstream_calls(emulator)
        with pytest.raises(anthropic.RateLimitError) as refused:
            _ask(alice, LONG)
        assert _upstream_calls(emulator) == calls
        error = refused.value
        assert error.status_code == 429
        assert error.body == {
            "type": "error",
            "error": {
                "type": "rate_limit_error",
                "message": "AI token rate limit exceeded for provider(s): anthropic",
            },
        }
        headers = error.response.headers
        assert 1 <= int(headers["retry-after"]) <= 3600
        assert headers["x-ai-ratelimit-reset-3600-anthropic"] == headers["retry-after"]
        assert headers["x-ai-ratelimit-retry-after-3600-anthropic"] == headers["retry-after"]
        assert headers["x-ai-ratelimit-remaining-3600-anthropic"] == str(400 - spent)
        # The refusal used nothing up: the count is what the first call used.
        assert _usage(gw, "/consumers/alice/ai-usage")[0]["used"] == spent

        # Small calls go on until the limit is spent; the count never passes it by
        # more than the last call's answer.
        statuses = []
        for _ in range(30):
            try:
                statuses.append(_ask(alice).status_code)
            except anthropic.RateLimitError:
                statuses.append(429)
                break
        assert statuses[-1] == 429 and statuses.count(200) >= 2
        [line] = _usage(gw, "/consumers/alice/ai-usage")
        assert 400 - spent <= line["used"] <= 400 + 60
        assert line["remaining"] == max(0, 400 - line["used"])

        # The command line shows the same numbers.
        shown = run_lockgate(["usage", "--consumer", "alice", "--admin-url", gw.admin_url])
        assert shown.returncode == 0, shown.stderr
        budget = shown.stdout.split("Limits and budgets of consumer alice\n", 1)[1]
        row = budget.splitlines()[2].split()
        assert row[:5] == ["consumer", "anthropic", "1h", "total_tokens", "400"]
        assert row[5:] == [f"{line['used']:,.0f}", f"{line['remaining']:,.0f}"]

        # Another consumer has its own count.
        assert _ask(_claude(gw, "bob-key")).status_code == 200
        assert _used_once_settled(gw, "/consumers/bob/ai-usage", spent) == spent
        # Another route is not limited.
        assert (
            _openai(gw, "alice-key")
            .chat.completions.create(
                model="gpt-4.1", messages=[{"role": "user", "content": "hi"}], max_tokens=10
            )
            .choices
        )


def test_token_limit_per_group_is_one_count_for_its_members(tmp_path: Path) -> None:
    # 400 tokens an hour for the whole team (alice and bob); carol is in no group.
    group_plugin = """
    plugins:
      - name: ai-rate-limiting-advanced
        config:
          llm_format: anthropic
          identifier: consumer-group
          window_type: fixed
          llm_providers:
            - {name: anthropic, limit: [400], window_size: [3600]}
"""
    with start_emulator() as emulator, start_gateway(tmp_path) as gw:
        _start(gw, emulator, group_plugin)
        alice, bob, carol = (_claude(gw, k) for k in ("alice-key", "bob-key", "carol-key"))

        def spent(answer: Any) -> int:
            usage = answer.parse().usage
            return int(usage.input_tokens + usage.output_tokens)

        first = _ask(alice)
        assert first.headers["x-ai-ratelimit-limit-3600-anthropic"] == "400"
        by_alice = spent(first)
        assert _used_once_settled(gw, "/consumer_groups/team/ai-usage", by_alice) == by_alice
        # Bob's call is counted in the same count, and shows what the team has left.
        second = _ask(bob)
        by_team = by_alice + spent(second)
        assert int(second.headers["x-ai-ratelimit-remaining-3600-anthropic"]) < 400 - by_alice
        assert _used_once_settled(gw, "/consumer_groups/team/ai-usage", by_team) == by_team
        [line] = _usage(gw, "/consumers/alice/ai-usage")
        assert line["counted_for"] == {"consumer_group": "team"} and line["used"] == by_team
        # Carol's call is not counted anywhere, and carries no limit headers.
        third = _ask(carol)
        assert third.status_code == 200
        assert "x-ai-ratelimit-limit-3600-anthropic" not in third.headers
        assert _usage(gw, "/consumers/carol/ai-usage") == []
        time.sleep(0.3)  # past the moment a correction could still land
        assert _usage(gw, "/consumer_groups/team/ai-usage")[0]["used"] == by_team

        # Bob spends the rest; then alice is refused too, before the provider; carol is not.
        for _ in range(30):
            try:
                _ask(bob)
            except anthropic.RateLimitError:
                break
        calls = _upstream_calls(emulator)
        with pytest.raises(anthropic.RateLimitError):
            _ask(alice)
        assert _upstream_calls(emulator) == calls
        assert _ask(carol).status_code == 200
        [line] = _usage(gw, "/consumer_groups/team/ai-usage")
        assert 400 - 60 <= line["used"] <= 400 + 60


def test_cost_budget_per_group_in_openai_format(tmp_path: Path) -> None:
    # $0.002 for the whole team, on the OpenAI route (2.5 and 10 dollars a million tokens).
    group_plugin = """
    plugins:
      - name: ai-rate-limiting-advanced
        config:
          identifier: consumer-group
          tokens_count_strategy: cost
          window_type: fixed
          llm_providers:
            - {name: openai, limit: [0.002], window_size: [2592000]}
"""
    with start_emulator() as emulator, start_gateway(tmp_path) as gw:
        _start(gw, emulator, group_plugin)
        alice, bob, carol = (_openai(gw, k) for k in ("alice-key", "bob-key", "carol-key"))

        def ask(client: openai.OpenAI, text: str = "hi") -> Any:
            return client.chat.completions.with_raw_response.create(
                model="gpt-4.1", messages=[{"role": "user", "content": text}], max_tokens=20
            )

        first = ask(alice)
        assert first.headers["x-ai-ratelimit-limit-2592000-openai"] == "0.002"
        usage = first.parse().usage
        cost = (usage.prompt_tokens * 2.5 + usage.completion_tokens * 10.0) / 1e6
        used = _used_once_settled(gw, "/consumer_groups/team/ai-usage", cost)
        assert used == pytest.approx(cost, rel=1e-6)
        [line] = _usage(gw, "/consumer_groups/team/ai-usage")
        assert line["counted_for"] == {"consumer_group": "team"} and line["unit"] == "cost"
        # Bob draws on the same budget: one count for the group.
        ask(bob)
        used = _used_once_settled(gw, "/consumers/bob/ai-usage", 2 * cost)
        assert used == pytest.approx(2 * cost, rel=1e-6)

        # A prompt that would cost more than what remains: OpenAI's own 429, no call.
        calls = _upstream_calls(emulator)
        with pytest.raises(openai.RateLimitError) as refused:
            ask(alice, LONG * 2)
        assert _upstream_calls(emulator) == calls
        assert refused.value.status_code == 429
        assert refused.value.body == {
            "message": "AI token rate limit exceeded for provider(s): openai",
            "type": "insufficient_quota",
            "param": None,
            "code": "insufficient_quota",
        }
        assert int(refused.value.response.headers["retry-after"]) >= 1

        # Spend the rest; then both members are refused, carol (no group) is not.
        for _ in range(100):
            try:
                ask(bob, "hello " * 20)
            except openai.RateLimitError:
                break
        with pytest.raises(openai.RateLimitError):
            ask(alice)
        assert ask(carol).status_code == 200
        [line] = _usage(gw, "/consumer_groups/team/ai-usage")
        assert 0.002 - 0.0005 <= line["used"] <= 0.002 + 0.0005
        assert _usage(gw, "/consumers/carol/ai-usage") == []


def test_a_parallel_burst_cannot_pass_the_limit(tmp_path: Path) -> None:
    plugins = """
plugins:
  - name: ai-rate-limiting-advanced
    route: claude
    config:
      llm_format: anthropic
      tokens_count_strategy: prompt_tokens
      llm_providers:
        - {name: anthropic, limit: [3000], window_size: [3600]}
"""
    with start_emulator() as emulator, start_gateway(tmp_path, workers=2) as gw:
        _start(gw, emulator, "    plugins: []\n" + plugins)
        client = _claude(gw, "alice-key")

        def one(_: int) -> int:
            try:
                return int(_ask(client, LONG).status_code)
            except anthropic.RateLimitError:
                return 429

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(one, range(8)))
        # Each prompt is about 2,000 tokens: one fits in 3,000, two do not.
        assert statuses.count(200) == 1, statuses
        assert _upstream_calls(emulator) == 1
        [line] = _usage(gw, "/consumers/alice/ai-usage")
        assert line["used"] <= 3000


def test_invalid_configs_are_refused(tmp_path: Path) -> None:
    with start_emulator() as emulator, start_gateway(tmp_path) as gw:
        for config, expected in [
            ("llm_providers: [{name: openai, limit: [1, 2], window_size: [60]}]", "same number"),
            ("llm_providers: [{name: nobody, limit: [1], window_size: [60]}]", "expected one of"),
            (
                "strategy: cluster\nllm_providers: [{name: openai, limit: [1], window_size: [60]}]",
                "'cluster'",
            ),
            (
                "identifier: header\nllm_providers: [{name: openai, limit: [1], window_size: [60]}]",
                "header_name",
            ),
            (
                "strategy: redis\nredis: {cluster_nodes: [{ip: 10.0.0.1}]}\n"
                "llm_providers: [{name: openai, limit: [1], window_size: [60]}]",
                "Redis Cluster",
            ),
            (
                # On a route, no group to count for: refused, saying where it belongs.
                "identifier: consumer-group\n"
                "llm_providers: [{name: openai, limit: [1], window_size: [60]}]",
                "config.identifier: 'consumer-group' counts for the consumer group the plugin "
                "is scoped to, and this plugin is scoped to none",
            ),
        ]:
            body = "\n".join("      " + line for line in config.splitlines())
            plugins = f"plugins:\n  - name: ai-rate-limiting-advanced\n    config:\n{body}\n"
            done = gw.apply(CONFIG.format(emulator=emulator, plugins="    plugins: []\n" + plugins))
            assert done.returncode != 0, config
            assert expected in done.stdout + done.stderr, (config, done.stderr)


def test_two_nodes_share_a_limit_through_redis_and_survive_its_outage(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        redis_server(tmp_path, password="redis-s3cret") as redis,
        start_emulator() as emulator,
        start_gateway(tmp_path / "a") as a,
        start_gateway(tmp_path / "b") as b,
    ):
        plugins = f"""
plugins:
  - name: ai-rate-limiting-advanced
    route: claude
    config:
      llm_format: anthropic
      window_type: fixed
      namespace: claude-budget
      strategy: redis
      sync_rate: 0
      redis: {{host: 127.0.0.1, port: {redis.port}, password: redis-s3cret, read_timeout: 500}}
      llm_providers:
        - {{name: anthropic, limit: [200], window_size: [3600]}}
"""
        for node in (a, b):
            _start(node, emulator, "    plugins: []\n" + plugins)
        on_a, on_b = _claude(a, "alice-key"), _claude(b, "alice-key")
        spent = _ask(on_a).parse().usage
        one = spent.input_tokens + spent.output_tokens
        # Node b sees what node a counted.
        assert _used_once_settled(b, "/consumers/alice/ai-usage", one) == one
        passed = 0
        for node in [on_a, on_b] * 20:
            try:
                _ask(node)
                passed += 1
            except anthropic.RateLimitError:
                break
        assert 0 < passed < 200 // one + 1
        # Spent on one node is spent on the other.
        for node in (on_a, on_b):
            with pytest.raises(anthropic.RateLimitError):
                _ask(node)
        used = _usage(a, "/consumers/alice/ai-usage")[0]["used"]
        assert 200 - one <= used <= 200 + one

        redis.stop()
        calls = _upstream_calls(emulator)
        started = time.monotonic()
        for _ in range(3):  # let through, uncounted: the limit cannot be checked
            assert _ask(on_a).status_code == 200
        assert time.monotonic() - started < 30
        assert _upstream_calls(emulator) == calls + 3
        said = a.error_log().count("let through without counting")
        assert said == 1, a.error_log()[-2000:]
        assert "redis-s3cret" not in a.error_log()
        [line] = _usage(a, "/consumers/alice/ai-usage")
        assert "cannot be read" in line["error"] and "used" not in line


ADVANCED = """
_format_version: "3.0"
services:
  - name: llm
    url: http://127.0.0.1:9/unused
    routes:
      - name: adv
        paths: ["/adv"]
        plugins:
          - name: ai-proxy-advanced
            config:
              llm_format: anthropic
              targets:
                - route_type: llm/v1/chat
                  auth: {{header_name: authorization, header_value: Bearer sk-openai-secret}}
                  model:
                    provider: openai
                    name: gpt-4.1
                    model_alias: claude-sonnet-4-6
                    options: {{upstream_url: "{emulator}/openai/v1/chat/completions"}}
          - name: ai-rate-limiting-advanced
            config:
              llm_format: anthropic
              identifier: ip
              tokens_count_strategy: prompt_tokens
              llm_providers:
                - {{name: openai, limit: [1000], window_size: [60]}}
                - {{name: anthropic, limit: [1], window_size: [60]}}
"""


def test_ai_proxy_advanced_names_its_providers(tmp_path: Path) -> None:
    with start_emulator() as emulator, start_gateway(tmp_path) as gw:
        done = gw.apply(ADVANCED.format(emulator=emulator))
        assert done.returncode == 0, done.stdout + done.stderr
        gw.wait_config()
        client = anthropic.Anthropic(
            base_url=gw.proxy_url + "/adv", api_key="unused", max_retries=0, timeout=60
        )
        answer = _ask(client)
        # Only the provider the route calls is limited (anthropic's limit of 1 is not).
        assert answer.headers["x-ai-ratelimit-limit-60-openai"] == "1000"
        assert "x-ai-ratelimit-limit-60-anthropic" not in answer.headers
        calls = _upstream_calls(emulator)
        with pytest.raises(anthropic.RateLimitError) as refused:
            _ask(client, LONG)
        assert _upstream_calls(emulator) == calls
        assert refused.value.body["error"]["type"] == "rate_limit_error"


BALANCED = """
_format_version: "3.0"
services:
  - name: llm
    url: http://127.0.0.1:9/unused
    routes:
      - name: adv
        paths: ["/adv"]
        plugins:
          - name: ai-proxy-advanced
            config:
              llm_format: anthropic
              balancer: {{algorithm: round-robin}}
              targets:
                - route_type: llm/v1/chat
                  auth: {{header_name: authorization, header_value: Bearer sk-openai-secret}}
                  model:
                    provider: openai
                    name: gpt-4.1
                    options: {{upstream_url: "{emulator}/openai/v1/chat/completions"}}
                - route_type: llm/v1/chat
                  auth: {{header_name: x-api-key, header_value: sk-ant-secret}}
                  model:
                    provider: anthropic
                    name: claude-sonnet-4-6
                    options:
                      upstream_url: "{emulator}/anthropic/v1/messages"
                      anthropic_version: "2023-06-01"
          - name: ai-rate-limiting-advanced
            config:
              llm_format: anthropic
              identifier: ip
              window_type: fixed
              llm_providers:
                - {{name: openai, limit: [100000], window_size: [3600]}}
                - {{name: anthropic, limit: [1], window_size: [3600]}}
"""


def test_ai_proxy_advanced_reserves_on_the_target_the_balancer_picks(tmp_path: Path) -> None:
    # Round-robin over openai and anthropic; anthropic's limit (1 token) refuses any
    # call, openai's none. A call the balancer sends to openai must not be refused
    # for anthropic's limit, nor counted there.
    with start_emulator() as emulator, start_gateway(tmp_path) as gw:
        done = gw.apply(BALANCED.format(emulator=emulator))
        assert done.returncode == 0, done.stdout + done.stderr
        gw.wait_config()
        client = anthropic.Anthropic(
            base_url=gw.proxy_url + "/adv", api_key="unused", max_retries=0, timeout=60
        )
        answered, refused = [], []
        for _ in range(4):
            try:
                answered.append(
                    client.messages.with_raw_response.create(
                        model="any", max_tokens=20, messages=[{"role": "user", "content": "hi"}]
                    )
                )
            except anthropic.RateLimitError as exc:
                refused.append(exc)
        assert len(answered) == 2 and len(refused) == 2
        for answer in answered:
            assert answer.headers["x-ai-ratelimit-limit-3600-openai"] == "100000"
            assert "x-ai-ratelimit-limit-3600-anthropic" not in answer.headers
        for exc in refused:
            assert exc.body["error"]["message"].endswith("provider(s): anthropic")
        # Only openai was called, twice.
        paths = [r["path"] for r in _emulator_requests(emulator)]
        assert len(paths) == 2 and all("openai" in p for p in paths), paths


def _emulator_requests(emulator: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(emulator + "/_emulator/requests", timeout=10) as resp:
        found: list[dict[str, Any]] = json.load(resp)
    return found
