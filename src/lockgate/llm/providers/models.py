"""What each model takes and costs: one table, per provider and model family.

For every family: the context window, the most output tokens one call may
ask for (the provider answers 400 above it, while Claude Code asks for 32000
to 64000 whatever the model), the name of the output-limit field, the
sampling it accepts, how it is told to think, and its list prices.

Families are shell globs on the model name (lower case, without a path
prefix such as ``models/`` or ``meta-llama/``, an ``@version`` or a
``:provider`` suffix), tried in order: the first match wins, so the specific
names come before the family's catch-all. A catch-all carries the family's
limits but no price: a new snapshot's limits are usually its family's, its
price is not. A model no pattern matches is unknown and passes through
unchanged.

Limits come from the providers' model pages, checked against the errors
their APIs give (OpenAI: ``max_tokens is too large: 64000. This model
supports at most 16384 completion tokens``; Vertex AI: ``maxOutputTokens
... supported range is from 1 (inclusive) to 8193 (exclusive)``; Anthropic:
``max_tokens: 64000 > 8192, which is the maximum allowed number of output
tokens for claude-3-5-haiku-...``; DashScope: ``Range of max_tokens should be
[1, 8192]``). Gemini's limits are Vertex AI's, one below the public API's
65536 for the 2.5 and 3 families, so that one number is accepted by both.

Prices are list prices in US dollars per million tokens, from the providers'
pricing pages (openai.com/api/pricing, anthropic.com/pricing,
ai.google.dev/gemini-api/docs/pricing and cloud.google.com/vertex-ai pricing,
Alibaba Model Studio's international (Singapore) price list, DeepSeek's
api-docs), cross-checked against LiteLLM's model_prices_and_context_window.json
(litellm 1.110.2), as of 2026-12-03. Where a provider prices long prompts
higher (Gemini Pro above 200k tokens, Qwen's tiers) the first tier is listed;
batch, priority and regional rates are not. ``cached_input`` is the price of
a cache hit, ``cache_write`` Anthropic's five-minute cache write; where they
are None, those tokens cost the input price.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Literal

__all__ = [
    "ModelFacts",
    "Price",
    "model_facts",
]

#: How a model is told how much to think.
Reasoning = Literal[
    "none",  # it does not think, or not on request
    "effort",  # OpenAI's reasoning_effort
    "budget",  # Anthropic's thinking.budget_tokens, Gemini 2.5's thinkingBudget
    "adaptive",  # Anthropic's thinking {"type": "adaptive"} as well as budgets
    "level",  # Gemini 3's thinkingLevel (budgets are mapped to levels)
    "enable_thinking",  # Qwen's enable_thinking flag
]
#: Which sampling parameters a model takes.
Sampling = Literal[
    "any",
    "default_only",  # OpenAI reasoning models: temperature and top_p only at 1
]


@dataclass(frozen=True, slots=True)
class Price:
    """US dollars per million tokens."""

    input: float
    output: float
    cached_input: float | None = None
    cache_write: float | None = None


@dataclass(frozen=True, slots=True)
class ModelFacts:
    family: str
    context_window: int | None
    max_output: int | None
    #: The request field that limits output (OpenAI's reasoning models refuse ``max_tokens``).
    output_param: Literal["max_tokens", "max_completion_tokens", "maxOutputTokens"] = "max_tokens"
    sampling: Sampling = "any"
    reasoning: Reasoning = "none"
    #: DashScope allows more output when the call thinks.
    max_output_thinking: int | None = None
    price: Price | None = None

    def output_limit(self, thinking: bool = False) -> int | None:
        if thinking and self.max_output_thinking is not None:
            return self.max_output_thinking
        return self.max_output


def _openai_reasoning(
    family: str, context: int, output: int, price: Price | None = None
) -> ModelFacts:
    return ModelFacts(
        family,
        context,
        output,
        output_param="max_completion_tokens",
        sampling="default_only",
        reasoning="effort",
        price=price,
    )


_OPENAI: tuple[ModelFacts, ...] = (
    # GPT-4o and GPT-4.1: 16384 and 32768 output tokens; Claude Code's 32000 fails on 4o.
    ModelFacts("gpt-4o-2024-05-13", 128_000, 4_096, price=Price(5.0, 15.0)),
    ModelFacts("gpt-4o-mini*", 128_000, 16_384, price=Price(0.15, 0.60, 0.075)),
    ModelFacts("gpt-4o*", 128_000, 16_384, price=Price(2.50, 10.0, 1.25)),
    ModelFacts("chatgpt-4o*", 128_000, 16_384, price=Price(5.0, 15.0)),
    ModelFacts("gpt-4.1-nano*", 1_047_576, 32_768, price=Price(0.10, 0.40, 0.025)),
    ModelFacts("gpt-4.1-mini*", 1_047_576, 32_768, price=Price(0.40, 1.60, 0.10)),
    ModelFacts("gpt-4.1*", 1_047_576, 32_768, price=Price(2.0, 8.0, 0.50)),
    ModelFacts("gpt-4-turbo*", 128_000, 4_096, price=Price(10.0, 30.0)),
    ModelFacts("gpt-4-*-preview", 128_000, 4_096, price=Price(10.0, 30.0)),
    ModelFacts("gpt-4", 8_192, 8_192, price=Price(30.0, 60.0)),
    ModelFacts("gpt-4-0613", 8_192, 8_192, price=Price(30.0, 60.0)),
    ModelFacts("gpt-3.5-turbo*", 16_385, 4_096, price=Price(0.50, 1.50)),
    # GPT-5: the chat snapshots take sampling and max_tokens, the rest are reasoning models.
    ModelFacts("gpt-5-chat*", 128_000, 16_384, price=Price(1.25, 10.0, 0.125)),
    _openai_reasoning("gpt-5.1-chat*", 128_000, 16_384, Price(1.25, 10.0, 0.125)),
    _openai_reasoning("gpt-5.2-chat*", 128_000, 16_384, Price(1.75, 14.0, 0.175)),
    _openai_reasoning("gpt-5.3-chat*", 128_000, 16_384, Price(1.75, 14.0, 0.175)),
    _openai_reasoning("gpt-5.*-chat*", 128_000, 16_384),
    _openai_reasoning("gpt-5-pro*", 400_000, 272_000, Price(15.0, 120.0)),
    _openai_reasoning("gpt-5.2-pro*", 400_000, 128_000, Price(21.0, 168.0)),
    _openai_reasoning("gpt-5.4-pro*", 1_050_000, 128_000, Price(30.0, 180.0)),
    _openai_reasoning("gpt-5.5-pro*", 1_050_000, 128_000, Price(30.0, 180.0)),
    _openai_reasoning("gpt-5-mini*", 400_000, 128_000, Price(0.25, 2.0, 0.025)),
    _openai_reasoning("gpt-5-nano*", 400_000, 128_000, Price(0.05, 0.40, 0.005)),
    _openai_reasoning("gpt-5.4-mini*", 400_000, 128_000, Price(0.75, 4.50, 0.075)),
    _openai_reasoning("gpt-5.4-nano*", 400_000, 128_000, Price(0.20, 1.25, 0.02)),
    _openai_reasoning("gpt-5", 400_000, 128_000, Price(1.25, 10.0, 0.125)),
    _openai_reasoning("gpt-5-20*", 400_000, 128_000, Price(1.25, 10.0, 0.125)),
    _openai_reasoning("gpt-5-codex*", 400_000, 128_000, Price(1.25, 10.0, 0.125)),
    _openai_reasoning("gpt-5.1*", 400_000, 128_000, Price(1.25, 10.0, 0.125)),
    _openai_reasoning("gpt-5.2*", 400_000, 128_000, Price(1.75, 14.0, 0.175)),
    _openai_reasoning("gpt-5.3*", 400_000, 128_000, Price(1.75, 14.0, 0.175)),
    _openai_reasoning("gpt-5.4*", 1_050_000, 128_000, Price(2.50, 15.0, 0.25)),
    _openai_reasoning("gpt-5.5*", 1_050_000, 128_000, Price(5.0, 30.0, 0.50)),
    _openai_reasoning("gpt-5*", 400_000, 128_000),
    # The o-series: 100000 output tokens (o1-mini 65536).
    _openai_reasoning("o1-mini*", 128_000, 65_536, Price(1.10, 4.40, 0.55)),
    _openai_reasoning("o1-pro*", 200_000, 100_000, Price(150.0, 600.0)),
    _openai_reasoning("o1*", 200_000, 100_000, Price(15.0, 60.0, 7.50)),
    _openai_reasoning("o3-mini*", 200_000, 100_000, Price(1.10, 4.40, 0.55)),
    _openai_reasoning("o3-pro*", 200_000, 100_000, Price(20.0, 80.0)),
    _openai_reasoning("o3-deep-research*", 200_000, 100_000, Price(10.0, 40.0, 2.50)),
    _openai_reasoning("o3*", 200_000, 100_000, Price(2.0, 8.0, 0.50)),
    _openai_reasoning("o4-mini-deep-research*", 200_000, 100_000, Price(2.0, 8.0, 0.50)),
    _openai_reasoning("o4-mini*", 200_000, 100_000, Price(1.10, 4.40, 0.275)),
)


def _claude(
    family: str,
    context: int,
    output: int,
    price: Price | None,
    reasoning: Reasoning = "budget",
) -> ModelFacts:
    return ModelFacts(family, context, output, reasoning=reasoning, price=price)


def _anthropic_price(input_price: float, output_price: float) -> Price:
    # Cache hits cost a tenth of the input price, five-minute cache writes 1.25 times it.
    return Price(input_price, output_price, input_price / 10, input_price * 1.25)


_ANTHROPIC: tuple[ModelFacts, ...] = (
    _claude("claude-3-haiku*", 200_000, 4_096, _anthropic_price(0.25, 1.25), "none"),
    _claude("claude-3-sonnet*", 200_000, 4_096, _anthropic_price(3.0, 15.0), "none"),
    _claude("claude-3-opus*", 200_000, 4_096, _anthropic_price(15.0, 75.0), "none"),
    _claude("claude-3-5-haiku*", 200_000, 8_192, _anthropic_price(0.80, 4.0), "none"),
    _claude("claude-3-5-sonnet*", 200_000, 8_192, _anthropic_price(3.0, 15.0), "none"),
    _claude("claude-3-7-sonnet*", 200_000, 64_000, _anthropic_price(3.0, 15.0)),
    _claude("claude-haiku-4-5*", 200_000, 64_000, _anthropic_price(1.0, 5.0)),
    _claude("claude-sonnet-4-6*", 1_000_000, 128_000, _anthropic_price(3.0, 15.0), "adaptive"),
    _claude("claude-sonnet-4-5*", 200_000, 64_000, _anthropic_price(3.0, 15.0)),
    _claude("claude-sonnet-4-0*", 200_000, 64_000, _anthropic_price(3.0, 15.0)),
    _claude("claude-sonnet-4-2025*", 200_000, 64_000, _anthropic_price(3.0, 15.0)),
    _claude("claude-opus-4-0*", 200_000, 32_000, _anthropic_price(15.0, 75.0)),
    _claude("claude-opus-4-2025*", 200_000, 32_000, _anthropic_price(15.0, 75.0)),
    _claude("claude-opus-4-1*", 200_000, 32_000, _anthropic_price(15.0, 75.0)),
    _claude("claude-opus-4-5*", 200_000, 64_000, _anthropic_price(5.0, 25.0)),
    _claude("claude-opus-4-6*", 1_000_000, 128_000, _anthropic_price(5.0, 25.0), "adaptive"),
    _claude("claude-opus-4-7*", 1_000_000, 128_000, _anthropic_price(5.0, 25.0), "adaptive"),
    _claude("claude-opus-4-8*", 1_000_000, 128_000, _anthropic_price(5.0, 25.0), "adaptive"),
)


def _gemini(
    family: str, context: int, output: int, price: Price | None, reasoning: Reasoning
) -> ModelFacts:
    return ModelFacts(
        family, context, output, output_param="maxOutputTokens", reasoning=reasoning, price=price
    )


_GEMINI_2_0 = 8_192
# Vertex AI refuses 65536 (its range ends there, exclusive); the public API takes it.
_GEMINI_2_5 = 65_535
_MILLION = 1_048_576

_GEMINI: tuple[ModelFacts, ...] = (
    _gemini("gemini-1.5-pro*", 2_097_152, 8_192, None, "none"),
    _gemini("gemini-1.5-flash*", _MILLION, 8_192, None, "none"),
    _gemini("gemini-2.0-flash-lite*", _MILLION, _GEMINI_2_0, Price(0.075, 0.30), "none"),
    _gemini("gemini-2.0-flash*", _MILLION, _GEMINI_2_0, Price(0.10, 0.40, 0.025), "none"),
    _gemini("gemini-2.5-flash-lite*", _MILLION, _GEMINI_2_5, Price(0.10, 0.40, 0.01), "budget"),
    _gemini("gemini-2.5-flash*", _MILLION, _GEMINI_2_5, Price(0.30, 2.50, 0.03), "budget"),
    _gemini("gemini-2.5-pro*", _MILLION, _GEMINI_2_5, Price(1.25, 10.0, 0.125), "budget"),
    _gemini("gemini-3-pro*", _MILLION, _GEMINI_2_5, Price(2.0, 12.0, 0.20), "level"),
    _gemini("gemini-3-flash*", _MILLION, _GEMINI_2_5, Price(0.50, 3.0, 0.05), "level"),
    _gemini("gemini-3.1-pro*", _MILLION, _GEMINI_2_5, Price(2.0, 12.0, 0.20), "level"),
    _gemini("gemini-3.1-flash-lite*", _MILLION, _GEMINI_2_5, Price(0.25, 1.50, 0.025), "level"),
    _gemini("gemini-3*", _MILLION, _GEMINI_2_5, None, "level"),
)

#: Vertex AI lists Gemini 2.0 above the public API; later models cost the same on both.
_VERTEX: tuple[ModelFacts, ...] = (
    _gemini("gemini-2.0-flash-lite*", _MILLION, _GEMINI_2_0, Price(0.075, 0.30), "none"),
    _gemini("gemini-2.0-flash*", _MILLION, _GEMINI_2_0, Price(0.15, 0.60), "none"),
)


def _qwen(
    family: str,
    context: int,
    output: int,
    thinking_output: int | None,
    price: Price | None,
) -> ModelFacts:
    return ModelFacts(
        family,
        context,
        output,
        reasoning="enable_thinking" if thinking_output else "none",
        max_output_thinking=thinking_output,
        price=price,
    )


_DASHSCOPE: tuple[ModelFacts, ...] = (
    _qwen("qwen-max*", 32_768, 8_192, None, Price(1.60, 6.40)),
    _qwen("qwen-plus*", 131_072, 16_384, 32_768, Price(0.40, 1.20)),
    _qwen("qwen-turbo*", 1_000_000, 16_384, 16_384, Price(0.05, 0.20)),
    _qwen("qwen-flash*", 1_000_000, 32_768, 32_768, Price(0.05, 0.40)),
    _qwen("qwen3-max*", 262_144, 65_536, None, Price(1.20, 6.0)),
    _qwen("qwen3-coder-plus*", 1_000_000, 65_536, None, Price(1.0, 5.0)),
    _qwen("qwen3-coder-flash*", 1_000_000, 65_536, None, Price(0.30, 1.50)),
    _qwen("qwq-plus*", 131_072, 8_192, 8_192, Price(0.80, 2.40)),
    # The open-weight Qwen3 models and anything newer: the service's usual ceiling per call.
    _qwen("qwen3*", 131_072, 16_384, 32_768, None),
    _qwen("qwen*", 131_072, 16_384, 32_768, None),
    # Other models on the service (DeepSeek, Kimi, GLM...): the same per-call
    # ceiling, which lockgate applied to every DashScope model before this table.
    ModelFacts("*", None, 16_384, max_output_thinking=32_768),
)

_DEEPSEEK: tuple[ModelFacts, ...] = (
    ModelFacts("deepseek-chat", 131_072, 8_192, price=Price(0.28, 0.42, 0.028)),
    ModelFacts(
        "deepseek-reasoner",
        131_072,
        65_536,
        sampling="default_only",
        reasoning="effort",
        price=Price(0.28, 0.42, 0.028),
    ),
)

#: Hub models behind the HuggingFace router: context windows from the model
#: cards (``max_position_embeddings``, what vLLM serves by default). The
#: output limit and price depend on the inference provider the router picks,
#: so neither is listed; the output must fit the context with the input.
_HUGGINGFACE: tuple[ModelFacts, ...] = (
    ModelFacts("llama-3.1-*", 131_072, None),
    ModelFacts("meta-llama-3.1-*", 131_072, None),
    ModelFacts("llama-3.2-*", 131_072, None),
    ModelFacts("llama-3.3-*", 131_072, None),
    ModelFacts("llama-4-scout*", 10_485_760, None),
    ModelFacts("llama-4-maverick*", _MILLION, None),
    ModelFacts("deepseek-r1*", 163_840, None, reasoning="budget"),
    ModelFacts("deepseek-v3*", 163_840, None),
    ModelFacts("qwen3-coder*", 262_144, None),
    ModelFacts("qwen3-*-2507*", 262_144, None),
    ModelFacts("qwen3-*", 40_960, None, reasoning="enable_thinking"),
    ModelFacts("qwen2.5-*", 32_768, None),
    ModelFacts("gpt-oss-*", 131_072, None, reasoning="effort"),
)

#: Provider name -> its families. Azure deploys OpenAI's models.
_TABLE: dict[str, tuple[ModelFacts, ...]] = {
    "openai": _OPENAI,
    "azure": _OPENAI,
    "anthropic": _ANTHROPIC,
    "gemini": _GEMINI,
    "vertex": _VERTEX + _GEMINI,
    "dashscope": _DASHSCOPE,
    "deepseek": _DEEPSEEK,
    "huggingface": _HUGGINGFACE,
}


def _normalize(model: str) -> str:
    name = model.rsplit("/", 1)[-1].lower()
    name = name.split("@", 1)[0]  # Vertex's claude-x@20250101
    return name.split(":", 1)[0]  # the HuggingFace router's model:provider


@lru_cache(maxsize=1024)
def model_facts(provider: str, model: str | None) -> ModelFacts | None:
    """The facts of ``model`` as ``provider`` serves it (``vertex`` for Gemini
    on Vertex AI); None when the model is unknown."""
    if not model:
        return None
    families = _TABLE.get(provider)
    if not families:
        return None
    name = _normalize(model)
    for facts in families:
        if fnmatchcase(name, facts.family):
            return facts
    return None
