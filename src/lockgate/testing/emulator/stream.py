"""Writes streamed responses frame by frame, with the pacing and breakage a
script asked for (``[[slow]]``, ``[[cut]]``).

Every provider module produces its frames as bytes; this writer owns the
network side so the cut and slow behaviours are the same for all of them.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

__all__ = ["FrameWriter", "StreamCut", "cut_before_answer", "cut_connection"]


class StreamCut(Exception):
    """Raised after the connection was closed on purpose by ``[[cut N]]``."""


def cut_connection(request: web.Request) -> None:
    """Closes the socket without finishing the HTTP message: the client sees
    a body that ends early (no terminal chunk, no terminal event)."""
    transport = request.transport
    if transport is not None:
        transport.close()


def cut_before_answer(request: web.Request) -> web.Response:
    """``[[cut]]`` on a non-streamed request: the connection drops before any
    byte of the answer (the returned response is never sent)."""
    cut_connection(request)
    return web.Response(status=502)


class FrameWriter:
    """Sends frames of one streamed response."""

    def __init__(
        self,
        request: web.Request,
        response: web.StreamResponse,
        slow_ms: float = 0.0,
        cut_after: int | None = None,
    ) -> None:
        self._request = request
        self._response = response
        self._slow = slow_ms / 1000.0
        self._cut_after = cut_after
        self.sent = 0

    @classmethod
    async def open(
        cls,
        request: web.Request,
        content_type: str,
        headers: dict[str, str] | None = None,
        slow_ms: float = 0.0,
        cut_after: int | None = None,
    ) -> FrameWriter:
        response = web.StreamResponse(status=200, headers=headers or {})
        response.content_type = content_type.split(";")[0]
        if "charset=" in content_type:
            response.charset = content_type.split("charset=")[1]
        response.enable_chunked_encoding()
        await response.prepare(request)
        return cls(request, response, slow_ms, cut_after)

    @property
    def response(self) -> web.StreamResponse:
        return self._response

    async def send(self, frame: bytes) -> None:
        """Writes one frame; raises :class:`StreamCut` instead once the
        frames allowed by ``[[cut N]]`` are out (the handler then returns
        :attr:`response` as is)."""
        if self._cut_after is not None and self.sent >= self._cut_after:
            await self._cut()
        if self.sent and self._slow:
            await asyncio.sleep(self._slow)
        await self._response.write(frame)
        self.sent += 1

    async def _cut(self) -> None:
        await asyncio.sleep(0.05)  # let the frames already written reach the client
        cut_connection(self._request)
        raise StreamCut

    async def finish(self) -> web.StreamResponse:
        await self._response.write_eof()
        return self._response
