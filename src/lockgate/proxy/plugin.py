"""The plugin contract: the phase hooks the proxy runs.

It lives with the proxy, which runs the phases; plugins build on it (see
``lockgate.plugins.base``). A plugin is a package under ``lockgate.plugins``
with a pydantic ``Config`` model and a handler class. The handler implements
only the phase hooks it needs and carries its ``PRIORITY`` (Kong's numbers, so
mixed configurations run in the order Kong users expect). Phases:

- ``rewrite(ctx)`` and ``access(ctx)``: before the upstream request; may
  change it, set ``ctx.upstream`` (e.g. ai-proxy), or answer directly by
  raising :class:`lockgate.proxy.context.Exit`.
- ``header_filter(ctx)``: the upstream answered; status and headers may change.
- ``body_filter(ctx, chunk) -> bytes``: once per response chunk, streaming.
- ``log(ctx, record)``: after the response is sent; never delays the client.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from lockgate.config.plugin_schema import PluginConfig

if TYPE_CHECKING:
    from lockgate.proxy.context import Exit, RequestContext
    from lockgate.proxy.worker_env import WorkerEnv

__all__ = ["PHASES", "PluginHandler"]

PHASES = ("rewrite", "access", "header_filter", "body_filter", "log")


class PluginHandler:
    name: ClassVar[str]
    PRIORITY: ClassVar[int]
    VERSION: ClassVar[str] = "0.1.0"
    Config: ClassVar[type[PluginConfig]]
    #: The request body must be read before ``access`` (and is then available as ``ctx.body``).
    needs_body: ClassVar[bool] = False

    def __init__(self, entity: dict[str, Any], config: Any, env: WorkerEnv) -> None:
        self.id: str = entity["id"]
        self.entity = entity
        self.config = config
        self.env = env

    @classmethod
    def implements(cls, phase: str) -> bool:
        return getattr(cls, phase) is not getattr(PluginHandler, phase)

    @classmethod
    def check(cls, config: Any) -> list[str]:
        """Extra checks beyond the schema (e.g. compiling Lua). Returns error lines as
        ``"config.path: message"``."""
        return []

    @classmethod
    def check_scope(cls, config: Any, entity: Mapping[str, Any]) -> list[str]:
        """Checks of the config against where the plugin is scoped (``entity``'s
        route, service, consumer and consumer_group); error lines as :meth:`check`."""
        return []

    @classmethod
    def warnings(cls, raw: dict[str, Any]) -> list[str]:
        """Things accepted but worth telling the user about, from the raw config."""
        return []

    def client_error(self, status: int, message: str) -> Exit | None:
        """The gateway's own error (a request body it cannot read) in the format
        of this plugin's clients, or None when the plugin has none: the route's
        AI plugin speaks for it even when another plugin hit the error first."""
        return None

    async def rewrite(self, ctx: RequestContext) -> None:
        pass

    async def access(self, ctx: RequestContext) -> None:
        pass

    def header_filter(self, ctx: RequestContext) -> None:
        pass

    def body_filter(self, ctx: RequestContext, chunk: bytes) -> bytes:
        return chunk

    def log(self, ctx: RequestContext, record: dict[str, Any]) -> None:
        pass

    async def close(self) -> None:
        """Called when the configuration that built this handler is replaced."""
