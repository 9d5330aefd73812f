"""The control plane's cluster listener.

One connection per data plane, mutual TLS with the shared certificate. The
TLS handshake is started by this module after the TCP accept, so that a
refused data plane (another certificate, or none) is logged here with its
address and the reason.

One task follows the store (:meth:`~lockgate.store.ConfigStore.watch`, so a
change arrives within milliseconds on PostgreSQL) and sends each new
configuration, with its hash, to every connected data plane; a data plane
that connects gets the current one at once. While the store is away, the
last configuration is kept and served to data planes that (re)connect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

from lockgate.cluster.protocol import (
    SILENCE_LIMIT,
    ProtocolError,
    config_hash,
    read_frame,
    reconfigure_frame,
    write_frame,
)
from lockgate.config.state import GatewayState
from lockgate.store import ConfigStore, StoreUnavailable

__all__ = ["ControlPlane", "DataPlaneInfo"]

log = logging.getLogger("lockgate.cluster")

HANDSHAKE_TIMEOUT = 10.0


@dataclass
class DataPlaneInfo:
    """One data plane as ``GET /clustering/data-planes`` shows it (Kong's shape)."""

    id: str
    hostname: str
    ip: str
    version: str
    config_hash: str
    last_seen: float = field(default_factory=time.time)
    connected: bool = True

    def as_kong(self, current_hash: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "hostname": self.hostname,
            "ip": self.ip,
            "version": self.version,
            "config_hash": self.config_hash,
            "last_seen": int(self.last_seen),
            "sync_status": "normal" if self.config_hash == current_hash else "unknown",
        }


class _Accepted(asyncio.Protocol):
    """A TCP connection before its TLS handshake. Reading is paused at once so
    that the data plane's first TLS bytes stay in the socket for the
    handshake (a stream reader would have consumed them)."""

    def __init__(self, accepted: Any) -> None:
        self._accepted = accepted

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.pause_reading()  # type: ignore[attr-defined]
        self._accepted(transport)


class ControlPlane:
    def __init__(self, store: ConfigStore, tls: ssl.SSLContext) -> None:
        self.store = store
        self.tls = tls
        self.data_planes: dict[str, DataPlaneInfo] = {}
        self._writers: dict[str, asyncio.StreamWriter] = {}
        self._frame = b""
        self._hash = ""
        self._version = -1
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def current_hash(self) -> str:
        return self._hash

    async def start(self, host: str, port: int) -> None:
        version, state = await self.store.load()
        self._set(version, state)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Accepted(self._accepted), host, port, reuse_address=True
        )
        self._spawn(self._follow())

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _set(self, version: int, state: GatewayState) -> None:
        self._version = version
        self._hash = config_hash(state)
        self._frame = reconfigure_frame(state, self._hash)

    def list(self) -> list[dict[str, Any]]:
        return [dp.as_kong(self._hash) for dp in self.data_planes.values()]

    async def _follow(self) -> None:
        away = False
        while True:
            try:
                newest = await self.store.watch(self._version, 1.0)
                if away:
                    log.info("control plane: the store answers again")
                    away = False
                if newest == self._version:
                    continue
                version, state = await self.store.load()
            except StoreUnavailable as exc:
                if not away:
                    log.warning(
                        "control plane: %s; data planes keep version %d", exc, self._version
                    )
                    away = True
                await asyncio.sleep(1.0)
                continue
            self._set(version, state)
            log.info(
                "control plane: pushing configuration version %d (hash %s) to %d data plane(s)",
                version,
                self._hash,
                len(self._writers),
            )
            for node_id, writer in list(self._writers.items()):
                self._spawn(self._push(node_id, writer, self._frame))

    async def _push(self, node_id: str, writer: asyncio.StreamWriter, frame: bytes) -> None:
        try:
            await write_frame(writer, frame)
        except (OSError, ConnectionError):
            writer.close()

    def _accepted(self, transport: asyncio.BaseTransport) -> None:
        self._spawn(self._handshake(transport))

    async def _handshake(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername") or ("?", 0)
        ip = str(peer[0])
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        protocol = asyncio.StreamReaderProtocol(reader)
        try:
            tls = await asyncio.wait_for(
                loop.start_tls(transport, protocol, self.tls, server_side=True),  # type: ignore[arg-type]
                HANDSHAKE_TIMEOUT,
            )
        except (ssl.SSLError, OSError, TimeoutError, ConnectionError) as exc:
            if isinstance(exc, ConnectionResetError | BrokenPipeError):
                reason = "the peer gave up: it does not trust this control plane's certificate"
            else:
                reason = str(exc) or type(exc).__name__
            log.warning(
                "control plane: refused a data plane from %s:%s: TLS handshake failed "
                "(both sides need the same cluster certificate): %s",
                ip,
                peer[1],
                reason,
            )
            transport.close()
            return
        if tls is None:
            transport.close()
            return
        protocol.connection_made(tls)
        await self._serve(reader, asyncio.StreamWriter(tls, protocol, reader, loop), ip)

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, ip: str
    ) -> None:
        node_id = ""
        try:
            hello = await asyncio.wait_for(read_frame(reader), HANDSHAKE_TIMEOUT)
            if hello["type"] != "hello" or not hello.get("id"):
                raise ProtocolError("the first frame must be a hello with an id")
            node_id = str(hello["id"])
            info = DataPlaneInfo(
                id=node_id,
                hostname=str(hello.get("hostname", "")),
                ip=ip,
                version=str(hello.get("version", "")),
                config_hash=str(hello.get("config_hash", "")),
            )
            old = self._writers.pop(node_id, None)
            if old is not None:
                old.close()
            self.data_planes[node_id] = info
            self._writers[node_id] = writer
            log.info("control plane: data plane %s (%s, %s) connected", node_id, info.hostname, ip)
            await write_frame(writer, self._frame)
            while True:
                message = await asyncio.wait_for(read_frame(reader), SILENCE_LIMIT)
                info.last_seen = time.time()
                if message["type"] == "ping":
                    info.config_hash = str(message.get("config_hash", info.config_hash))
        except (asyncio.IncompleteReadError, ConnectionError, OSError, TimeoutError) as exc:
            if node_id:
                log.info(
                    "control plane: data plane %s disconnected (%s)", node_id, type(exc).__name__
                )
        except (ProtocolError, ValueError, KeyError) as exc:
            log.warning("control plane: closing the connection from %s: %s", ip, exc)
        finally:
            if node_id and self._writers.get(node_id) is writer:
                del self._writers[node_id]
                self.data_planes[node_id].connected = False
            writer.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in self._writers.values():
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
