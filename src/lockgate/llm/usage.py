"""Token accounting shared by every provider and wire format."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Usage", "estimate_tokens", "usage_cost"]


@dataclass(slots=True)
class Usage:
    """Token counts in OpenAI's convention.

    ``prompt_tokens`` counts every input token, cached ones included;
    ``cached_tokens`` is the cached part of it. ``completion_tokens`` includes
    reasoning tokens; ``reasoning_tokens`` is that part. ``estimated`` is true
    when the numbers were not reported by the provider.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cache_creation_tokens: int = 0
    reasoning_tokens: int = 0
    estimated: bool = False

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def reported(self) -> bool:
        return self.prompt_tokens > 0 or self.completion_tokens > 0


def estimate_tokens(text_bytes: int) -> int:
    """A provider-neutral estimate: about four bytes of UTF-8 per token."""
    return max(1, (text_bytes + 3) // 4)


def usage_cost(
    usage: Usage,
    input_price: float,
    output_price: float,
    cached_input_price: float | None = None,
    cache_write_price: float | None = None,
) -> float:
    """What ``usage`` costs at these prices (per million tokens). Cache hits
    and cache writes cost their own prices where given, else the input price;
    reasoning tokens are output tokens."""
    cached = min(usage.cached_tokens, usage.prompt_tokens)
    written = min(usage.cache_creation_tokens, usage.prompt_tokens - cached)
    fresh = usage.prompt_tokens - cached - written
    total = (
        fresh * input_price
        + cached * (input_price if cached_input_price is None else cached_input_price)
        + written * (input_price if cache_write_price is None else cache_write_price)
        + usage.completion_tokens * output_price
    )
    return total / 1e6
