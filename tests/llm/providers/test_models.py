"""The table of model facts, and how providers clamp output limits with it."""

from __future__ import annotations

from typing import Any

import pytest

from lockgate.llm.providers import provider_class
from lockgate.llm.providers.base import Provider
from lockgate.llm.providers.config import AuthConfig, ModelConfig, ModelOptions
from lockgate.llm.providers.models import _TABLE, ModelFacts, model_facts


def provider(name: str, model: str, **options: Any) -> Provider:
    auth = None
    if options.pop("vertex", False):
        options["gemini"] = {"project_id": "p", "location_id": "us-central1"}
        auth = AuthConfig(gcp_use_service_account=True)
    config = ModelConfig(provider=name, name=model, options=ModelOptions(**options))
    return provider_class(name)(config, auth)


@pytest.mark.parametrize(
    ("provider_name", "model", "context", "output"),
    [
        ("openai", "gpt-4o", 128_000, 16_384),
        ("openai", "gpt-4o-2024-08-06", 128_000, 16_384),
        ("openai", "gpt-4o-2024-05-13", 128_000, 4_096),
        ("openai", "gpt-4o-mini-2024-07-18", 128_000, 16_384),
        ("openai", "gpt-4.1", 1_047_576, 32_768),
        ("openai", "gpt-4.1-mini-2025-04-14", 1_047_576, 32_768),
        ("openai", "gpt-5", 400_000, 128_000),
        ("openai", "gpt-5-chat-latest", 128_000, 16_384),
        ("openai", "gpt-5.2-2025-12-11", 400_000, 128_000),
        ("openai", "o1-mini", 128_000, 65_536),
        ("openai", "o3-mini-2025-01-31", 200_000, 100_000),
        ("openai", "o4-mini", 200_000, 100_000),
        ("azure", "gpt-4o-mini", 128_000, 16_384),
        ("anthropic", "claude-3-haiku-20240307", 200_000, 4_096),
        ("anthropic", "claude-3-5-haiku-20241022", 200_000, 8_192),
        ("anthropic", "claude-3-7-sonnet-latest", 200_000, 64_000),
        ("anthropic", "claude-sonnet-4-20250514", 200_000, 64_000),
        ("anthropic", "claude-opus-4-1-20250805", 200_000, 32_000),
        ("anthropic", "claude-opus-4-5", 200_000, 64_000),
        ("anthropic", "claude-sonnet-4-6", 1_000_000, 128_000),
        ("anthropic", "claude-haiku-4-5-20251001", 200_000, 64_000),
        ("gemini", "gemini-2.0-flash", 1_048_576, 8_192),
        ("vertex", "publishers/google/models/gemini-2.0-flash-001", 1_048_576, 8_192),
        ("gemini", "models/gemini-2.5-pro", 1_048_576, 65_535),
        ("vertex", "gemini-2.5-flash-lite", 1_048_576, 65_535),
        ("vertex", "gemini-3-pro-preview", 1_048_576, 65_535),
        ("gemini", "gemini-3-flash-preview", 1_048_576, 65_535),
        ("dashscope", "qwen-max", 32_768, 8_192),
        ("dashscope", "qwen-plus-2025-07-14", 131_072, 16_384),
        ("dashscope", "qwen3-max", 262_144, 65_536),
        ("deepseek", "deepseek-chat", 131_072, 8_192),
        ("huggingface", "meta-llama/Llama-3.3-70B-Instruct:together", 131_072, None),
    ],
)
def test_known_models(provider_name: str, model: str, context: int, output: int | None) -> None:
    facts = model_facts(provider_name, model)
    assert facts is not None
    assert (facts.context_window, facts.max_output) == (context, output)


@pytest.mark.parametrize(
    ("provider_name", "model"),
    [
        ("openai", "my-fine-tune"),
        ("openai", "ft:gpt-4o:org::id"),  # a fine-tune may have its own limits
        ("anthropic", "claude-next-preview"),
        ("gemini", "learnlm-2.0-flash"),
        ("mistral", "mistral-large-latest"),  # no table for the provider
        ("openai", ""),
    ],
)
def test_unknown_models(provider_name: str, model: str) -> None:
    assert model_facts(provider_name, model) is None


def test_parameters_each_model_accepts() -> None:
    gpt5 = model_facts("openai", "gpt-5-mini")
    assert gpt5 is not None
    assert (gpt5.output_param, gpt5.sampling, gpt5.reasoning) == (
        "max_completion_tokens",
        "default_only",
        "effort",
    )
    gpt4o = model_facts("openai", "gpt-4o")
    assert gpt4o is not None
    assert (gpt4o.output_param, gpt4o.sampling, gpt4o.reasoning) == ("max_tokens", "any", "none")
    chat = model_facts("openai", "gpt-5-chat-latest")
    assert chat is not None and chat.output_param == "max_tokens"
    assert [model_facts("anthropic", m).reasoning for m in ("claude-3-5-sonnet-20241022",
            "claude-3-7-sonnet-20250219", "claude-opus-4-6")] == ["none", "budget", "adaptive"]  # fmt: skip
    flash = model_facts("gemini", "gemini-2.0-flash")
    assert flash is not None and (flash.output_param, flash.reasoning) == (
        "maxOutputTokens",
        "none",
    )
    qwen = model_facts("dashscope", "qwen-plus")
    assert qwen is not None and qwen.reasoning == "enable_thinking"
    assert (qwen.output_limit(), qwen.output_limit(thinking=True)) == (16_384, 32_768)


def _entries() -> list[tuple[str, ModelFacts]]:
    return [(name, facts) for name, families in _TABLE.items() for facts in families]


@pytest.mark.parametrize(("provider_name", "facts"), _entries(), ids=lambda v: str(v)[:40])
def test_every_row_is_reachable_and_sane(provider_name: str, facts: ModelFacts) -> None:
    """No row hides behind an earlier, wider pattern; limits and prices hold together."""
    sample = facts.family.replace("*", "x")
    found = model_facts(provider_name, sample)
    assert found is not None and found.family == facts.family
    if facts.max_output is not None and facts.context_window is not None:
        assert facts.max_output <= facts.context_window
    price = facts.price
    if price is not None:
        assert 0 < price.input <= price.output
        if price.cached_input is not None:
            assert price.cached_input < price.input
    if facts.max_output_thinking is not None:
        assert facts.max_output is not None and facts.max_output_thinking >= facts.max_output


def test_catch_alls_carry_no_price() -> None:
    """A new snapshot usually shares its family's limits, not its price."""
    for family in ("gpt-5*", "gpt-5.*-chat*", "gemini-3*", "qwen3*", "qwen*", "*"):
        rows = [f for _, f in _entries() if f.family == family]
        assert rows and all(f.price is None for f in rows), family


# -- clamping -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "model", "body", "expected"),
    [
        ("openai", "gpt-4o", {"max_tokens": 64000}, {"max_tokens": 16384}),
        ("openai", "gpt-4o", {"max_tokens": 64000, "max_completion_tokens": 20000},
         {"max_tokens": 16384, "max_completion_tokens": 16384}),
        ("openai", "gpt-4o-mini", {"max_tokens": 32000}, {"max_tokens": 16384}),
        ("openai", "gpt-4.1", {"max_completion_tokens": 64000}, {"max_completion_tokens": 32768}),
        ("openai", "gpt-4o", {"max_tokens": 1000}, {"max_tokens": 1000}),
        ("openai", "gpt-5", {"max_tokens": 64000}, {"max_completion_tokens": 64000}),
        ("openai", "o3", {"max_tokens": 200000}, {"max_completion_tokens": 100000}),
        ("openai", "my-fine-tune", {"max_tokens": 64000}, {"max_tokens": 64000}),
        ("azure", "gpt-4o", {"max_tokens": 64000}, {"max_tokens": 16384}),
        ("deepseek", "deepseek-chat", {"max_tokens": 32000}, {"max_tokens": 8192}),
        ("mistral", "mistral-large-latest", {"max_tokens": 64000}, {"max_tokens": 64000}),
        ("dashscope", "qwen-max", {"max_tokens": 32000, "stream": True},
         {"max_tokens": 8192, "stream": True}),
        ("dashscope", "qwen-plus", {"max_tokens": 64000, "stream": True},
         {"max_tokens": 16384, "stream": True}),
        ("dashscope", "qwen-plus", {"max_tokens": 64000, "stream": True, "reasoning_effort": "low"},
         {"max_tokens": 32768, "stream": True, "enable_thinking": True}),
        ("dashscope", "deepseek-v3", {"max_tokens": 64000, "stream": True},
         {"max_tokens": 16384, "stream": True}),
        ("anthropic", "claude-3-5-haiku-20241022", {"max_tokens": 64000}, {"max_tokens": 8192}),
        ("anthropic", "claude-sonnet-4-6", {"max_tokens": 64000}, {"max_tokens": 64000}),
        ("anthropic", "claude-next-preview", {"max_tokens": 500000}, {"max_tokens": 500000}),
        ("anthropic", "claude-opus-4-1", {"max_tokens": 64000, "thinking": {"type": "enabled", "budget_tokens": 40000}},
         {"max_tokens": 32000, "thinking": {"type": "enabled", "budget_tokens": 31999}}),
        ("anthropic", "claude-3-haiku-20240307", {"max_tokens": 64000, "thinking": {"type": "enabled", "budget_tokens": 8000}},
         {"max_tokens": 4096, "thinking": {"type": "enabled", "budget_tokens": 4095}}),
    ],
)  # fmt: skip
def test_prepare_chat_clamps_output(
    name: str, model: str, body: dict[str, Any], expected: dict[str, Any]
) -> None:
    p = provider(name, model)
    out = p.prepare_chat(dict(body), model)
    assert out == expected
    assert not p.output_over_limit(out, model)


def test_output_over_limit() -> None:
    assert provider("openai", "gpt-4o").output_over_limit({"max_tokens": 16385}, "gpt-4o")
    assert not provider("openai", "gpt-4o").output_over_limit({"max_tokens": 16384}, "gpt-4o")
    assert not provider("openai", "x").output_over_limit({"max_tokens": 10**9}, "x")
    claude = provider("anthropic", "claude-3-5-haiku-latest")
    assert claude.output_over_limit({"max_tokens": 32000}, "claude-3-5-haiku-latest")


def test_anthropic_drops_thinking_with_no_room_left() -> None:
    p = provider("anthropic", "claude-3-7-sonnet")
    body = {"max_tokens": 900, "thinking": {"type": "enabled", "budget_tokens": 1024}}
    assert p.prepare_chat(body, "claude-3-7-sonnet") == {"max_tokens": 900}


@pytest.mark.parametrize("vertex", [True, False])
def test_gemini_clamps_max_output_tokens_without_touching_the_clients_objects(
    vertex: bool,
) -> None:
    p = provider("gemini", "gemini-2.0-flash", vertex=vertex)
    config = {"maxOutputTokens": 64000, "temperature": 0.2}
    body = {"contents": [], "generationConfig": config}
    out = p.prepare_chat(dict(body), "gemini-2.0-flash")
    assert out["generationConfig"] == {"maxOutputTokens": 8192, "temperature": 0.2}
    assert config["maxOutputTokens"] == 64000
    unknown = {"generationConfig": {"maxOutputTokens": 64000}}
    assert p.prepare_chat(dict(unknown), "learnlm-2.0-flash") == unknown
    assert p.prepare_chat({"contents": []}, "gemini-2.0-flash") == {"contents": []}


def test_openai_reasoning_rules_come_from_the_table() -> None:
    p = provider("openai", "gpt-5-chat-latest")
    body = {"max_tokens": 64000, "temperature": 0.3, "reasoning_effort": "low"}
    # A chat snapshot: max_tokens and sampling stay, reasoning_effort goes, the limit applies.
    assert p.prepare_chat(dict(body), "gpt-5-chat-latest") == {
        "max_tokens": 16384,
        "temperature": 0.3,
    }


def test_huggingface_output_fits_the_context_window_with_the_input() -> None:
    model = "Qwen/Qwen3-32B"
    p = provider("huggingface", model)
    small = {"model": model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 32000}
    assert p.prepare_chat(dict(small), model)["max_tokens"] == 32000  # 40960 leaves room
    big = {**small, "messages": [{"role": "user", "content": "x" * 60_000}]}
    out = p.prepare_chat(dict(big), model)
    # About 60000 bytes of input at three bytes a token leave 40960 - 20000.
    assert 20_000 < out["max_tokens"] < 21_000
    overflowing = {**small, "messages": [{"role": "user", "content": "x" * 200_000}]}
    assert p.prepare_chat(dict(overflowing), model)["max_tokens"] == 32000  # refused as too long
    unknown = {**big, "model": "someone/private-model"}
    assert p.prepare_chat(dict(unknown), "someone/private-model")["max_tokens"] == 32000
