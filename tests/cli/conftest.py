"""Fixtures for the CLI tests: a real Admin API on a free local port (over a
SQLite store in tmp_path), and plugins (real ones when the registry
imports; a fake stands in for each one still being written).
"""

from __future__ import annotations

import importlib
import pathlib
import socket
from collections.abc import AsyncIterator
from typing import Any, Literal

import pytest
from aiohttp import web
from pydantic import BaseModel, ConfigDict

from lockgate.admin.app import build_admin_app
from lockgate.plugins import registry
from lockgate.plugins.base import PluginConfig, PluginHandler
from lockgate.store.sqlite import SQLiteStore

# -- plugins ---------------------------------------------------------------------------


class _FakeFileLogConfig(PluginConfig):
    path: str
    reopen: bool = False


class _FakeModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    provider: Literal["openai", "anthropic", "huggingface", "gemini"]
    name: str | None = None
    options: dict[str, Any] | None = None


class _FakeAuth(BaseModel):
    model_config = ConfigDict(extra="forbid")
    header_name: str | None = None
    header_value: str | None = None


class _FakeAIProxyConfig(PluginConfig):
    route_type: Literal["llm/v1/chat", "llm/v1/completions"] = "llm/v1/chat"
    llm_format: Literal["openai", "anthropic", "gemini"] = "openai"
    model: _FakeModel
    auth: _FakeAuth | None = None
    logging: dict[str, Any] | None = None


class _FakePreFunctionConfig(PluginConfig):
    access: list[str] = []


def _fake(name: str, priority: int, config: type[PluginConfig]) -> type[PluginHandler]:
    return type(
        name.replace("-", "_"),
        (PluginHandler,),
        {"name": name, "PRIORITY": priority, "Config": config},
    )


_REAL = {
    "file-log": ("lockgate.plugins.file_log.handler", "FileLog"),
    "key-auth": ("lockgate.plugins.key_auth.handler", "KeyAuth"),
    "ai-proxy": ("lockgate.plugins.ai_proxy.handler", "AIProxy"),
    "pre-function": ("lockgate.plugins.pre_function.handler", "PreFunction"),
}
_FAKES = {
    "file-log": (9, _FakeFileLogConfig),
    "key-auth": (1250, PluginConfig),
    "ai-proxy": (770, _FakeAIProxyConfig),
    "pre-function": (1000000, _FakePreFunctionConfig),
}


def _mixed_classes() -> dict[str, type[PluginHandler]]:
    classes: dict[str, type[PluginHandler]] = {}
    for name, (module, attr) in _REAL.items():
        try:
            classes[name] = getattr(importlib.import_module(module), attr)
        except ImportError:
            priority, config = _FAKES[name]
            classes[name] = _fake(name, priority, config)
    return classes


@pytest.fixture(autouse=True)
def plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        registry._classes()
    except ImportError:
        monkeypatch.setattr(registry, "_classes", _mixed_classes)


# -- the Admin API ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def store(tmp_path: pathlib.Path) -> SQLiteStore:
    return SQLiteStore(str(tmp_path / "lockgate.db"))


@pytest.fixture
async def admin_url(store: SQLiteStore) -> AsyncIterator[str]:
    runner = web.AppRunner(build_admin_app(store), access_log=None)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
