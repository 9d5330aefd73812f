"""Token accounting shared by every provider and wire format."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Usage", "estimate_tokens"]


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
