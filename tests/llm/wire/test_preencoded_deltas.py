"""The text-delta events the stream translators encode from pre-encoded
parts are byte for byte what encoding the whole event gives."""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from lockgate.llm.sse import encode_data, encode_event
from lockgate.llm.wire.openai_anthropic_stream import AnthropicToOpenAIStream
from lockgate.llm.wire.responses_stream import AnthropicEventsToResponses

_TEXTS = st.text(min_size=1, max_size=40)
_START = {
    "type": "message_start",
    "message": {"id": "msg_1", "model": "claude-x", "usage": {"input_tokens": 7}},
}


def _delta(index: int, text: str) -> dict[str, object]:
    return {
        "type": "content_block_delta",
        "index": index,
        "delta": {"type": "text_delta", "text": text},
    }


@settings(max_examples=100, deadline=None)
@given(st.lists(_TEXTS, min_size=1, max_size=4), st.lists(_TEXTS, max_size=3))
def test_chat_content_chunks(first: list[str], second: list[str]) -> None:
    translator = AnthropicToOpenAIStream("claude", created=1)
    translator.feed(_START)
    translator.feed({"type": "content_block_start", "index": 0, "content_block": {"type": "text"}})
    for text in first + second:
        expected = encode_data(
            {
                "id": translator._id,
                "object": "chat.completion.chunk",
                "created": 1,
                "model": "claude-x",
                "choices": [
                    {
                        "index": 0,
                        "delta": {"content": text},
                        "logprobs": None,
                        "finish_reason": None,
                    }
                ],
            }
        )
        assert translator.feed(_delta(0, text)) == expected


@settings(max_examples=100, deadline=None)
@given(st.lists(_TEXTS, min_size=1, max_size=4), st.lists(_TEXTS, min_size=1, max_size=3))
def test_responses_text_deltas(first: list[str], second: list[str]) -> None:
    translator = AnthropicEventsToResponses("claude", {"input": "hi"}, created_at=1)
    out = translator.feed(_START)
    for index, texts in enumerate((first, second)):
        out += translator.feed(
            {"type": "content_block_start", "index": index, "content_block": {"type": "text"}}
        )
        for text in texts:
            piece = translator.feed(_delta(index, text))
            event = orjson.loads(piece.split(b"data: ", 1)[1])
            expected = {
                "type": "response.output_text.delta",
                "item_id": event["item_id"],
                "output_index": 0,
                "content_index": index,
                "delta": text,
                "logprobs": [],
                "sequence_number": event["sequence_number"],
            }
            assert piece == encode_event("response.output_text.delta", expected)
        out += translator.feed({"type": "content_block_stop", "index": index})
