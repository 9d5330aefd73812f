"""A storm of hostile requests against a real gateway:
``python bench/hostile_storm.py [--rounds N] [--concurrency C]``.

Starts a gateway (one worker), the provider emulator and an echo upstream,
configures a plain route, an Anthropic-format ai-proxy route and the
tutorials' pre-function + ai-proxy route, then sends, ``rounds`` times over
``concurrency`` connections at once: bodies whose Content-Encoding lies
(gzip and deflate; the body in the first packet or a later one), malformed
HTTP (oversized request line, header name and header value holding a key,
a control character in a header, a bad version, broken chunked encoding,
duplicate Content-Length) and a truly gzipped body. Prints the answers per
kind, how many were 5xx, and what the gateway logged: lines, tracebacks,
and whether the key appeared.

Not a timed benchmark; what it shows is the faults of issue 9 (500s,
tracebacks, keys quoted in the log) and that they are gone.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import socket
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.echo import echo_server  # noqa: E402
from tests.support.processes import start_emulator, start_gateway  # noqa: E402

SECRET = "sk-storm-secret-key-0123456789"
BODY = b'{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}'
AI = """
          - name: ai-proxy
            config:
              route_type: llm/v1/chat
              llm_format: anthropic
              auth: {{header_name: x-api-key, header_value: provider-key}}
              model:
                provider: anthropic
                name: claude-sonnet-4-5
                options: {{upstream_url: "{emulator}/anthropic/v1/messages"}}"""
CONFIG = (
    """
_format_version: "3.0"
services:
  - name: plain
    url: {echo}/anything
    routes:
      - name: plain
        paths: ["/plain"]
  - name: ai
    url: {emulator}
    routes:
      - name: ai
        paths: ["/ai"]
        plugins:"""
    + AI
    + """
      - name: tutorial
        paths: ["/tutorial"]
        plugins:
          - name: pre-function
            config:
              access:
                - |
                  local body = kong.request.get_body("application/json", nil, 10485760)
                  if body then kong.service.request.set_body(body, "application/json") end"""
    + AI
)


def _post(path: str, encoding: str, body: bytes) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: storm\r\nContent-Type: application/json\r\n"
        f"x-api-key: {SECRET}\r\nContent-Encoding: {encoding}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def _kinds() -> list[tuple[str, bytes, bool]]:
    """(kind, bytes, send the body in a later packet)."""
    key = SECRET.encode()
    out = []
    for path in ("/plain", "/ai/v1/messages", "/tutorial/v1/messages"):
        for encoding in ("gzip", "deflate"):
            for split in (False, True):
                out.append((f"lying {encoding} {path}", _post(path, encoding, BODY), split))
    packed = gzip.compress(BODY.replace(b'"hi"', b'"[[reply ok]]"'))
    out.append(("true gzip /ai", _post("/ai/v1/messages", "gzip", packed), False))
    head = b"GET /plain HTTP/1.1\r\nHost: storm\r\n"
    malformed = {
        "long header value": head + b"Authorization: Bearer " + key + b"A" * 9000 + b"\r\n\r\n",
        "long header name": head + key + b"B" * 9000 + b": x\r\n\r\n",
        "long request line": b"GET /plain?k=" + key + b"C" * 9000 + b" HTTP/1.1\r\n\r\n",
        "control char": head + b"x-api-key: " + key + b"\x01\r\n\r\n",
        "bad version": b"GET /plain HTTP/9.Z\r\nx-api-key: " + key + b"\r\n\r\n",
        "bad chunk": b"POST /plain HTTP/1.1\r\nHost: s\r\nTransfer-Encoding: chunked\r\n\r\nZZ"
        + key
        + b"\r\n",
        "two lengths": b"POST /plain HTTP/1.1\r\nHost: s\r\nContent-Length: 3\r\n"
        b"Content-Length: 4\r\n\r\nabcd",
    }
    out += [(f"malformed: {name}", data, False) for name, data in malformed.items()]
    return out


def _send(port: int, data: bytes, split: bool) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        if split:
            cut = data.index(b"\r\n\r\n") + 4
            sock.sendall(data[:cut])
            time.sleep(0.01)
            sock.sendall(data[cut:])
        else:
            sock.sendall(data)
        answer = b""
        while b"\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                return 0
            answer += chunk
        return int(answer.split(b" ", 2)[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    kinds = _kinds()
    with (
        tempfile.TemporaryDirectory() as tmp,
        echo_server() as echo,
        start_emulator() as emulator,
        start_gateway(Path(tmp)) as gw,
    ):
        result = gw.apply(CONFIG.format(echo=echo, emulator=emulator))
        if result.returncode != 0:
            raise SystemExit(result.stdout + result.stderr)
        gw.wait_config()
        mark = len(gw.error_log())
        jobs = [k for _ in range(args.rounds) for k in kinds]
        with ThreadPoolExecutor(args.concurrency) as pool:
            statuses = list(pool.map(lambda k: _send(gw.proxy_port, k[1], k[2]), jobs))
        time.sleep(0.5)
        logged = gw.error_log()[mark:]
    table: dict[str, collections.Counter[int]] = collections.defaultdict(collections.Counter)
    for (kind, _, split), status in zip(jobs, statuses, strict=True):
        table[kind + (" (body later)" if split else "")][status] += 1
    width = max(len(k) for k in table)
    for kind, counts in table.items():
        print(f"{kind:<{width}}  " + ", ".join(f"{s}: {n}" for s, n in sorted(counts.items())))
    lines = [line for line in logged.splitlines() if line.strip()]
    print(f"\nrequests: {len(jobs)}; 5xx: {sum(1 for s in statuses if s >= 500)}")
    print(
        f"log lines: {len(lines)}; tracebacks: {logged.count('Traceback')}; "
        f"key in the log: {SECRET in logged}"
    )


if __name__ == "__main__":
    main()
