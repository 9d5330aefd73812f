"""Back-off and rate-limit headers renamed for the client's format."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multidict import CIMultiDict

from lockgate.llm.wire.rate_limit_headers import (
    client_rate_limit_headers,
    duration_seconds,
    format_duration,
    google_retry_after,
)

NOW = datetime(2026, 12, 3, 8, 0, 0, tzinfo=UTC).timestamp()

OPENAI_429 = CIMultiDict(
    {
        "Retry-After": "20",
        "retry-after-ms": "19500",
        "x-should-retry": "true",
        "x-ratelimit-limit-requests": "500",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "6m0s",
        "x-ratelimit-limit-tokens": "30000",
        "x-ratelimit-remaining-tokens": "29000",
        "x-ratelimit-reset-tokens": "20ms",
        "x-request-id": "req_abc",
        "content-type": "application/json",
    }
)

ANTHROPIC_429 = CIMultiDict(
    {
        "retry-after": "7",
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-requests-remaining": "0",
        "anthropic-ratelimit-requests-reset": "2026-12-03T08:00:07Z",
        "anthropic-ratelimit-tokens-limit": "80000",
        "anthropic-ratelimit-tokens-remaining": "12000",
        "anthropic-ratelimit-tokens-reset": "2026-12-03T08:01:30Z",
        "anthropic-ratelimit-input-tokens-limit": "40000",
        "anthropic-ratelimit-input-tokens-remaining": "0",
        "anthropic-ratelimit-input-tokens-reset": "2026-12-03T08:00:07Z",
        "request-id": "req_011C",
    }
)


def test_openai_headers_for_an_anthropic_client() -> None:
    assert client_rate_limit_headers(OPENAI_429, "anthropic", NOW) == {
        "retry-after": "20",
        "retry-after-ms": "19500",
        "x-should-retry": "true",
        "anthropic-ratelimit-requests-limit": "500",
        "anthropic-ratelimit-requests-remaining": "0",
        "anthropic-ratelimit-requests-reset": "2026-12-03T08:06:00Z",
        "anthropic-ratelimit-tokens-limit": "30000",
        "anthropic-ratelimit-tokens-remaining": "29000",
        # 20 ms rounds up to the next whole second: never earlier than asked.
        "anthropic-ratelimit-tokens-reset": "2026-12-03T08:00:01Z",
    }


def test_anthropic_headers_for_an_openai_client() -> None:
    assert client_rate_limit_headers(ANTHROPIC_429, "openai", NOW) == {
        "retry-after": "7",
        "x-ratelimit-limit-requests": "50",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "7s",
        "x-ratelimit-limit-tokens": "80000",
        "x-ratelimit-remaining-tokens": "12000",
        "x-ratelimit-reset-tokens": "1m30s",
    }


def test_same_format_passes_its_family_verbatim() -> None:
    out = client_rate_limit_headers(ANTHROPIC_429, "anthropic", NOW)
    assert out == {k: v for k, v in ANTHROPIC_429.items() if k != "request-id"}
    out = client_rate_limit_headers(OPENAI_429, "openai", NOW)
    assert out == {
        k.lower(): v
        for k, v in OPENAI_429.items()
        if k.lower() not in ("x-request-id", "content-type")
    }


def test_gemini_client_gets_only_back_off() -> None:
    assert client_rate_limit_headers(OPENAI_429, "gemini", NOW) == {
        "retry-after": "20",
        "retry-after-ms": "19500",
        "x-should-retry": "true",
    }


def test_unreadable_reset_is_left_out() -> None:
    out = client_rate_limit_headers(
        {"x-ratelimit-reset-requests": "soon", "anthropic-ratelimit-tokens-reset": "later"},
        "anthropic",
        NOW,
    )
    assert out == {"anthropic-ratelimit-tokens-reset": "later"}
    out = client_rate_limit_headers({"anthropic-ratelimit-requests-reset": "soon"}, "openai", NOW)
    assert out == {}


def test_durations() -> None:
    assert duration_seconds("6m0s") == 360
    assert duration_seconds("1h2m3.5s") == 3723.5
    assert duration_seconds("17ms") == 0.017
    assert duration_seconds("8.64s") == 8.64
    assert duration_seconds("") is None
    assert duration_seconds("6 minutes") is None
    assert format_duration(360) == "6m0s"
    assert format_duration(0.017) == "17ms"
    assert format_duration(8.64) == "8.64s"
    assert format_duration(3723.5) == "1h2m3.5s"
    assert format_duration(-3) == "0ms"


@given(st.integers(min_value=0, max_value=10 * 24 * 3600 * 1000))
def test_duration_round_trip(ms: int) -> None:
    parsed = duration_seconds(format_duration(ms / 1000))
    assert parsed is not None
    assert abs(parsed - ms / 1000) < 0.0015


def test_google_retry_delay() -> None:
    body = (
        b'{"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "x", "details": ['
        b'{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "12.3s"}]}}'
    )
    assert google_retry_after(body) == "13"
    assert google_retry_after(b"[" + body + b"]") == "13"
    assert google_retry_after(b'{"error": {"code": 429}}') is None
    assert google_retry_after(b"not json retryDelay") is None


def test_family_members_not_in_the_table_pass_too() -> None:
    # Anthropic's subscription limits (Claude Code reads them) are not among
    # the names looked up directly; they must still reach an Anthropic client.
    upstream = CIMultiDict(
        {
            "Anthropic-Ratelimit-Requests-Limit": "50",
            "anthropic-ratelimit-unified-status": "allowed",
            "anthropic-ratelimit-unified-reset": "1796302723",
            "Retry-After": "3",
            "content-type": "text/event-stream",
        }
    )
    assert client_rate_limit_headers(upstream, "anthropic", NOW) == {
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-unified-status": "allowed",
        "anthropic-ratelimit-unified-reset": "1796302723",
        "retry-after": "3",
    }


def test_names_are_matched_whatever_their_case() -> None:
    upstream = CIMultiDict(
        {
            "X-RateLimit-Limit-Requests": "60",
            "X-RateLimit-Reset-Requests": "1s",
            "X-Should-Retry": "false",
        }
    )
    assert client_rate_limit_headers(upstream, "openai", NOW) == {
        "x-ratelimit-limit-requests": "60",
        "x-ratelimit-reset-requests": "1s",
        "x-should-retry": "false",
    }
    assert client_rate_limit_headers(upstream, "anthropic", NOW) == {
        "anthropic-ratelimit-requests-limit": "60",
        "anthropic-ratelimit-requests-reset": "2026-12-03T08:00:01Z",
        "x-should-retry": "false",
    }


@pytest.mark.parametrize("fraction", [0.0, 0.001, 0.0049, 0.005, 0.0099, 0.4567, 0.9951, 0.9999])
def test_converted_resets_are_never_earlier_than_exact(fraction: float) -> None:
    # Conversions are shared within 10 ms: they may be later by that much
    # (a timestamp by up to its rounding to the second), never earlier.
    now = NOW + 7 + fraction
    to_openai = client_rate_limit_headers(
        {"anthropic-ratelimit-requests-reset": "2026-12-03T08:00:30Z"}, "openai", now
    )
    waited = duration_seconds(to_openai["x-ratelimit-reset-requests"])
    assert waited is not None
    exact = NOW + 30 - now
    assert exact - 0.0005 <= waited <= exact + 0.0105  # format_duration keeps milliseconds
    to_anthropic = client_rate_limit_headers({"x-ratelimit-reset-tokens": "2.5s"}, "anthropic", now)
    at = datetime.fromisoformat(
        to_anthropic["anthropic-ratelimit-tokens-reset"].replace("Z", "+00:00")
    ).timestamp()
    assert math.ceil(now + 2.5) <= at <= math.ceil(now + 2.5 + 0.01)
