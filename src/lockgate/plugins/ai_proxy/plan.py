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
from lockgate.llm.wire.anthropic import estimate_anthropic_input_tokens
from lockgate.plugins.ai_proxy.exchange import ClientCall
from lockgate.plugins.ai_proxy.recording import estimate_prompt
from lockgate.plugins.ai_proxy.target import Target

__all__ = ["PlannedCall", "PromptEstimates", "plan_call"]


class PlannedCall:
    """A call the route is about to make, as far as it is known before it is made.

    The prompt estimate and its prices are worked out on first use: a token
    limit needs no prices, and a limit on another provider needs neither.
    """

    __slots__ = (
        "_call",
        "_costs",
        "_quick",
        "_targets",
        "client_format",
        "operation",
        "providers",
    )

    def __init__(self, call: ClientCall, targets: Sequence[Target]) -> None:
        self._call = call
        self._targets = targets
        self._costs: dict[str, float] | None = None
        self._quick: int | None = None
        #: The client's wire format ("anthropic", "openai", ...): refusals are answered in it.
        self.client_format = call.client_format
        #: "chat", "count_tokens" or "embeddings".
        self.operation = call.operation
        #: The providers the route may call, in the order of its targets.
        self.providers: tuple[str, ...] = (
            (targets[0].provider_name,)
            if len(targets) == 1
            else tuple(dict.fromkeys(t.provider_name for t in targets))
        )

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


#: Tool lists remembered per :class:`PromptEstimates` (emptied beyond this).
TOOL_LISTS = 64
#: Fewer tools than this are estimated with the rest of the prompt.
FEW_TOOLS = 8


class PromptEstimates:
    """A limiter's prompt estimates, with the tools' share remembered.

    Claude Code sends the same two dozen tool definitions (~65 KB, a third of
    them JSON schemas serialized to be measured) with every request: most of
    an estimate's cost. Their share is kept by the tools' names and
    description sizes, so that a request pays only for its messages. The sum
    may differ from :func:`estimate_prompt` by a token of rounding.
    """

    __slots__ = ("_tools",)

    def __init__(self) -> None:
        self._tools: dict[tuple[tuple[object, int], ...], int] = {}

    def tokens(self, plan: PlannedCall) -> int:
        quick = plan._quick
        if quick is None:
            quick = plan._quick = self._estimate(plan)
        return quick

    def _estimate(self, plan: PlannedCall) -> int:
        call = plan._call
        if (
            plan.operation != "chat"
            or call.client_format != "anthropic"
            or call.released
            or call.prompt_estimate is not None
        ):
            return plan.prompt_tokens
        body = call.parsed()
        tools = body.get("tools")
        if not isinstance(tools, list) or len(tools) < FEW_TOOLS:
            return plan.prompt_tokens
        try:
            key = tuple((t.get("name"), len(t.get("description") or "")) for t in tools)
        except (AttributeError, TypeError):  # not a list of objects: the full estimate
            return plan.prompt_tokens
        share = self._tools.get(key)
        if share is None:
            if len(self._tools) >= TOOL_LISTS:
                self._tools.clear()
            share = self._tools[key] = estimate_anthropic_input_tokens({"tools": tools})
        rest = {k: v for k, v in body.items() if k != "tools"}
        return estimate_anthropic_input_tokens(rest) + share


def plan_call(call: ClientCall, targets: Sequence[Target]) -> PlannedCall:
    return PlannedCall(call, targets)
