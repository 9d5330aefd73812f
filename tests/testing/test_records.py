"""Request recording, the control endpoints, and the foreground server."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys

import aiohttp
import pytest

from lockgate.testing import Emulator, parse_key_specs

from .conftest import ANTHROPIC, OPENAI, Raw


async def test_every_request_is_recorded(emulator: Emulator, raw: Raw) -> None:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    await raw.post("/v1/chat/completions?beta=true", body, {**OPENAI, "X-Custom": "Yes"})
    await raw.post(
        "/v1/messages", {"model": "claude-sonnet-4-6"}, ANTHROPIC
    )  # refused, still recorded
    await raw.request("GET", "/v1/models", headers=ANTHROPIC)
    await raw.request("POST", "/nowhere", data=b"plain text")
    first, second, third, fourth = emulator.records
    assert first["provider"] == "openai" and first["method"] == "POST"
    assert first["path"] == "/v1/chat/completions" and first["query"] == "beta=true"
    assert (
        first["headers"]["x-custom"] == "Yes"
        and first["headers"]["authorization"] == "Bearer sk-test"
    )
    assert first["body"] == body and first["time"] > 0
    assert second["provider"] == "anthropic" and third["provider"] == "anthropic"
    assert fourth["provider"] == "unknown" and fourth["body"] == "plain text"
    emulator.clear()
    assert emulator.records == []


async def test_http_control_endpoints(emulator: Emulator, raw: Raw) -> None:
    await raw.post(
        "/v1/chat/completions",
        {"model": "gpt-4o", "messages": [{"role": "user", "content": "a"}]},
        OPENAI,
    )
    await raw.post(
        "/anthropic/v1/messages",
        {
            "model": "claude-sonnet-4-6",
            "max_tokens": 5,
            "messages": [{"role": "user", "content": "a"}],
        },
        ANTHROPIC,
    )
    listed = await raw.request("GET", "/_emulator/requests")
    assert [r["provider"] for r in listed.json] == ["openai", "anthropic"]
    only = await raw.request("GET", "/_emulator/requests?provider=anthropic")
    assert [r["path"] for r in only.json] == ["/anthropic/v1/messages"]
    cleared = await raw.request("DELETE", "/_emulator/requests")
    assert cleared.json == {"cleared": 2} and emulator.records == []


def _chat(text: str) -> dict[str, object]:
    return {"model": "gpt-4o", "messages": [{"role": "user", "content": text}]}


async def test_record_limit_keeps_the_newest_requests() -> None:
    async with Emulator(max_records=2) as emu, aiohttp.ClientSession() as session:
        raw = Raw(session, emu.url)
        for text in ("one", "two", "three"):
            answer = await raw.post("/v1/chat/completions", _chat(text), OPENAI)
            assert answer.status == 200
        kept = [r["body"]["messages"][0]["content"] for r in emu.records]
        assert kept == ["two", "three"]
        listed = await raw.request("GET", "/_emulator/requests")
        assert [r["body"]["messages"][0]["content"] for r in listed.json] == ["two", "three"]


async def test_record_limit_zero_records_nothing_and_still_serves() -> None:
    async with Emulator(max_records=0) as emu, aiohttp.ClientSession() as session:
        raw = Raw(session, emu.url)
        answer = await raw.post("/v1/chat/completions", _chat("[[reply served]]"), OPENAI)
        assert answer.status == 200
        assert answer.json["choices"][0]["message"]["content"] == "served"
        refused = await raw.post("/v1/chat/completions", _chat("x"), {})
        assert refused.status == 401  # validation and auth still apply
        assert emu.records == []
        listed = await raw.request("GET", "/_emulator/requests")
        assert listed.json == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_run_emulator_in_the_foreground() -> None:
    port = _free_port()
    code = f"from lockgate.testing import run_emulator; run_emulator('127.0.0.1', {port})"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        first = await asyncio.wait_for(proc.stdout.readline(), 20)
        assert first.decode().strip() == f"lockgate emulator listening on http://127.0.0.1:{port}"
        routes = (await asyncio.wait_for(proc.stdout.readline(), 5)).decode()
        assert f"http://127.0.0.1:{port}/v1/chat/completions" in routes
        async with aiohttp.ClientSession() as session:
            async with session.post(
                f"http://127.0.0.1:{port}/_emulator/service-account", json={}
            ) as resp:
                account = await resp.json()
            assert account["token_uri"] == f"http://127.0.0.1:{port}/token"
            async with session.get(f"http://127.0.0.1:{port}/_emulator/requests") as resp:
                assert await resp.json() == []
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 10) == 0


async def test_emulate_command_max_records() -> None:
    port = _free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "lockgate",
        "emulate",
        "--listen",
        f"127.0.0.1:{port}",
        "--max-records",
        "1",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        first = await asyncio.wait_for(proc.stdout.readline(), 20)
        assert b"listening" in first
        url = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as session:
            for text in ("one", "two"):
                async with session.post(
                    f"{url}/v1/chat/completions", json=_chat(text), headers=OPENAI
                ) as resp:
                    assert resp.status == 200
            async with session.get(f"{url}/_emulator/requests") as resp:
                listed = await resp.json()
        assert [r["body"]["messages"][0]["content"] for r in listed] == ["two"]
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 10) == 0


def test_emulate_command_refuses_a_negative_limit() -> None:
    bad = subprocess.run(
        [sys.executable, "-m", "lockgate", "emulate", "--max-records", "-1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "--max-records cannot be negative" in bad.stderr


def test_parse_key_specs() -> None:
    keys = parse_key_specs(["openai=sk-a,sk-b", "Anthropic=k1", "openai=sk-c"])
    assert keys == {"openai": {"sk-a", "sk-b", "sk-c"}, "anthropic": {"k1"}}
    for bad in ("openai", "openai=", "azure=k"):
        with pytest.raises(ValueError, match="invalid key spec"):
            parse_key_specs([bad])
