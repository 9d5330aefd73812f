"""The rate-limit headers the real APIs send with every answer, and with a
429 or 503 the ``retry-after`` that tells clients how long to wait.

The figures are fixed and small (the emulator keeps no counters); what
matters to a gateway is the names and the formats: Anthropic gives resets
as RFC 3339 timestamps, OpenAI as durations (``6m0s``, ``20ms``).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

__all__ = ["REQUESTS_PER_MINUTE", "RETRY_AFTER", "anthropic_headers", "openai_headers"]

REQUESTS_PER_MINUTE = 50
TOKENS_PER_MINUTE = 80000
#: What a refused request is told to wait, in seconds.
RETRY_AFTER = 1


def _at(seconds_from_now: float) -> str:
    moment = datetime.fromtimestamp(int(time.time() + seconds_from_now + 0.999), UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def anthropic_headers(status: int = 200) -> dict[str, str]:
    """Anthropic's ``anthropic-ratelimit-*`` family; a 429 spent the requests limit."""
    limited = status == 429
    headers = {
        "anthropic-ratelimit-requests-limit": str(REQUESTS_PER_MINUTE),
        "anthropic-ratelimit-requests-remaining": "0" if limited else str(REQUESTS_PER_MINUTE - 1),
        "anthropic-ratelimit-requests-reset": _at(RETRY_AFTER if limited else 1.2),
        "anthropic-ratelimit-tokens-limit": str(TOKENS_PER_MINUTE),
        "anthropic-ratelimit-tokens-remaining": str(TOKENS_PER_MINUTE - 1000),
        "anthropic-ratelimit-tokens-reset": _at(1),
        "anthropic-ratelimit-input-tokens-limit": str(TOKENS_PER_MINUTE // 2),
        "anthropic-ratelimit-input-tokens-remaining": str(TOKENS_PER_MINUTE // 2 - 1000),
        "anthropic-ratelimit-input-tokens-reset": _at(1),
        "anthropic-ratelimit-output-tokens-limit": str(TOKENS_PER_MINUTE // 2),
        "anthropic-ratelimit-output-tokens-remaining": str(TOKENS_PER_MINUTE // 2),
        "anthropic-ratelimit-output-tokens-reset": _at(0),
    }
    if status in (429, 503):
        headers["retry-after"] = str(RETRY_AFTER)
    return headers


def openai_headers(status: int = 200) -> dict[str, str]:
    """OpenAI's ``x-ratelimit-*`` family; a 429 spent the requests limit."""
    limited = status == 429
    headers = {
        "x-ratelimit-limit-requests": str(REQUESTS_PER_MINUTE),
        "x-ratelimit-remaining-requests": "0" if limited else str(REQUESTS_PER_MINUTE - 1),
        "x-ratelimit-reset-requests": f"{RETRY_AFTER}s" if limited else "1.2s",
        "x-ratelimit-limit-tokens": str(TOKENS_PER_MINUTE),
        "x-ratelimit-remaining-tokens": str(TOKENS_PER_MINUTE - 1000),
        "x-ratelimit-reset-tokens": "750ms",
    }
    if status in (429, 503):
        headers["retry-after"] = str(RETRY_AFTER)
    return headers
