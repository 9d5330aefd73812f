"""Deterministic token counts and a prompt-cache model shared by the emulators.

Real tokenizers are not available offline, so every emulator counts one token
per four bytes of JSON. The numbers only need to be deterministic, plausible
and consistent between a counting endpoint and the usage of the same request.

The prompt cache mimics what the providers report: a request whose prefix was
seen before reads that prefix from the cache, so a gateway's accounting of
cached tokens can be tested end to end.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import orjson

__all__ = ["CacheHit", "PromptCache", "count_tokens", "json_tokens"]


def count_tokens(text: str | bytes) -> int:
    """About four bytes a token; never zero for non-empty input."""
    size = len(text.encode() if isinstance(text, str) else text)
    return (size + 3) // 4


def json_tokens(value: object) -> int:
    return count_tokens(orjson.dumps(value, option=orjson.OPT_SORT_KEYS))


@dataclass(slots=True)
class CacheHit:
    read: int = 0
    created: int = 0


@dataclass(slots=True)
class PromptCache:
    """Remembers request prefixes by hash, per provider and model.

    ``minimum`` is the smallest cacheable prefix in tokens; ``granularity``
    rounds cached counts down (OpenAI reports multiples of 128).
    """

    minimum: int = 1024
    granularity: int = 1
    _seen: set[bytes] = field(default_factory=set)

    @staticmethod
    def _key(scope: str, prefix: list[object]) -> bytes:
        raw = orjson.dumps([scope, prefix], option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(raw).digest()

    def automatic(self, scope: str, segments: list[object]) -> int:
        """Implicit caching (OpenAI, DashScope, Gemini): the longest known prefix
        at a segment boundary is read; every boundary is remembered."""
        best = 0
        for end in range(1, len(segments) + 1):
            prefix = segments[:end]
            tokens = json_tokens(prefix)
            key = self._key(scope, prefix)
            if key in self._seen and tokens >= self.minimum:
                best = tokens
            self._seen.add(key)
        return best - best % self.granularity

    def explicit(self, scope: str, segments: list[object], breakpoints: list[int]) -> CacheHit:
        """Anthropic's explicit caching: prefixes end at ``cache_control``
        breakpoints (indices into ``segments``, inclusive). The longest cached
        one is read; the part up to the last breakpoint is written."""
        hit = CacheHit()
        if not breakpoints:
            return hit
        last = max(breakpoints)
        total = json_tokens(segments[: last + 1])
        if total < self.minimum:
            return hit
        for bp in sorted(breakpoints, reverse=True):
            prefix = segments[: bp + 1]
            if self._key(scope, prefix) in self._seen:
                hit.read = json_tokens(prefix)
                break
        hit.created = total - hit.read
        for bp in breakpoints:
            self._seen.add(self._key(scope, segments[: bp + 1]))
        return hit

    def clear(self) -> None:
        self._seen.clear()
