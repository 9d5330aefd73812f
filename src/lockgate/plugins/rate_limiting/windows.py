"""Kong's calendar periods (second to year, in UTC) as numbered windows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["PERIODS", "Window", "window_of"]

PERIODS = ("second", "minute", "hour", "day", "month", "year")
_FIXED = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True, slots=True)
class Window:
    #: Consecutive windows have consecutive numbers.
    id: int
    #: Epoch seconds: when this window ends, and when its count stops mattering
    #: (the end of the window after it).
    ends_at: int
    expires_at: int


def _month_start(year: int, month: int) -> int:
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return int(datetime(year, month, 1, tzinfo=UTC).timestamp())


def window_of(period: str, now: float) -> Window:
    seconds = _FIXED.get(period)
    if seconds is not None:
        number = int(now) // seconds
        return Window(number, (number + 1) * seconds, (number + 2) * seconds)
    day = datetime.fromtimestamp(now, UTC)
    if period == "month":
        return Window(
            day.year * 12 + day.month - 1,
            _month_start(day.year, day.month + 1),
            _month_start(day.year, day.month + 2),
        )
    return Window(day.year, _month_start(day.year + 1, 1), _month_start(day.year + 2, 1))
