"""Windows of N seconds, fixed or sliding, over the shared counters; the
counter keys, so that the Admin API reads what the proxy counts."""

from __future__ import annotations

from dataclasses import dataclass

from lockgate.counters import Counters, WindowCounts

__all__ = ["Window", "counter_key", "read_used", "seconds_text", "used", "window_of"]


@dataclass(frozen=True, slots=True)
class Window:
    id: int
    starts_at: float
    ends_at: float
    #: Epoch seconds when the count stops mattering: the end of the next window.
    expires_at: int


def window_of(size: float, now: float) -> Window:
    number = int(now // size)
    return Window(number, number * size, (number + 1) * size, int((number + 2) * size) + 1)


def used(counts: WindowCounts, window: Window, size: float, window_type: str, now: float) -> float:
    """The count that is compared with the limit: a sliding window adds the
    previous window's count weighted by how much of it still overlaps."""
    if window_type == "fixed":
        return counts.current
    overlap = max(0.0, 1.0 - (now - window.starts_at) / size)
    return counts.current + counts.previous * overlap


def seconds_text(size: float) -> str:
    """A window's size as Kong's header names show it: ``60``, ``2592000``, ``0.5``."""
    return str(int(size)) if float(size).is_integer() else repr(float(size))


def counter_key(namespace: str, provider: str, size: float, who: str) -> str:
    return f"airl:{namespace}:{provider}:{seconds_text(size)}:{who}"


async def read_used(
    counters: Counters, key: str, size: float, window_type: str, now: float
) -> tuple[float, Window]:
    """What ``key`` has used so far (adding nothing), and its window."""
    window = window_of(size, now)
    counts = await counters.add(key, window.id, 0.0, window.expires_at)
    return used(counts, window, size, window_type, now), window
