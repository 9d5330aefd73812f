"""How long the HuggingFace pre-function snippet takes on a ~110 KB Claude Code body.

Run: ``python bench/lua_json_roundtrip.py``. Prints the median over several
repeats of: the Lua JSON codec alone (decode + encode), the whole
``LuaRuntime.run`` of the tutorial snippet (state marshalling, orjson
validation, sandbox setup, decode, ``model`` removal, encode, read-back), the
fixed cost of running an empty snippet, and orjson's own loads+dumps for scale.
"""

from __future__ import annotations

import importlib.util
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from lockgate.lua import LuaRequest, LuaRuntime

ROOT = Path(__file__).resolve().parent.parent


def _fixture() -> bytes:
    spec = importlib.util.spec_from_file_location("lua_conftest", ROOT / "tests/lua/conftest.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return orjson.dumps(module.claude_code_request())


def _median_ms(fn: Callable[[], object], number: int = 200, repeat: int = 7) -> tuple[float, float]:
    """Median wall and CPU milliseconds per call (CPU time is steadier on a busy box)."""
    fn()
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        for _ in range(number):
            fn()
        wall.append((time.perf_counter() - start) / number * 1000)
        cpu.append((time.process_time() - start_cpu) / number * 1000)
    return statistics.median(wall), statistics.median(cpu)


def _report(label: str, timing: tuple[float, float]) -> None:
    print(f"{label:<30} {timing[0]:7.3f} ms wall  {timing[1]:7.3f} ms cpu")


def main() -> None:
    body = _fixture()
    runtime = LuaRuntime()
    hf = runtime.compile(_HF_SNIPPET, "hf")
    codec_only = runtime.compile(_CODEC_ONLY, "codec")
    empty = runtime.compile("local _ = 1", "empty")
    headers = {"content-type": "application/json"}

    def run(chunk: object) -> Callable[[], object]:
        return lambda: runtime.run(
            chunk, LuaRequest(method="POST", headers=headers, body=body), "access"
        )  # type: ignore[arg-type]

    print(f"body: {len(body)} bytes")
    _report("HF snippet, whole run", _median_ms(run(hf)))
    _report("cjson decode+encode, whole run", _median_ms(run(codec_only)))
    _report("empty snippet, whole run", _median_ms(run(empty), number=2000))
    _report("orjson loads+dumps", _median_ms(lambda: orjson.dumps(orjson.loads(body))))


_HF_SNIPPET = """\
local body = kong.request.get_body("application/json", nil, 10485760)
if not body or body == "" then
  return
end
body.model = nil
kong.service.request.set_body(body, "application/json")
"""

_CODEC_ONLY = """\
local cjson = require "cjson"
local body = cjson.decode(kong.request.get_raw_body())
local _ = cjson.encode(body)
"""


if __name__ == "__main__":
    main()
