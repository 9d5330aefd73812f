"""What one AI call reports, and the row the ledger keeps for it."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["COLUMNS", "GROUPS", "TIMINGS", "AICall"]


@dataclass(slots=True)
class AICall:
    """The facts of one proxied AI call, set on the request by ai-proxy (and
    ai-proxy-advanced) whether or not ``logging.log_statistics`` is on, so
    the ledger sees every call. Token counts follow OpenAI's convention
    (:class:`lockgate.llm.usage.Usage`); times are milliseconds."""

    provider: str
    request_model: str | None
    response_model: str | None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cost: float = 0.0
    llm_latency_ms: int = 0
    ttft_ms: int | None = None
    #: "stream" or "oneshot".
    mode: str = "oneshot"


#: The ledger's columns, in the order rows are written (a row is a tuple).
COLUMNS: tuple[str, ...] = (
    "time",  # seconds since the epoch (float) when the request started
    "request_id",
    "consumer",  # username, else custom_id, else id; None without a consumer
    "route",  # name, else id
    "service",  # name, else id
    "provider",
    "request_model",
    "response_model",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "cost",
    "latency_ms",  # the whole request, as the client saw it
    "llm_latency_ms",  # the provider's part
    "ttft_ms",  # time to the first token (None when the call failed)
    "status",
    "mode",
    "session_id",  # Claude Code's X-Claude-Code-Session-Id, when sent
)

#: ``group_by`` values of the totals, and the column (or time bucket) each groups on.
GROUPS: dict[str, str] = {
    "consumer": "consumer",
    "model": "request_model",
    "provider": "provider",
    "route": "route",
    "day": "day",
    "hour": "hour",
    "minute": "minute",
}

#: Columns whose percentiles the summary reports.
TIMINGS = ("latency_ms", "ttft_ms", "llm_latency_ms")
