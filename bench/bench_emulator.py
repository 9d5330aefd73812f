"""The provider emulators, tuned for load: ``python bench/bench_emulator.py PORT``.

Three differences from ``lockgate emulate``, because a benchmark sends
hundreds of thousands of requests and the emulator shares the machine's two
cores with the gateway it measures:

- nothing is recorded (``lockgate emulate --max-records 0``): by default the
  emulator keeps every request, headers and parsed body, so a long run would
  grow without bound and pay a JSON parse per request for the log;
- no prompt-cache simulation: it hashes a sorted JSON dump of every prefix
  of the conversation (quadratic in the number of messages) and took ~40% of
  the emulator's CPU on the Claude-Code-sized body; cached token counts are
  reported as 0 instead;
- a listen backlog of 4096 (aiohttp's default is 128), so that 1,000 streams
  opened at once through a gateway are not delayed by SYN retries.

It runs on uvloop, like lockgate. Prints ``READY <url>`` once listening.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from typing import Any

from aiohttp import web

from lockgate.testing.emulator import build_app
from lockgate.testing.emulator.records import Recorder
from lockgate.testing.emulator.state import EmulatorState
from lockgate.testing.emulator.tokens import CacheHit, PromptCache

__all__ = ["NoCache", "serve"]

_CACHED_PROVIDERS = ("openai", "anthropic", "huggingface", "dashscope", "gemini")


class NoCache(PromptCache):
    """A prompt cache that never hits and remembers nothing."""

    def automatic(self, scope: str, segments: list[object]) -> int:
        return 0

    def explicit(self, scope: str, segments: list[object], breakpoints: list[int]) -> CacheHit:
        return CacheHit()


async def serve(host: str, port: int) -> None:
    state = EmulatorState(recorder=Recorder(0))
    state.caches.update({name: NoCache() for name in _CACHED_PROVIDERS})
    app = build_app(state)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=4096, reuse_address=True)
    await site.start()
    bound: Any = runner.addresses[0]
    print(f"READY http://{host}:{bound[1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        asyncio.run(serve("127.0.0.1", port))
        return
    uvloop.run(serve("127.0.0.1", port))


if __name__ == "__main__":
    main()
