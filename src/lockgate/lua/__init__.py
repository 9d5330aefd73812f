"""Sandboxed Lua (LuaJIT via lupa) with the subset of Kong's PDK that snippets use.

For the pre-function and post-function plugins::

    runtime = LuaRuntime()                        # one per worker process
    chunk = runtime.compile(code, "pre-function:access[1]")   # at config time;
                                                  # LuaSyntaxError rejects bad Lua
    request = LuaRequest(method=..., path=..., headers=..., body=...)  # per request
    runtime.run(chunk, request, "access")         # per phase and snippet
    # then apply request.service_*, answer request.exit_* if exit_status is set,
    # forward request.log_lines; keep the same LuaRequest for later phases.

``run`` raises ``LuaRuntimeError`` (with ``.traceback``) or ``LuaTimeoutError``;
the plugin answers 500 and logs it. ``check_syntax`` validates without a
runtime. Module map: ``sandbox`` (globals, budget, compile/run kernel),
``json_bridge`` (cjson and get_body/set_body), ``pdk_core``/``pdk_kong``/
``pdk_ngx`` (the PDK), ``hostfuncs`` (Python helpers), ``runtime`` (the
Python side), ``request`` and ``errors``.
"""

from .errors import LuaError, LuaRuntimeError, LuaSyntaxError, LuaTimeoutError
from .request import LuaRequest
from .runtime import PHASES, LuaChunk, LuaRuntime, check_syntax

__all__ = [
    "PHASES",
    "LuaChunk",
    "LuaError",
    "LuaRequest",
    "LuaRuntime",
    "LuaRuntimeError",
    "LuaSyntaxError",
    "LuaTimeoutError",
    "check_syntax",
]
