"""The budgets part of ``lockgate usage --consumer NAME``: what each limit
of ai-rate-limiting-advanced that applies to the consumer has counted, and
what remains (``GET /consumers/{consumer}/ai-usage``)."""

from __future__ import annotations

from typing import Any

__all__ = ["format_budgets"]


def _window(seconds: float) -> str:
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _amount(value: float, unit: str) -> str:
    return f"${value:,.4f}" if unit == "cost" else f"{value:,.0f}"


def format_budgets(body: dict[str, Any]) -> str:
    """One line per limit: who is counted, provider, window, unit, limit, used, remaining."""
    lines: list[tuple[str, ...]] = [
        ("COUNTED FOR", "PROVIDER", "WINDOW", "UNIT", "LIMIT", "USED", "REMAINING")
    ]
    for item in body["data"]:
        unit = item["unit"]
        who = item["counted_for"]
        name = f"group {who['consumer_group']}" if "consumer_group" in who else "consumer"
        if "error" in item:
            used = remaining = "unavailable"
        else:
            used, remaining = _amount(item["used"], unit), _amount(item["remaining"], unit)
        lines.append(
            (
                name,
                item["provider"],
                _window(item["window_size"]),
                unit,
                _amount(item["limit"], unit),
                used,
                remaining,
            )
        )
    consumer = body["consumer"].get("username") or body["consumer"]["id"]
    if len(lines) == 1:
        return f"No token or cost limits apply to consumer {consumer}.\n"
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    text = [f"Limits and budgets of consumer {consumer}"]
    for n, line in enumerate(lines):
        cells = [c.ljust(w) for c, w in zip(line[:4], widths[:4], strict=True)]
        cells += [c.rjust(w) for c, w in zip(line[4:], widths[4:], strict=True)]
        text.append("  ".join(cells).rstrip())
        if n == 0:
            text.append("  ".join("-" * w for w in widths))
    return "\n".join(text) + "\n"
