"""Back-off signals of the provider, in the names the client's format uses.

Claude Code and both official SDKs wait as long as ``retry-after`` (or
``retry-after-ms``) says before retrying a 429 or a 5xx, and obey
``x-should-retry``; users read the rate-limit headers to pace themselves.
Those pass unchanged. The rate-limit families differ by format:

- OpenAI (and OpenAI-compatible providers): ``x-ratelimit-limit-requests``,
  ``x-ratelimit-remaining-requests``, ``x-ratelimit-reset-requests`` and the
  same three for ``tokens``; resets are durations (``6m0s``, ``1s``, ``20ms``).
- Anthropic: ``anthropic-ratelimit-requests-limit|remaining|reset`` and the
  same for ``tokens``, ``input-tokens`` and ``output-tokens``; resets are
  RFC 3339 timestamps.

A family reaches a client of its own format verbatim; across formats the
requests and tokens limits are renamed and their reset converted, and what
has no counterpart (Anthropic's input/output token limits) is left out.
Gemini sends no such headers: its 429 names the delay in the body
(``RetryInfo.retryDelay``), which becomes ``retry-after``.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache

import orjson

__all__ = [
    "client_rate_limit_headers",
    "duration_seconds",
    "format_duration",
    "google_retry_after",
]

#: Passed to every client unchanged: both SDKs read them under these names.
_BACK_OFF = ("retry-after", "retry-after-ms", "x-should-retry")
_OPENAI_PREFIX = "x-ratelimit-"
_ANTHROPIC_PREFIX = "anthropic-ratelimit-"
#: (kind, OpenAI name, Anthropic name) for the counterparts; kind says how to convert.
_PAIRS = tuple(
    (field, f"x-ratelimit-{field}-{unit}", f"anthropic-ratelimit-{unit}-{field}")
    for unit in ("requests", "tokens")
    for field in ("limit", "remaining", "reset")
)
#: The client format -> the prefix of its own rate-limit family.
_OWN_PREFIX = {
    "anthropic": _ANTHROPIC_PREFIX,
    "openai": _OPENAI_PREFIX,
    "responses": _OPENAI_PREFIX,
}
#: The client's own prefix -> the other family's.
_OTHER = {_ANTHROPIC_PREFIX: _OPENAI_PREFIX, _OPENAI_PREFIX: _ANTHROPIC_PREFIX}
#: The members of each family a provider usually sends, looked up by name.
_KNOWN = {
    _OPENAI_PREFIX: tuple(
        f"x-ratelimit-{field}-{unit}"
        for unit in ("requests", "tokens")
        for field in ("limit", "remaining", "reset")
    ),
    _ANTHROPIC_PREFIX: tuple(
        f"anthropic-ratelimit-{unit}-{field}"
        for unit in ("requests", "tokens", "input-tokens", "output-tokens")
        for field in ("limit", "remaining", "reset")
    ),
}
#: The client's own prefix -> {the other family's header: (its counterpart, is a reset)}.
_CONVERT = {
    _ANTHROPIC_PREFIX: {o: (a, field == "reset") for field, o, a in _PAIRS},
    _OPENAI_PREFIX: {a: (o, field == "reset") for field, o, a in _PAIRS},
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


def duration_seconds(text: str) -> float | None:
    """A Go-style duration as OpenAI writes it (``6m0s``, ``1.5s``, ``20ms``) in seconds."""
    text = text.strip()
    if not text:
        return None
    total, pos = 0.0, 0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            return None
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    return total if pos == len(text) else None


def format_duration(seconds: float) -> str:
    """Seconds as OpenAI writes a reset: ``20ms`` below a second, else ``1h2m3s`` / ``6m0s`` / ``1.5s``."""
    seconds = max(0.0, seconds)
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    if seconds < 60:  # the usual case: a reset within the minute
        return f"{round(seconds, 3):g}s"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    out = ""
    if hours:
        out += f"{int(hours)}h"
    if hours or minutes:
        out += f"{int(minutes)}m"
    return out + f"{round(secs, 3):g}s"


@lru_cache(maxsize=256)
def _timestamp(text: str) -> float | None:
    # Cached: every response of a provider repeats the same few reset times
    # (whole seconds), and parsing one costs more than the rest of the headers.
    try:
        return datetime.fromisoformat(text.strip().replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


@lru_cache(maxsize=256)
def _duration(text: str) -> float | None:
    # Cached: a provider repeats the same few durations.
    return duration_seconds(text)


@lru_cache(maxsize=256)
def _rfc3339(epoch: int) -> str:
    # Cached by the second: the responses of one second share it.
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def client_rate_limit_headers(
    upstream: Mapping[str, str], client_format: str, now: float | None = None
) -> dict[str, str]:
    """The provider's back-off and rate-limit headers, named for ``client_format``.

    ``upstream`` is the provider's response headers (case-insensitive
    mapping or lower-case keys); ``now`` (epoch seconds) anchors converted
    resets, for tests.
    """
    # Every response pays for this: the names are read in one pass (in C),
    # and only the families present are looked up, by name.
    names = "\n".join(upstream.keys()).lower()
    out: dict[str, str] = {}
    if "retry" in names:
        for name in _BACK_OFF:
            value = upstream.get(name)
            if value is not None:
                out[name] = value
    own = _OWN_PREFIX.get(client_format)
    if own is None or "ratelimit-" not in names:
        return out
    if own in names:  # the client's own family, whole
        found = 0
        for name in _KNOWN[own]:
            value = upstream.get(name)
            if value is not None:
                out[name] = value
                found += 1
        if names.count(own) > found:  # members the table does not name (Anthropic's unified-*)
            for name, value in zip(names.split("\n"), upstream.values(), strict=True):
                if name.startswith(own):
                    out[name] = value
    if _OTHER[own] not in names:
        return out
    moment = time.time() if now is None else now
    resets: dict[str, str | None] = {}  # a provider gives its families the same reset
    for source, (target, is_reset) in _CONVERT[own].items():
        value = upstream.get(source)
        if value is None or target in out:  # the client's own family wins
            continue
        if is_reset:
            if value not in resets:
                resets[value] = _reset_for(own, value, moment)
            converted = resets[value]
            if converted is not None:
                out[target] = converted
        else:
            out[target] = value
    return out


def _reset_for(own: str, value: str, now: float) -> str | None:
    if own == _ANTHROPIC_PREFIX:  # an OpenAI duration -> a timestamp
        seconds = _duration(value)
        # Rounded up: a client that waits until the reset must not come back early.
        return None if seconds is None else _rfc3339(math.ceil(now + seconds))
    # An Anthropic timestamp -> a duration, from the start of now's 10 ms:
    # at most 10 ms longer than exact (a client never comes back early), and
    # the same for every response of those 10 ms, which then share the work.
    return _duration_until(value, math.floor(now * 100))


@lru_cache(maxsize=256)
def _duration_until(value: str, centiseconds: int) -> str | None:
    at = _timestamp(value)
    return None if at is None else format_duration(at - centiseconds / 100)


def google_retry_after(body: bytes) -> str | None:
    """``retry-after`` (whole seconds) from a Google error's ``RetryInfo.retryDelay`` (``"30s"``)."""
    if not body or b"retryDelay" not in body:
        return None
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if isinstance(parsed, list) and parsed:
        parsed = parsed[0]
    error = parsed.get("error") if isinstance(parsed, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    for detail in details if isinstance(details, list) else []:
        delay = detail.get("retryDelay") if isinstance(detail, dict) else None
        if isinstance(delay, str):
            seconds = duration_seconds(delay)
            if seconds is not None:
                return str(max(1, math.ceil(seconds)))
    return None
