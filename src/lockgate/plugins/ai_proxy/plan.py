"""What a route's AI proxy is about to do, for the plugins that must decide
before the provider is called (ai-rate-limiting-advanced).

The AI proxy parses the client's request once, whoever asks first: a limiter
running before it (Kong's priorities put limits before ai-proxy) asks
:meth:`plan` on the proxy's handler, which keeps the parsed call for its own
``access``. No plugin reads another's private state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from lockgate.llm.usage import Usage
from lockgate.plugins.ai_proxy.exchange import ClientCall
from lockgate.plugins.ai_proxy.recording import estimate_prompt
from lockgate.plugins.ai_proxy.target import Target

__all__ = ["PlannedCall", "plan_call"]


@dataclass(frozen=True, slots=True)
class PlannedCall:
    """A call the route is about to make, as far as it is known before it is made."""

    #: The client's wire format ("anthropic", "openai", ...): refusals are answered in it.
    client_format: str
    #: "chat", "count_tokens" or "embeddings".
    operation: str
    #: The prompt's tokens, estimated from the request body (0 when nothing is generated).
    prompt_tokens: int
    #: For each provider the route may call: the prompt's estimated cost there in
    #: dollars (the highest among its targets), priced as the call will be logged.
    prompt_costs: dict[str, float] = field(default_factory=dict)

    @property
    def providers(self) -> list[str]:
        return list(self.prompt_costs)


def plan_call(call: ClientCall, targets: Sequence[Target]) -> PlannedCall:
    prompt = estimate_prompt(call) if call.operation == "chat" else 0
    costs: dict[str, float] = {}
    for target in targets:
        model = target.resolve_model(call.requested_model)
        cost = target.cost(Usage(prompt_tokens=prompt), model)[0] if prompt else 0.0
        name = target.provider_name
        costs[name] = max(costs.get(name, 0.0), cost)
    return PlannedCall(call.client_format, call.operation, prompt, costs)
