"""Target selection for ai-proxy-advanced.

Each algorithm orders the targets for one request; the handler tries them in
that order while failures meet the failover criteria. State (connections,
latency, usage, failures) is per worker process, kept on the plugin's handler
and rebuilt with the configuration.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence

from lockgate.plugins.ai_proxy.target import Target

__all__ = ["Balancer"]


class _Health:
    __slots__ = ("connections", "fails", "latency_ms", "tripped_until", "usage")

    def __init__(self) -> None:
        self.connections = 0
        self.latency_ms = 0.0
        self.usage = 0.0
        self.fails = 0
        self.tripped_until = 0.0


class Balancer:
    def __init__(
        self,
        targets: Sequence[Target],
        algorithm: str,
        *,
        max_fails: int,
        fail_timeout_ms: int,
        hash_header: str | None,
    ) -> None:
        self.targets = list(targets)
        self.algorithm = algorithm
        self.max_fails = max_fails
        self.fail_timeout = fail_timeout_ms / 1000
        self.hash_header = hash_header
        self.health = [_Health() for _ in self.targets]
        # Smooth weighted round-robin (nginx's): even spread, exact weights.
        self._current = [0] * len(self.targets)

    def _available(self, now: float) -> list[int]:
        ok = [i for i, h in enumerate(self.health) if h.tripped_until <= now]
        return ok or list(range(len(self.targets)))  # all tripped: try anyway rather than refuse

    def order(self, hash_value: str | None = None) -> list[Target]:
        now = time.monotonic()
        avail = self._available(now)
        algo = self.algorithm
        if algo == "priority":
            # Highest weight group first; round-robin inside a group.
            groups: dict[int, list[int]] = {}
            for i in avail:
                groups.setdefault(self.targets[i].weight, []).append(i)
            order: list[int] = []
            for weight in sorted(groups, reverse=True):
                order.extend(self._round_robin(groups[weight]))
        elif algo == "lowest-latency":
            order = sorted(avail, key=lambda i: self.health[i].latency_ms)
        elif algo == "lowest-usage":
            order = sorted(
                avail, key=lambda i: self.health[i].usage / max(self.targets[i].weight, 1)
            )
        elif algo == "least-connections":
            order = sorted(
                avail, key=lambda i: self.health[i].connections / max(self.targets[i].weight, 1)
            )
        elif algo == "consistent-hashing" and hash_value is not None:
            order = sorted(
                avail,
                key=lambda i: hashlib.sha1(f"{hash_value}:{i}".encode()).digest(),
                reverse=True,
            )
            # Rendezvous hashing weighted by repeating the best pick is enough here: keep the top one first.
        else:
            order = self._round_robin(avail)
        return [self.targets[i] for i in order]

    def _round_robin(self, indices: list[int]) -> list[int]:
        if len(indices) <= 1:
            return list(indices)
        total = sum(self.targets[i].weight for i in indices)
        for i in indices:
            self._current[i] += self.targets[i].weight
        best = max(indices, key=lambda i: self._current[i])
        self._current[best] -= total
        rest = sorted(
            (i for i in indices if i != best), key=lambda i: self._current[i], reverse=True
        )
        return [best, *rest]

    def started(self, target: Target) -> None:
        self.health[target.index].connections += 1

    def released(self, target: Target) -> None:
        """An attempt ended in a way that says nothing of the target's health."""
        h = self.health[target.index]
        h.connections = max(0, h.connections - 1)

    def finished(self, target: Target, *, ok: bool, latency_ms: float, tokens: int) -> None:
        h = self.health[target.index]
        h.connections = max(0, h.connections - 1)
        if ok:
            h.fails = 0
            h.latency_ms = latency_ms if not h.latency_ms else 0.7 * h.latency_ms + 0.3 * latency_ms
            h.usage += tokens
        else:
            h.fails += 1
            if self.max_fails and h.fails >= self.max_fails:
                h.tripped_until = time.monotonic() + self.fail_timeout
                h.fails = 0
