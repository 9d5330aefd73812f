"""SSEDataDecoder against SSEDecoder: the same data, however the bytes are cut."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from lockgate.llm.sse import SSEDataDecoder, SSEDecoder


def _reference(chunks: list[bytes]) -> list[bytes]:
    decoder = SSEDecoder()
    events = [e for chunk in chunks for e in decoder.feed(chunk)] + decoder.close()
    # SSEDataDecoder leaves out events without a data line; SSEDecoder gives them data "".
    return [e.data.encode() for e in events if e.data]


def _fast(chunks: list[bytes]) -> list[bytes]:
    decoder = SSEDataDecoder()
    return [d for d in [d for chunk in chunks for d in decoder.feed(chunk)] + decoder.close() if d]


def _cut(stream: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(stream) + 1) for c in cuts})
    pieces, last = [], 0
    for point in points:
        pieces.append(stream[last:point])
        last = point
    pieces.append(stream[last:])
    return pieces


ANTHROPIC = (
    b'event: message_start\ndata: {"type":"message_start"}\n\n'
    b'event: ping\ndata: {"type":"ping"}\n\n'
    b'event: content_block_delta\ndata: {"type":"content_block_delta","t":"h\\u00e9"}\n\n'
    b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
)


def test_anthropic_framing_gives_each_events_data() -> None:
    assert _fast([ANTHROPIC]) == [
        b'{"type":"message_start"}',
        b'{"type":"ping"}',
        b'{"type":"content_block_delta","t":"h\\u00e9"}',
        b'{"type":"message_stop"}',
    ]


def test_unusual_framing_is_read_as_sse_decoder_reads_it() -> None:
    stream = (
        b": a comment\r\n"
        b"data: one\r\ndata:two\r\nid: 7\r\n\r\n"
        b"\n\n\nevent: only-a-name\n\n"
        b"data\n\n"
        b"data: cr\r\r\n\r\n"
        b"retry: 10\ndata: last"
    )
    assert _fast([stream]) == _reference([stream]) == [b"one\ntwo", b"cr\r", b"last"]


_LINES = st.sampled_from(
    [
        b"event: content_block_delta",
        b'data: {"a":1}',
        b'data:{"b":2}',
        b"data",
        b"data: ",
        b": keep-alive",
        b"id: 3",
        b"",
        b"\r",
        b"data: x\r",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(_LINES, max_size=30),
    st.sampled_from([b"\n", b"\r\n"]),
    st.lists(st.integers(min_value=0, max_value=10_000), max_size=8),
)
def test_any_stream_cut_anywhere_gives_the_same_data(
    lines: list[bytes], newline: bytes, cuts: list[int]
) -> None:
    stream = b"".join(line + newline for line in lines)
    assert _fast(_cut(stream, cuts)) == _reference([stream])
    assert _fast(_cut(stream, cuts)) == _reference(_cut(stream, cuts))
