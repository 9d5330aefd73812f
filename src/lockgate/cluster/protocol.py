"""What travels on a cluster connection.

Frames are a 4-byte big-endian length and a JSON object. The data plane
speaks first (``hello``: its id, hostname, version and the hash of the
configuration it holds); the control plane answers with ``reconfigure``
(the whole configuration and its hash) and sends another after every
change; the data plane sends ``ping`` (with its hash) every
:data:`PING_INTERVAL` seconds so the control plane knows it is alive.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import orjson

from lockgate.config.state import GatewayState

__all__ = [
    "PING_INTERVAL",
    "ProtocolError",
    "config_hash",
    "read_frame",
    "reconfigure_frame",
    "write_frame",
]

PING_INTERVAL = 5.0
#: A peer silent for this long is gone (several missed pings).
SILENCE_LIMIT = 4 * PING_INTERVAL
MAX_FRAME = 256 * 1024 * 1024
#: Kong's hash of "no configuration yet".
EMPTY_HASH = "00000000000000000000000000000000"


class ProtocolError(Exception):
    """The peer sent something that is not a frame of this protocol."""


def config_hash(state: GatewayState) -> str:
    """The configuration's identity, the same on both sides (md5 hex, as Kong's)."""
    return hashlib.md5(state.to_json(), usedforsecurity=False).hexdigest()


def reconfigure_frame(state: GatewayState, digest: str) -> bytes:
    return orjson.dumps(
        {"type": "reconfigure", "config_hash": digest, "config": orjson.Fragment(state.to_json())}
    )


async def read_frame(reader: asyncio.StreamReader) -> dict[str, Any]:
    header = await reader.readexactly(4)
    size = int.from_bytes(header, "big")
    if size > MAX_FRAME:
        raise ProtocolError(f"frame of {size} bytes is larger than {MAX_FRAME}")
    message = orjson.loads(await reader.readexactly(size))
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError("a frame must be a JSON object with a type")
    return message


async def write_frame(writer: asyncio.StreamWriter, payload: bytes | dict[str, Any]) -> None:
    raw = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    writer.write(len(raw).to_bytes(4, "big") + raw)
    await writer.drain()
