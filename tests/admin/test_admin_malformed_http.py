"""Malformed HTTP to the Admin API, through the real gateway: a 400, one log
line naming the fault, no traceback, and nothing of what the client sent."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from tests.support.processes import start_gateway

SECRET = "sk-admin-" + "k" * 9000  # an oversized header holding a key


def _raw(port: int, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(payload)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def test_malformed_http_is_one_line_without_the_clients_bytes(tmp_path: Path) -> None:
    with start_gateway(tmp_path) as gw:
        long_header = f"GET / HTTP/1.1\r\nHost: x\r\nX-Api-Key: {SECRET}\r\n\r\n".encode()
        answer = _raw(gw.admin_port, long_header)
        assert answer.split(b" ", 2)[1] == b"400", answer[:200]
        assert answer.endswith(
            b'{"message":"Bad request: a request line or header longer than 8190 bytes"}'
        )
        assert b"sk-admin" not in answer
        garbage = _raw(gw.admin_port, b"\x16\x03\x01 not http at all\r\n\r\n")
        assert garbage == b"" or garbage.split(b" ", 2)[1] == b"400", garbage[:200]
        time.sleep(0.5)
        assert gw.admin("GET", "/status")[0] == 200  # still serving
        logs = gw.error_log() + gw.log_path.read_text()
    assert "Traceback" not in logs
    assert SECRET[:20] not in logs
    lines = [line for line in logs.splitlines() if "lockgate.admin.http" in line]
    assert lines, logs[-2000:]
