"""The data plane's link to its control plane.

Keeps one connection open (reconnecting with backoff, at most
:data:`RETRY_MAX` seconds apart, so it is back within seconds of the
control plane's return). Each configuration received is saved whole into
the node's local SQLite store, unless its hash is the one already held; the
workers follow that store and swap it in atomically, exactly as in
traditional mode. The local store is also the on-disk cache: a data plane
that starts while the control plane is away serves what it holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import uuid
from pathlib import Path

import orjson

from lockgate.cluster.protocol import (
    EMPTY_HASH,
    PING_INTERVAL,
    SILENCE_LIMIT,
    ProtocolError,
    config_hash,
    read_frame,
    write_frame,
)
from lockgate.config.state import GatewayState
from lockgate.store.sqlite import SQLiteStore

__all__ = ["DataPlaneLink", "node_id"]

log = logging.getLogger("lockgate.cluster")

RETRY_FIRST, RETRY_MAX = 0.5, 5.0


def node_id(prefix: str) -> str:
    """This node's id, kept in the prefix so that a restart keeps it (as Kong's node_id)."""
    path = Path(prefix) / "node_id"
    with contextlib.suppress(OSError, ValueError):
        return str(uuid.UUID(path.read_text().strip()))
    value = str(uuid.uuid4())
    path.write_text(value + "\n")
    return value


class DataPlaneLink:
    def __init__(
        self,
        store: SQLiteStore,
        control_plane: tuple[str, int],
        tls: ssl.SSLContext,
        *,
        node: str,
        version: str,
    ) -> None:
        self.store = store
        self.control_plane = control_plane
        self.tls = tls
        self.node = node
        self.version = version
        self.hash = EMPTY_HASH
        #: Set once a configuration is held (received now, or cached from before).
        self.has_config = asyncio.Event()

    async def run(self) -> None:
        held, state = await self.store.load()
        if held:
            self.hash = config_hash(state)
            self.has_config.set()
            log.info("data plane: serving the cached configuration (hash %s)", self.hash)
        delay = RETRY_FIRST
        host, port = self.control_plane
        while True:
            try:
                await self._session(host, port)
                delay = RETRY_FIRST  # it was up: come back quickly
            except ssl.SSLError as exc:
                log.error(
                    "data plane: the control plane %s:%d refused the TLS handshake or presented "
                    "another certificate (both sides need the same cluster certificate): %s",
                    host,
                    port,
                    exc,
                )
            except (OSError, ConnectionError, asyncio.IncompleteReadError, TimeoutError) as exc:
                log.warning(
                    "data plane: control plane %s:%d unreachable or gone (%s); serving hash %s, "
                    "retrying in %.1f s",
                    host,
                    port,
                    exc or type(exc).__name__,
                    self.hash,
                    delay,
                )
            except ProtocolError as exc:
                log.error("data plane: control plane %s:%d: %s", host, port, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)

    async def _session(self, host: str, port: int) -> None:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=self.tls, server_hostname=host), 10
        )
        pinger: asyncio.Task[None] | None = None
        try:
            await write_frame(
                writer,
                {
                    "type": "hello",
                    "id": self.node,
                    "hostname": socket.gethostname(),
                    "version": self.version,
                    "config_hash": self.hash,
                },
            )
            log.info("data plane: connected to the control plane %s:%d", host, port)
            pinger = asyncio.create_task(self._ping(writer))
            while True:
                message = await asyncio.wait_for(read_frame(reader), SILENCE_LIMIT + PING_INTERVAL)
                if message["type"] == "reconfigure":
                    await self._apply(message)
        finally:
            if pinger is not None:
                pinger.cancel()
            writer.close()

    async def _ping(self, writer: asyncio.StreamWriter) -> None:
        while True:
            await write_frame(writer, {"type": "ping", "config_hash": self.hash})
            await asyncio.sleep(PING_INTERVAL)

    async def _apply(self, message: dict[str, object]) -> None:
        digest = str(message.get("config_hash", ""))
        if digest == self.hash and self.has_config.is_set():
            return
        config = message.get("config")
        if not isinstance(config, dict):
            raise ProtocolError("reconfigure without a configuration")
        state = GatewayState.from_json(orjson.dumps(config))
        if config_hash(state) != digest:
            raise ProtocolError(f"configuration does not match its hash {digest}")
        await self.store.save(state)
        self.hash = digest
        self.has_config.set()
        log.info("data plane: configuration hash %s received and saved", digest)
