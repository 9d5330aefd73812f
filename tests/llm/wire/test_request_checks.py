"""The structural checks never refuse what the real APIs take: requests
shaped like Claude Code's, new block kinds, tool-call-only assistant turns."""

from __future__ import annotations

import pytest
from tests.llm.wire.claude_code_like import claude_code_request

from lockgate.llm.wire.anthropic_openai import anthropic_to_openai_request
from lockgate.llm.wire.request_checks import anthropic_request_problem, openai_request_problem


@pytest.mark.parametrize("seed", range(12))
def test_claude_code_requests_pass(seed: int) -> None:
    body = claude_code_request(seed=seed, turns=8)
    assert anthropic_request_problem(body) is None
    assert openai_request_problem(anthropic_to_openai_request(body, "gpt-4.1")) is None


def test_new_shapes_pass() -> None:
    body = {
        "messages": [
            {"role": "system", "content": "mid-conversation system entry"},
            {"role": "user", "content": [{"type": "a_block_from_next_year", "data": 1}]},
        ],
        "model": None,
        "unknown_field": {"kept": True},
    }
    assert anthropic_request_problem(body) is None
    openai_body = {
        "messages": [
            {"role": "developer", "content": "be brief"},
            {"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f"}}],
            },
            {"role": "tool", "tool_call_id": "c", "content": "42"},
        ],
        "stream": None,
        "stream_options": None,
    }
    assert openai_request_problem(openai_body) is None


def test_tool_use_input_must_be_an_object() -> None:
    body = {
        "messages": [
            {"role": "user", "content": "hi"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t", "name": "f", "input": "{}"}],
            },
        ]
    }
    problem = anthropic_request_problem(body)
    assert problem is not None
    assert (
        problem.message == "messages.1.content.0.tool_use.input: Input should be a valid dictionary"
    )


def test_user_message_needs_content_in_openai() -> None:
    problem = openai_request_problem({"messages": [{"role": "user"}]})
    assert problem is not None
    assert (problem.message, problem.param, problem.code) == (
        "Missing required parameter: 'messages[0].content'.",
        "messages[0].content",
        "missing_required_parameter",
    )
