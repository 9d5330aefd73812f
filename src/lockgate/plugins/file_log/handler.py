"""file-log (Kong priority 9): the request's log record as one JSON line."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from pydantic import Field

from lockgate.plugins.base import PluginConfig, PluginHandler
from lockgate.proxy.context import RequestContext

__all__ = ["FileLog", "FileLogConfig"]

log = logging.getLogger("lockgate.file-log")


class FileLogConfig(PluginConfig):
    path: str = Field(pattern=r"^[^*&%\\`]+$", description="File to append the JSON lines to")
    reopen: bool = False


class FileLog(PluginHandler):
    name = "file-log"
    PRIORITY = 9
    VERSION = "3.13.0"
    Config = FileLogConfig

    def log(self, ctx: RequestContext, record: dict[str, Any]) -> None:
        try:
            line = orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS)
            self.env.writer(self.config.path).write(line, reopen=self.config.reopen)
        except OSError as exc:
            log.error("file-log: cannot write to %s: %s", self.config.path, exc)
