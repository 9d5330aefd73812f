"""file-log (Kong priority 9): the request's log record as one JSON line.

``custom_fields_by_lua`` maps a field of the record to a Lua snippet run in
the log phase (sandboxed, with the Kong PDK); the field takes the snippet's
return value. A dotted name (``a.b``) sets a nested field, ``nil`` removes
the field, and a snippet that fails leaves it out and logs the error.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from pydantic import Field

from lockgate.lua import LuaError, LuaSyntaxError, check_syntax
from lockgate.plugins.base import PluginConfig, PluginHandler
from lockgate.plugins.file_log.writer import LogWriter
from lockgate.plugins.lua_context import lua_request
from lockgate.proxy.context import RequestContext
from lockgate.proxy.worker_env import WorkerEnv

__all__ = ["FileLog", "FileLogConfig"]

log = logging.getLogger("lockgate.file-log")


class FileLogConfig(PluginConfig):
    path: str = Field(pattern=r"^[^*&%\\`]+$", description="File to append the JSON lines to")
    reopen: bool = False
    custom_fields_by_lua: dict[str, str] | None = None


class FileLog(PluginHandler):
    name = "file-log"
    PRIORITY = 9
    VERSION = "3.13.0"
    Config = FileLogConfig

    def __init__(self, entity: dict[str, Any], config: FileLogConfig, env: WorkerEnv) -> None:
        super().__init__(entity, config, env)
        path = config.path
        # One writer per path for the worker's life, shared by every configuration version.
        self.writer = env.resource(("file-log", path), lambda: LogWriter(path))
        fields = config.custom_fields_by_lua or {}
        self.fields = [
            (name.split("."), env.lua.compile(code, f"file-log:custom_fields_by_lua[{name}]"))
            for name, code in fields.items()
        ]

    @classmethod
    def check(cls, config: Any) -> list[str]:
        problems = []
        for name, code in (config.custom_fields_by_lua or {}).items():
            if not name or "" in name.split("."):
                problems.append(f"config.custom_fields_by_lua: invalid field name {name!r}")
                continue
            try:
                check_syntax(code)
            except LuaSyntaxError as exc:
                problems.append(f"config.custom_fields_by_lua.{name}: {exc}")
        return problems

    def log(self, ctx: RequestContext, record: dict[str, Any]) -> None:
        if self.fields:
            record = self._custom_fields(ctx, record)
        try:
            line = orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS)
            self.writer.write(line, reopen=self.config.reopen)
        except OSError as exc:
            log.error("file-log: cannot write to %s: %s", self.config.path, exc)

    def _custom_fields(self, ctx: RequestContext, record: dict[str, Any]) -> dict[str, Any]:
        """The record with this plugin's custom fields (a copy along each path:
        other log plugins share the record)."""
        state = lua_request(ctx)
        state.response_status = ctx.response_status
        runtime = self.env.lua
        record = dict(record)
        for path, chunk in self.fields:
            try:
                value = runtime.run(chunk, state, "log")
            except LuaError as exc:
                log.error(
                    "file-log: custom field %s failed for request %s: %s",
                    ".".join(path),
                    ctx.request_id,
                    exc,
                )
                continue
            finally:
                for level, message in state.log_lines:
                    log.info("[lua %s] %s", level, message)
                state.log_lines.clear()
            node = record
            for key in path[:-1]:
                child = node.get(key)
                node[key] = child = dict(child) if isinstance(child, dict) else {}
                node = child
            if value is None:
                node.pop(path[-1], None)
            else:
                node[path[-1]] = value
        return record
