"""A limiter's prompt estimates: the tools' share of a Claude Code request is
remembered between requests, and the estimate stays the one the log uses
(pure, in-process)."""

from __future__ import annotations

from typing import Any

import orjson

from lockgate.llm.providers.config import ModelConfig
from lockgate.plugins.ai_proxy.exchange import ClientCall
from lockgate.plugins.ai_proxy.plan import PromptEstimates, plan_call
from lockgate.plugins.ai_proxy.recording import estimate_prompt
from lockgate.plugins.ai_proxy.schema import LoggingConfig
from lockgate.plugins.ai_proxy.target import Target

TARGET = Target(
    plugin_id="p",
    client_format="anthropic",
    route_type="llm/v1/chat",
    model=ModelConfig(provider="anthropic", name="claude-sonnet-4-6"),
    auth=None,
    logging=LoggingConfig(),
)


def _tool(name: str, fields: int) -> dict[str, Any]:
    properties = {f"field_{i}": {"type": "string", "description": "x" * 40} for i in range(fields)}
    return {
        "name": name,
        "description": f"The {name} tool. " * 20,
        "input_schema": {"type": "object", "properties": properties},
    }


def _call(tools: list[dict[str, Any]], text: str) -> ClientCall:
    raw = orjson.dumps(
        {
            "model": "claude-sonnet-4-6",
            "max_tokens": 100,
            "system": [{"type": "text", "text": "You are a coding agent. " * 50}],
            "tools": tools,
            "messages": [{"role": "user", "content": text}],
        }
    )
    return ClientCall("chat", orjson.loads(raw), raw, False, "claude-sonnet-4-6", "anthropic")


def test_the_tools_share_is_remembered_and_the_sum_is_the_logged_estimate() -> None:
    estimates = PromptEstimates()
    tools = [_tool(f"tool_{i}", 3) for i in range(12)]
    for text in ("short", "a longer question " * 100):
        call = _call(tools, text)
        planned = estimates.tokens(plan_call(call, [TARGET]))
        assert abs(planned - estimate_prompt(_call(tools, text))) <= 1
    # Another tool list (one tool more) is not taken for the one remembered.
    more = [*tools, _tool("extra", 30)]
    planned = estimates.tokens(plan_call(_call(more, "short"), [TARGET]))
    assert abs(planned - estimate_prompt(_call(more, "short"))) <= 1
    assert planned > estimates.tokens(plan_call(_call(tools, "short"), [TARGET])) + 100


def test_few_tools_get_the_full_estimate() -> None:
    estimates = PromptEstimates()
    call = _call([_tool("one", 2)], "hello")
    assert estimates.tokens(plan_call(call, [TARGET])) == estimate_prompt(call)
