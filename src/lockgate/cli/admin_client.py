"""A small Admin API client for the CLI (aiohttp; the CLI runs it with
:func:`asyncio.run`, tests await it inside their own loop).

Connection failures become :class:`AdminUnreachable` with a sentence a user
can act on (``could not reach the Admin API at http://...: connection
refused``); every answer, error or not, comes back as :class:`AdminAnswer`.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any

import aiohttp
import orjson

__all__ = ["AdminAnswer", "AdminClient", "AdminUnreachable"]


class AdminUnreachable(Exception):
    """The Admin API could not be reached (``str()`` says where and why)."""


@dataclass
class AdminAnswer:
    status: int
    body: Any  #: the decoded JSON body, or None when the answer was not JSON
    text: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def message(self) -> str:
        if isinstance(self.body, dict) and self.body.get("message"):
            return str(self.body["message"])
        return self.text.strip() or f"HTTP {self.status}"


class AdminClient:
    def __init__(self, base_url: str, *, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> AdminClient:
        self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _unreachable(self, why: str) -> AdminUnreachable:
        return AdminUnreachable(f"could not reach the Admin API at {self.base_url}: {why}")

    async def request(
        self, method: str, path: str, *, params: dict[str, str] | None = None, json: Any = None
    ) -> AdminAnswer:
        if self._session is None:
            raise RuntimeError("AdminClient used outside 'async with'")
        data = None if json is None else orjson.dumps(json)
        headers = {"Content-Type": "application/json"} if data is not None else {}
        try:
            async with self._session.request(
                method, self.base_url + path, params=params, data=data, headers=headers
            ) as resp:
                raw = await resp.read()
        except aiohttp.ClientConnectorError as exc:
            os_error = exc.os_error
            if isinstance(os_error, ConnectionRefusedError):
                why = "connection refused"
            else:
                why = (os_error.strerror if os_error is not None else None) or str(exc)
            raise self._unreachable(why) from exc
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise self._unreachable("timed out") from exc
        except aiohttp.InvalidURL as exc:
            raise self._unreachable("invalid URL") from exc
        except aiohttp.ClientError as exc:
            raise self._unreachable(str(exc) or type(exc).__name__) from exc
        text = raw.decode("utf-8", "replace")
        try:
            body = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = None
        return AdminAnswer(resp.status, body, text)
