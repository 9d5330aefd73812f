"""The sandboxed LuaJIT runtime: compile snippets once, run them per request.

One ``LuaRuntime`` per worker process: creating a LuaJIT state and loading the
PDK into it costs milliseconds, running a compiled snippet costs tens of
microseconds. The runtime is not thread-safe and not reentrant; lockgate's
workers are single-threaded asyncio loops, and ``run`` is synchronous and
bounded by the instruction budget.

Everything crossing into Lua is ``bytes``, numbers, booleans or Lua tables
(the state runs with ``encoding=None`` and Python attribute access denied),
so no Python object is ever reachable from a snippet.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lupa import luajit21

from .errors import LuaRuntimeError, LuaSyntaxError, LuaTimeoutError
from .hostfuncs import host_functions
from .json_bridge import JSON_CODEC_LUA, validate_json
from .pdk_core import PDK_CORE_LUA
from .pdk_kong import PDK_KONG_LUA
from .pdk_ngx import PDK_NGX_LUA
from .request import LuaRequest
from .sandbox import SANDBOX_LUA

PHASES = frozenset({"rewrite", "access", "header_filter", "body_filter", "log"})

_LOADER = "function(src, name, ...) return assert(load(src, '=' .. name, 't'))(...) end"
_MAX_SAFE_INT = 2**53
_INTERNAL_FRAME = re.compile(r"^\s*lockgate\.(sandbox|pdk|kong|ngx|json):")
# past this share of the memory limit, collect after a run: LuaJIT does no
# emergency collection when the allocator refuses, so garbage must not pile up
_GC_THRESHOLD = 0.5
#: What is kept of a table a snippet returns (the rest becomes null).
_MAX_DEPTH = 32
_MAX_VALUES = 10_000


def _deny_attributes(obj: object, name: object, is_setting: bool) -> str:
    raise AttributeError("Python attributes are not accessible from Lua")


def _new_lua(max_memory: int | None) -> tuple[Any, bool]:
    """A bare LuaJIT state; the memory bound if this lupa build supports it."""
    options: dict[str, Any] = {
        "encoding": None,
        "register_eval": False,
        "register_builtins": False,
        "unpack_returned_tuples": True,
        "attribute_filter": _deny_attributes,
    }
    if max_memory is not None:
        try:
            return luajit21.LuaRuntime(max_memory=max_memory, **options), True
        except (
            luajit21.LuaError,
            RuntimeError,
            TypeError,
        ):  # pragma: no cover - lupa builds without it
            pass
    return luajit21.LuaRuntime(**options), False


def _b(value: str) -> bytes:
    return value.encode("utf-8", "surrogateescape")


def _s(value: bytes) -> str:
    return value.decode("utf-8", "surrogateescape")


def check_syntax(code: str) -> None:
    """Raise ``LuaSyntaxError`` if ``code`` does not compile; nothing runs.

    Builds a throwaway bare LuaJIT state (about 0.1 ms), so it is usable from
    configuration validation with no runtime at hand.
    """
    lua = luajit21.LuaRuntime(encoding=None, register_eval=False, register_builtins=False)
    compile_only = lua.eval(
        "function(code) if code:byte(1) == 27 then return 'precompiled (binary) chunks are not accepted' end "
        "local f, err = load(code, '=snippet', 't', {}) return err end"
    )
    err = compile_only(_b(code))
    if err is not None:
        raise LuaSyntaxError.from_lua_message(_s(err), "snippet")


@dataclass(frozen=True)
class LuaChunk:
    """A compiled snippet, bound to the runtime that compiled it."""

    name: str
    function: Any
    owner: int


class LuaRuntime:
    """A LuaJIT state holding the sandbox kernel and the Kong PDK."""

    def __init__(
        self, *, max_instructions: int = 10_000_000, max_memory: int | None = 64 * 2**20
    ) -> None:
        if max_instructions < 1:
            raise ValueError("max_instructions must be positive")
        self.max_instructions = max_instructions
        self.max_memory = max_memory
        self._lua, self.memory_limited = _new_lua(max_memory)
        load = self._lua.eval(_LOADER)
        codec = load(_b(JSON_CODEC_LUA), b"lockgate.json", validate_json)
        kernel = load(_b(SANDBOX_LUA), b"lockgate.sandbox", codec, max_instructions)
        host = self._lua.table_from(host_functions())
        load(_b(PDK_CORE_LUA), b"lockgate.pdk", kernel, codec, host)
        load(_b(PDK_KONG_LUA), b"lockgate.kong", kernel)
        load(_b(PDK_NGX_LUA), b"lockgate.ngx", kernel, host)
        self._compile = kernel[b"compile"]
        self._run = kernel[b"run"]
        self._clear_hook = kernel[b"clear_hook"]
        self._is_null = self._lua.eval(
            "function(n) return function(v) return rawequal(v, n) end end"
        )(codec[b"null"])
        self._table_from = self._lua.table_from

    def compile(self, code: str, name: str) -> LuaChunk:
        """Compile once (at config time); raises ``LuaSyntaxError``."""
        fn, err = self._compile(_b(code), _b(name))
        if not fn:
            raise LuaSyntaxError.from_lua_message(_s(err or b"cannot compile"), name)
        return LuaChunk(name=name, function=fn, owner=id(self))

    def run(self, chunk: LuaChunk, request: LuaRequest, phase: str) -> Any:
        """Run ``chunk`` for ``phase`` against ``request``, writing its outputs;
        return what the chunk returned, as plain Python (tables become lists
        or dicts; functions and other Lua-only values become None).

        Outputs produced before an error are kept (as in Kong, where the
        ``ngx.req`` setters take effect immediately); the caller answers 500.
        Raises ``LuaRuntimeError`` or ``LuaTimeoutError``.
        """
        if phase not in PHASES:
            raise ValueError(f"unknown phase {phase!r}")
        if chunk.owner != id(self):
            raise ValueError(f"chunk {chunk.name!r} was compiled by another LuaRuntime")
        try:
            state = self._state(request, phase)
            status, message, traceback = self._run(chunk.function, state)
            self._read_back(state, request)
            value = self._plain(state[b"value"]) if status == b"ok" else None
        except luajit21.LuaError as exc:
            # the kernel catches the snippet's errors; only the allocator can get here
            self._clear_hook()
            detail = "not enough memory" if isinstance(exc, MemoryError) else str(exc)
            raise LuaRuntimeError(f"{chunk.name}: {detail}") from exc
        finally:
            self._collect_if_needed()
        if status == b"ok":
            return value
        text = _s(message) if message else "unknown error"
        tb = _clean_traceback(_s(traceback)) if traceback else ""
        if status == b"timeout":
            raise LuaTimeoutError(f"{chunk.name}: {text}", tb)
        raise LuaRuntimeError(text, tb)

    @property
    def memory_used(self) -> int:
        return int(self._lua.get_memory_used()) if self.memory_limited else 0

    def _collect_if_needed(self) -> None:
        if self.memory_limited and self.max_memory:
            if self._lua.get_memory_used() > self.max_memory * _GC_THRESHOLD:
                self._lua.gccollect()

    # marshalling ---------------------------------------------------------------

    def _headers(self, headers: Mapping[str, str]) -> Any:
        return self._table_from({_b(k.lower()): _b(v) for k, v in headers.items()})

    def _state(self, request: LuaRequest, phase: str) -> Any:
        query = request.service_query if request.service_query is not None else request.raw_query
        body = request.service_body if request.service_body is not None else request.body
        fields: dict[bytes, Any] = {
            b"phase": _b(phase),
            b"method": _b(request.service_method or request.method),
            b"path": _b(request.path),
            b"raw_query": _b(query),
            b"headers": self._headers(request.effective_headers()),
            b"resp_headers": self._headers(request.effective_response_headers()),
            b"service_headers": self._headers(request.response_headers),
            b"scheme": _b(request.scheme),
            b"host": _b(request.host),
            b"port": request.port,
            b"client_ip": _b(request.client_ip),
            b"now": round(time.time(), 3),
            b"shared": self._to_lua(request.shared),
            b"ctx": self._to_lua(request.ctx),
            b"eof": request.eof,
        }
        optional = {
            b"body": body,
            b"chunk": request.chunk,
            b"service_path": request.service_path,
            b"route_id": request.route_id,
            b"service_id": request.service_id,
            b"consumer_id": request.consumer_id,
            b"response_status": request.response_status,
            b"service_status": request.response_status,
        }
        for key, value in optional.items():
            if value is not None:
                fields[key] = _b(value) if isinstance(value, str) else value
        return self._table_from(fields)

    def _to_lua(self, value: Any) -> Any:
        """Python value for kong.ctx.shared / ngx.ctx -> Lua value (tables copied)."""
        if value is None or isinstance(value, bool | bytes | float):
            return value
        if isinstance(value, str):
            return _b(value)
        if isinstance(value, int):
            return value if -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT else float(value)
        if isinstance(value, Mapping):
            return self._table_from({self._to_lua(k): self._to_lua(v) for k, v in value.items()})
        if isinstance(value, list | tuple):
            return self._table_from([self._to_lua(v) for v in value])
        if luajit21.lua_type(value) is not None:
            return value
        raise TypeError(f"cannot hand a {type(value).__name__} to Lua")

    def _from_lua(self, value: Any) -> Any:
        if isinstance(value, bytes):
            try:
                return value.decode("utf-8")
            except UnicodeDecodeError:
                return value
        if luajit21.lua_type(value) == "userdata" and self._is_null(value):
            return None
        return value

    def _plain(self, value: Any) -> Any:
        """A Lua value as JSON-ready Python: a table with keys 1..n is a list,
        any other table a dict with string keys. Nesting deeper than
        _MAX_DEPTH (a cycle, say) and values past the first _MAX_VALUES
        become None."""
        budget = [_MAX_VALUES]

        def plain(value: Any, depth: int) -> Any:
            budget[0] -= 1
            if budget[0] < 0:
                return None
            value = self._from_lua(value)
            kind = luajit21.lua_type(value)
            if kind == "table":
                if depth >= _MAX_DEPTH:
                    return None
                inner = depth + 1
                items = list(value.items())
                if items and all(isinstance(k, int) for k, _ in items):
                    keys = sorted(k for k, _ in items)
                    if keys == list(range(1, len(keys) + 1)):
                        return [plain(value[k], inner) for k in keys]
                return {str(self._from_lua(k)): plain(v, inner) for k, v in items}
            if kind is not None:
                return None  # functions, coroutines, userdata
            if isinstance(value, bytes):
                return value.decode("utf-8", "replace")
            return value

        return plain(value, 0)

    def _dict_from_lua(self, table: Any) -> dict[Any, Any]:
        return {self._from_lua(k): self._from_lua(v) for k, v in table.items()}

    def _read_back(self, state: Any, request: LuaRequest) -> None:
        # in place: the proxy may hold these dicts
        _replace(request.shared, self._dict_from_lua(state[b"shared"]))
        _replace(request.ctx, self._dict_from_lua(state[b"ctx"]))
        out = state[b"out"]
        if out is None:
            return
        changes: dict[bytes, Any] = dict(out.items())
        if not changes:
            return
        _merge_headers(
            changes,
            b"hset",
            b"hclear",
            request.service_headers_set,
            request.service_headers_cleared,
        )
        _merge_headers(
            changes,
            b"rset",
            b"rclear",
            request.response_headers_set,
            request.response_headers_cleared,
        )
        if b"body" in changes:
            request.service_body = changes[b"body"]
        if b"content_type" in changes:
            request.service_content_type = _opt_str(changes[b"content_type"])
        if b"path" in changes:
            request.service_path = _s(changes[b"path"])
        if b"query" in changes:
            request.service_query = _s(changes[b"query"])
        if b"method" in changes:
            request.service_method = _s(changes[b"method"])
        if b"status" in changes:
            request.response_status = int(changes[b"status"])
        if b"exit_status" in changes:
            request.exit_status = int(changes[b"exit_status"])
            request.exit_body = changes.get(b"exit_body")
            request.exit_headers = {_s(k): _s(v) for k, v in changes[b"exit_headers"].items()}
        if b"chunk_set" in changes:
            chunk = changes.get(b"chunk")
            request.chunk = chunk if isinstance(chunk, bytes) else None
        if b"eof" in changes:
            request.eof = bool(changes[b"eof"])
        if b"log" in changes:
            for line in changes[b"log"].values():
                request.log_lines.append((_s(line[1]), _s(line[2])))


def _clean_traceback(tb: str) -> str:
    """Keep the snippet's frames: drop the kernel's frames and everything below the xpcall."""
    lines = [line for line in tb.strip().splitlines() if line.strip()]
    cut = max(
        (i for i, line in enumerate(lines) if "[C]: in function 'xpcall'" in line), default=None
    )
    if cut is not None:
        lines = lines[:cut]
    return "\n".join(line for line in lines if not _INTERNAL_FRAME.match(line))


def _replace(target: dict[Any, Any], content: dict[Any, Any]) -> None:
    target.clear()
    target.update(content)


def _opt_str(value: Any) -> str | None:
    return _s(value) if isinstance(value, bytes) else None


def _merge_headers(
    changes: dict[bytes, Any],
    set_key: bytes,
    clear_key: bytes,
    target_set: dict[str, str],
    target_cleared: set[str],
) -> None:
    """Fold one run's header changes into the request (set and clear are disjoint)."""
    for k in changes[clear_key].keys() if clear_key in changes else ():
        name = _s(k)
        target_set.pop(name, None)
        target_cleared.add(name)
    for k, v in changes[set_key].items() if set_key in changes else ():
        name = _s(k)
        target_cleared.discard(name)
        target_set[name] = _s(v)
