"""ClientCall: a streamed call lets go of its parsed body while the provider
works, and a failover attempt gets all of it back (pure, in-process)."""

from __future__ import annotations

import orjson

from lockgate.llm.providers.config import ModelConfig
from lockgate.plugins.ai_proxy.exchange import ClientCall, _upstream_body
from lockgate.plugins.ai_proxy.schema import LoggingConfig
from lockgate.plugins.ai_proxy.streaming import stream_translator
from lockgate.plugins.ai_proxy.target import Target

BODY = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 100,
    "stream": True,
    "stop_sequences": ["HALT"],
    "messages": [{"role": "user", "content": "count"}],
}


def _call() -> ClientCall:
    raw = orjson.dumps(BODY)
    return ClientCall("chat", orjson.loads(raw), raw, True, "claude-sonnet-4-6", "anthropic")


def _target() -> Target:
    return Target(
        plugin_id="p",
        client_format="anthropic",
        route_type="llm/v1/chat",
        model=ModelConfig(provider="openai", name="gpt-4.1"),
        auth=None,
        logging=LoggingConfig(),
    )


def test_dropped_body_comes_back_whole_for_another_attempt() -> None:
    call, target = _call(), _target()
    first = _upstream_body(target, call, "gpt-4.1")
    call.drop_parsed()
    assert call.body == {} and call.parsed() == BODY
    call.restore_parsed()
    assert call.body == BODY and not call.parsed_dropped
    assert _upstream_body(target, call, "gpt-4.1") == first
    assert orjson.loads(first)["stop"] == ["HALT"]


def test_a_retried_stream_still_reports_the_matched_stop_sequence() -> None:
    call, target = _call(), _target()
    call.drop_parsed()  # the first attempt let go of it, then failed
    call.restore_parsed()
    translator, _ = stream_translator(target, call, "gpt-4.1")
    chunk = {
        "id": "c",
        "model": "gpt-4.1",
        "choices": [
            {
                "index": 0,
                "delta": {"role": "assistant", "content": "one two "},
                "finish_reason": "stop",
                "stop_reason": "HALT",  # vLLM names the sequence that matched
            }
        ],
    }
    events = translator.feed(chunk) + translator.finish()
    assert b'"stop_reason":"stop_sequence"' in events and b'"stop_sequence":"HALT"' in events
