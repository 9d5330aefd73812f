"""Reading the ledger: the one module the Admin API's ``/ai/*`` endpoints
use (and, through them, ``lockgate usage`` and the dashboard).

Times in and out: a query accepts seconds since the epoch or ISO 8601
(``2026-12-03``, ``2026-12-03T07:00:00Z``; a time without a zone is UTC) and
relative ages (``7d``, ``12h``, ``30m``: that long before now); rows carry
ISO 8601 UTC times.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

from lockgate.usage.rows import GROUPS
from lockgate.usage.storage import UsageStorage

__all__ = [
    "DEFAULT_WINDOW",
    "MAX_LIMIT",
    "BadQuery",
    "iso_time",
    "parse_time",
    "recent_requests",
    "request_detail",
    "usage_summary",
    "usage_totals",
]

#: Without ``from``, totals cover this many seconds before ``to``.
DEFAULT_WINDOW = 7 * 86400
MAX_LIMIT = 1000
_AGE = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class BadQuery(ValueError):
    """A query parameter that cannot be understood; the message names it."""


def parse_time(name: str, value: str, now: float) -> float:
    text = value.strip()
    age = _AGE.match(text)
    if age:
        return now - float(age.group(1)) * _UNIT[age.group(2)]
    try:
        return float(text)
    except ValueError:
        pass
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadQuery(
            f"{name}: expected seconds since the epoch, an ISO 8601 time or an age "
            f"such as 7d, got {value!r}"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


def iso_time(seconds: float) -> str:
    when = dt.datetime.fromtimestamp(seconds, dt.UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _window(params: dict[str, str]) -> tuple[float, float]:
    now = time.time()
    until = parse_time("to", params["to"], now) if params.get("to") else now
    since = (
        parse_time("from", params["from"], now) if params.get("from") else until - DEFAULT_WINDOW
    )
    return since, until


async def usage_totals(storage: UsageStorage, params: dict[str, str]) -> dict[str, Any]:
    """``GET /ai/usage``: totals per group over a time window."""
    since, until = _window(params)
    group_by = params.get("group_by") or "model"
    if group_by not in GROUPS:
        raise BadQuery(f"group_by: expected one of {', '.join(GROUPS)}, got {group_by!r}")
    consumer = params.get("consumer") or None
    groups = await storage.totals(since, until, group_by, consumer)
    overall: dict[str, Any] = {
        "requests": 0,
        "errors": 0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "cached_tokens": 0,
        "reasoning_tokens": 0,
        "cost": 0.0,
    }
    for group in groups:
        for key in overall:
            group[key] = group.get(key) or 0
            overall[key] += group[key]
    return {
        "from": iso_time(since),
        "to": iso_time(until),
        "group_by": group_by,
        "consumer": consumer,
        "data": groups,
        "total": overall,
    }


async def recent_requests(storage: UsageStorage, params: dict[str, str]) -> dict[str, Any]:
    """``GET /ai/requests``: the newest rows, newest first; ``next`` is the
    ``before`` value for the following page (None on the last page)."""
    raw_limit = params.get("limit") or "100"
    try:
        limit = int(raw_limit)
    except ValueError:
        raise BadQuery(f"limit: expected a whole number, got {raw_limit!r}") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise BadQuery(f"limit: expected 1 to {MAX_LIMIT}, got {limit}")
    before = parse_time("before", params["before"], time.time()) if params.get("before") else None
    rows = await storage.recent(limit, before)
    next_before = rows[-1]["time"] if len(rows) == limit else None
    for row in rows:
        row["time"] = iso_time(row["time"])
    return {"data": rows, "next": repr(next_before) if next_before is not None else None}


async def usage_summary(storage: UsageStorage, params: dict[str, str]) -> dict[str, Any]:
    """``GET /ai/summary``: the window's totals, error rate, and p50/p95 of
    latency and time to first token (nearest rank, milliseconds)."""
    body = await usage_totals(storage, {**params, "group_by": "provider"})
    since, until = _window(params)
    summary: dict[str, Any] = {"from": body["from"], "to": body["to"], **body["total"]}
    requests = summary["requests"]
    summary["error_rate"] = summary["errors"] / requests if requests else 0.0
    for column in ("latency_ms", "ttft_ms"):
        p50, p95 = await storage.percentiles(since, until, column, (0.5, 0.95))
        summary[f"{column}_p50"] = p50
        summary[f"{column}_p95"] = p95
    return summary


async def request_detail(storage: UsageStorage, request_id: str) -> dict[str, Any] | None:
    """``GET /ai/requests/{id}``: one request's row, or None."""
    row = await storage.one(request_id)
    if row is not None:
        row["time"] = iso_time(row["time"])
    return row
