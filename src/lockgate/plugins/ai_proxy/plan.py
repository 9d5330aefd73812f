"""What a route's AI proxy is about to do, for the plugins that must decide
before the provider is called (ai-rate-limiting-advanced).

The AI proxy parses the client's request once, whoever asks first: a limiter
running before it (Kong's priorities put limits before ai-proxy) asks
:meth:`plan` on the proxy's handler, which keeps the parsed call for its own
``access``. No plugin reads another's private state.
"""

from __future__ import annotations

from collections.abc import Sequence

from lockgate.llm.usage import Usage
from lockgate.plugins.ai_proxy.exchange import ClientCall
from lockgate.plugins.ai_proxy.recording import estimate_prompt
from lockgate.plugins.ai_proxy.target import Target

__all__ = ["PlannedCall", "plan_call"]


class PlannedCall:
    """A call the route is about to make, as far as it is known before it is made.

    The prompt estimate and its prices are worked out on first use: a token
    limit needs no prices, and a limit on another provider needs neither.
    """

    __slots__ = ("_call", "_costs", "_targets", "client_format", "operation", "providers")

    def __init__(self, call: ClientCall, targets: Sequence[Target]) -> None:
        self._call = call
        self._targets = targets
        self._costs: dict[str, float] | None = None
        #: The client's wire format ("anthropic", "openai", ...): refusals are answered in it.
        self.client_format = call.client_format
        #: "chat", "count_tokens" or "embeddings".
        self.operation = call.operation
        #: The providers the route may call, in the order of its targets.
        self.providers: tuple[str, ...] = tuple(dict.fromkeys(t.provider_name for t in targets))

    @property
    def prompt_tokens(self) -> int:
        """The prompt's tokens, estimated from the request body (0 when nothing is generated)."""
        return estimate_prompt(self._call) if self.operation == "chat" else 0

    @property
    def prompt_costs(self) -> dict[str, float]:
        """For each provider the route may call: the prompt's estimated cost there in
        dollars (the highest among its targets), priced as the call will be logged."""
        costs = self._costs
        if costs is None:
            prompt = self.prompt_tokens
            costs = self._costs = {}
            for target in self._targets:
                model = target.resolve_model(self._call.requested_model)
                cost = target.cost(Usage(prompt_tokens=prompt), model)[0] if prompt else 0.0
                name = target.provider_name
                costs[name] = max(costs.get(name, 0.0), cost)
        return costs


def plan_call(call: ClientCall, targets: Sequence[Target]) -> PlannedCall:
    return PlannedCall(call, targets)
