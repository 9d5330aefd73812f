"""The sandbox: compile errors, runtime errors, the instruction budget, escapes denied."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lockgate.lua import (
    LuaError,
    LuaRequest,
    LuaRuntime,
    LuaRuntimeError,
    LuaSyntaxError,
    LuaTimeoutError,
    check_syntax,
)

Run = Callable[..., LuaRequest]

# compile time ------------------------------------------------------------------------


def test_syntax_error_names_the_line(runtime: LuaRuntime) -> None:
    code = "local a = 1\nlocal b = 2\nif a then\n  b = = 3\nend\n"
    with pytest.raises(LuaSyntaxError) as exc:
        runtime.compile(code, "pre-function:access[1]")
    assert exc.value.line == 4
    assert "line 4" in str(exc.value)
    assert "unexpected symbol near '='" in str(exc.value)
    assert exc.value.chunk_name == "pre-function:access[1]"


def test_unfinished_block_is_reported_at_the_end(runtime: LuaRuntime) -> None:
    with pytest.raises(LuaSyntaxError) as exc:
        runtime.compile("if true then\n  x = 1\n", "snippet")
    assert exc.value.line == 3
    assert "'end' expected" in str(exc.value)


def test_check_syntax_needs_no_runtime() -> None:
    check_syntax("local x = 1 return x")
    with pytest.raises(LuaSyntaxError, match="line 2") as exc:
        check_syntax("local x = 1\nreturn x + + 1\n")
    assert isinstance(exc.value, LuaError)


def test_check_syntax_does_not_execute() -> None:
    check_syntax("while true do end")


@pytest.mark.parametrize("code", ["\x1bLJ\x02\x00garbage", "\x1bLua"])
def test_binary_chunks_are_refused(runtime: LuaRuntime, code: str) -> None:
    with pytest.raises(LuaSyntaxError, match="binary"):
        runtime.compile(code, "snippet")
    with pytest.raises(LuaSyntaxError, match="binary"):
        check_syntax(code)


# run time ------------------------------------------------------------------------------


def test_runtime_error_carries_message_and_traceback(run: Run) -> None:
    code = "local function explode(x)\n  error('boom: ' .. x)\nend\nexplode('now')\n"
    with pytest.raises(LuaRuntimeError) as exc:
        run(code)
    assert exc.value.message == "snippet:2: boom: now"
    assert "stack traceback:" in exc.value.traceback
    assert "snippet:2: in function 'explode'" in exc.value.traceback
    assert "snippet:4: in main chunk" in exc.value.traceback
    assert "lockgate." not in exc.value.traceback
    assert not isinstance(exc.value, LuaTimeoutError)


def test_runtime_error_with_a_table_value(run: Run) -> None:
    with pytest.raises(LuaRuntimeError, match="table: "):
        run("error({code = 1})")


def test_index_nil_error(run: Run) -> None:
    with pytest.raises(LuaRuntimeError, match=r"snippet:1: attempt to index .*nil value"):
        run("local t = nil; return t.x")


def test_outputs_before_an_error_are_kept(run: Run) -> None:
    request = LuaRequest()
    with pytest.raises(LuaRuntimeError):
        run("kong.service.request.set_header('x-a', '1') kong.log.warn('w') error('late')", request)
    assert request.service_headers_set == {"x-a": "1"}
    assert request.log_lines == [("warn", "snippet:1: w")]


def test_kong_0_2_style_snippet_returning_a_function(run: Run) -> None:
    code = "local n = 0\nreturn function()\n  n = n + 1\n  kong.log.info(n)\nend\n"
    assert run(code).log_lines == [("info", "snippet:4: 1")]
    assert run(code).log_lines == [("info", "snippet:4: 1")]


# the instruction budget --------------------------------------------------------------------

LOOPS = [
    "while true do end",
    "local i = 0 repeat i = i + 1 until false",
    "local function f() return f() end f()",
    "while true do pcall(function() while true do end end) end",
    "while true do xpcall(function() while true do end end, function(e) return e end) end",
    "while true do coroutine.resume(coroutine.create(function() while true do end end)) end",
    "coroutine.wrap(function() while true do end end)()",
    "for k in pairs(setmetatable({}, {__index = function() while true do end end})) do end local x = setmetatable({}, {__index = function() while true do end end}).y",
    "string.gsub(string.rep('a', 10), 'a', function() while true do end end)",
    "table.sort({3, 2, 1}, function(a, b) while true do end end)",
    # a DAG that encodes to 2^40 nodes: JSON encoding is charged to the budget
    "local t = {} for i = 1, 40 do t = {t, t} end require('cjson').encode(t)",
    "local t = {} for i = 1, 40 do t = {t, t} end kong.response.exit(200, t)",
]


@pytest.mark.parametrize("code", LOOPS)
def test_infinite_loops_are_stopped(code: str) -> None:
    runtime = LuaRuntime(max_instructions=200_000)
    with pytest.raises(LuaTimeoutError) as exc:
        runtime.run(runtime.compile(code, "loop"), LuaRequest(), "access")
    assert "instruction limit exceeded" in str(exc.value)
    assert isinstance(exc.value, LuaRuntimeError)
    # the runtime keeps working
    request = LuaRequest()
    runtime.run(runtime.compile("kong.log.info('alive')", "after"), request, "access")
    assert request.log_lines == [("info", "after:1: alive")]


def test_default_budget_stops_a_loop(runtime: LuaRuntime) -> None:
    with pytest.raises(LuaTimeoutError) as exc:
        runtime.run(runtime.compile("while true do end", "spin"), LuaRequest(), "access")
    assert "spin:1" in exc.value.traceback
    runtime.run(runtime.compile("local x = 1", "after"), LuaRequest(), "access")


def test_budget_is_per_run() -> None:
    runtime = LuaRuntime(max_instructions=100_000)
    chunk = runtime.compile("for i = 1, 10000 do end", "work")
    for _ in range(50):
        runtime.run(chunk, LuaRequest(), "access")


def test_memory_bound(runtime: LuaRuntime) -> None:
    if not runtime.memory_limited:
        pytest.skip("this lupa build cannot bound LuaJIT's memory")
    code = "local t = {} for i = 1, 1e6 do t[i] = string.rep('x', 1e6) .. i end"
    with pytest.raises(LuaRuntimeError, match="not enough memory"):
        runtime.run(runtime.compile(code, "hog"), LuaRequest(), "access")
    request = LuaRequest()
    runtime.run(runtime.compile("kong.log.info(#string.rep('y', 1e6))", "after"), request, "access")
    assert request.log_lines == [("info", "after:1: 1000000")]


# escapes -------------------------------------------------------------------------------------

DENIED = {
    "os.execute": "return os.execute('id')",
    "os.getenv": "return os.getenv('HOME')",
    "os.exit": "return os.exit(1)",
    "os.remove": "return os.remove('/tmp/x')",
    "io.open": "return io.open('/etc/passwd')",
    "io.popen": "return io.popen('id')",
    "require os": "return require('os')",
    "require io": "return require('io')",
    "require ffi": "return require('ffi')",
    "require debug": "return require('debug')",
    "require jit": "return require('jit')",
    "load": "return load('return 1')()",
    "loadstring": "return loadstring('return 1')()",
    "dofile": "return dofile('/etc/passwd')",
    "loadfile": "return loadfile('/etc/passwd')",
    "debug.getinfo": "return debug.getinfo(1)",
    "debug.sethook": "debug.sethook()",
    "string.dump": "return string.dump(print)",
    "method dump": "return ('x').dump(print)",
    "string metatable": "return getmetatable('').__index.rep",
    "package.loaded": "return package.loaded.os",
    "setfenv": "setfenv(0, {})",
    "getfenv": "return getfenv(kong.request.get_header).os.execute",
    "collectgarbage": "collectgarbage('stop')",
    "jit.on": "jit.on()",
    "ffi global": "return ffi.C",
    "newproxy": "return newproxy(true)",
    "python": "return python.eval('1')",
    "module": "module('x')",
    "rawget _G": "return rawget(_G, 'io').open",
    "_G.os": "return _G.os.execute('id')",
}


@pytest.mark.parametrize("code", DENIED.values(), ids=DENIED.keys())
def test_escapes_are_denied(run: Run, code: str) -> None:
    with pytest.raises(LuaRuntimeError, match=r"a nil value|require is restricted"):
        run(code)


def test_require_names_the_restriction(run: Run) -> None:
    with pytest.raises(LuaRuntimeError, match="module 'socket' not found: require is restricted"):
        run("local s = require('socket')")


def test_no_python_object_is_reachable(run: Run) -> None:
    code = """
    local seen, bad = {}, {}
    local allowed = { [ngx.null] = true, [require("cjson").empty_array] = true }
    local function walk(v, path)
      local tv = type(v)
      if tv == "userdata" and not allowed[v] then bad[#bad + 1] = path end
      if tv ~= "table" or seen[v] then return end
      seen[v] = true
      for k, x in pairs(v) do walk(x, path .. "." .. tostring(k)) end
      local mt = getmetatable(v)
      if type(mt) == "table" then walk(mt, path .. ".<mt>") end
    end
    walk(_G, "_G")
    walk(require("cjson"), "cjson")
    walk(kong.request.get_headers(), "headers")
    kong.log.info(#bad, " ", table.concat(bad, ","))
    """
    assert run(code).log_lines == [("info", "snippet:16: 0 ")]


def test_globals_do_not_leak_between_runs(run: Run) -> None:
    run("leaked = 'secret' string.upper = nil kong.request.get_header = nil _G.print = nil")
    request = run(
        "kong.log.info(tostring(leaked), ' ', string.upper('a'), ' ', "
        "kong.request.get_header('host'), ' ', type(print))"
    )
    assert request.log_lines == [("info", "snippet:1: nil A gateway.test function")]


def test_shared_metatables_cannot_be_tampered_with(run: Run) -> None:
    run(
        """
        local cjson = require "cjson"
        cjson.array_mt.__index = function() return "pwned" end
        cjson.null = "fake"
        local ok = pcall(setmetatable, kong.request.get_headers(), {})
        assert(not ok)
        assert(getmetatable(kong.request.get_headers()) == false)
        """
    )
    request = run(
        """
        local cjson = require "cjson"
        local t = cjson.decode('[1]')
        kong.log.info(tostring(t[5]), " ", tostring(cjson.null == ngx.null))
        """
    )
    assert request.log_lines == [("info", "snippet:4: nil true")]


def test_exit_cannot_be_swallowed(run: Run) -> None:
    code = """
    local ok = pcall(kong.response.exit, 401, "no")
    xpcall(function() kong.response.exit(402) end, function() return "caught" end)
    kong.log.err("unreachable")
    """
    request = run(code)
    assert request.exit_status == 401
    assert request.log_lines == []
