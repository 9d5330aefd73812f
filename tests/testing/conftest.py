"""Fixtures: a running emulator, SDK clients pointed at it, a raw HTTP helper."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import anthropic
import openai
import orjson
import pytest

from lockgate.testing import Emulator


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def json(self) -> Any:
        return orjson.loads(self.text)


class Raw:
    """Plain HTTP against the emulator, for exact status codes and bodies."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        data: bytes | None = None,
    ) -> Answer:
        payload = data if data is not None else (orjson.dumps(body) if body is not None else None)
        hdrs = {"content-type": "application/json", **(headers or {})}
        async with self.session.request(
            method, self.base + path, data=payload, headers=hdrs
        ) as resp:
            return Answer(
                resp.status, {k.lower(): v for k, v in resp.headers.items()}, await resp.text()
            )

    async def post(
        self, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Answer:
        return await self.request("POST", path, body, headers)


OPENAI = {"Authorization": "Bearer sk-test"}
ANTHROPIC = {"x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01"}


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator() as emu:
        yield emu


@pytest.fixture
async def raw(emulator: Emulator) -> AsyncIterator[Raw]:
    async with aiohttp.ClientSession() as session:
        yield Raw(session, emulator.url)


@pytest.fixture
async def oai(emulator: Emulator) -> AsyncIterator[openai.AsyncOpenAI]:
    client = openai.AsyncOpenAI(base_url=emulator.url + "/v1", api_key="sk-test", max_retries=0)
    yield client
    await client.close()


@pytest.fixture
async def claude(emulator: Emulator) -> AsyncIterator[anthropic.AsyncAnthropic]:
    client = anthropic.AsyncAnthropic(base_url=emulator.url, api_key="sk-ant-test", max_retries=0)
    yield client
    await client.close()


def sse_events(text: str) -> list[tuple[str | None, str]]:
    """(event, data) pairs of an SSE body (the tests' own minimal parser)."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        name = None
        data = []
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
        events.append((name, "\n".join(data)))
    return events
