"""The Lua kernel: sandbox globals, the instruction budget, compile and run.

Decisions, and why:

- Globals are a fresh table per run (``setfenv`` on the compiled chunk), built
  from copies of the allowed libraries, so a snippet can neither leak state
  into another snippet or request through globals nor damage a shared library
  table (``string.upper = nil`` only touches its own copy).
- Allowed: ``assert error ipairs pairs next pcall xpcall select tonumber
  tostring type unpack rawequal rawget rawset setmetatable getmetatable print``,
  ``string`` (no ``dump``), ``table`` (plus ``new``, ``clear``, ``pack``,
  ``unpack``), ``math``, ``bit``, ``coroutine``, ``os.time/clock/date/difftime``
  and a ``require`` that knows only ``cjson`` and ``cjson.safe``. Absent: ``io``,
  the rest of ``os`` (``execute``, ``getenv``, ``exit``...), ``load``,
  ``loadstring``, ``dofile``, ``loadfile``, ``debug``, ``package``, ``jit``,
  ``ffi``, ``collectgarbage``, ``getfenv``/``setfenv`` (``getfenv`` of a PDK
  function would hand out the kernel's real globals), ``newproxy`` (its
  ``__gc`` would run outside the budget) and lupa's ``python`` module.
- ``getmetatable`` answers only for tables, so ``getmetatable("").__index`` (the
  shared string library) is out of reach; internal metatables are hidden
  (``__metatable = false``), and the array metatable is seen through a per-run
  stand-in (``cjson.array_mt``) that the sandboxed ``setmetatable`` maps back.
- CPU: a count hook (``debug.sethook``, every 1,000 VM instructions) raises
  once the budget is spent. LuaJIT does not call hooks inside compiled
  traces, so the JIT is switched off for the whole state (the interpreter is
  fast enough for snippets). LuaJIT hooks are global, so coroutines are
  counted too. Once the budget is spent every further hook call raises again,
  and the sandboxed ``pcall``/``xpcall``/``coroutine.resume`` re-raise the
  timeout and ``kong.response.exit``, so a snippet cannot swallow either.
- Not bounded: time spent inside one C function, chiefly Lua pattern matching
  with heavy backtracking (``("x"):rep(1e5):find(".-.-.-y")``); the hook cannot
  interrupt C code.
- Memory: lupa's allocator limit (``max_memory``). lupa documents it as
  unsupported on 64-bit LuaJIT, but the LuaJIT bundled with lupa 2.8 honours
  it (tested); ``LuaRuntime.memory_limited`` says whether it took. LuaJIT does
  not collect before failing an allocation, so the runtime runs a full
  collection after any run that leaves it over half the limit.
- JSON decoding inside ``get_body``/``cjson.decode`` runs with the hook off:
  it is linear in the body, which is not the snippet's doing (a 10 MB body
  would otherwise eat the budget). Encoding is counted, since a snippet can
  build a table that encodes to an enormous text.
- Binary (precompiled) chunks are refused: loading bytecode is a known way out
  of any Lua sandbox.
"""

from __future__ import annotations

SANDBOX_LUA = r"""
local codec, max_instructions = ...

local debug_sethook, debug_traceback, debug_getinfo = debug.sethook, debug.traceback, debug.getinfo
local raw_getmetatable = debug.getmetatable
local setfenv, load, newproxy = setfenv, load, newproxy
local pcall, xpcall, error, type, tostring, next, select, unpack = pcall, xpcall, error, type, tostring, next, select, unpack
local setmetatable, getmetatable, rawequal = setmetatable, getmetatable, rawequal
local co_resume = coroutine.resume
local format, byte = string.format, string.byte
local table_new, table_clear = require("table.new"), require("table.clear")

-- count hooks are not called inside compiled traces: interpret everything
jit.off()
jit.flush()
-- reachable from any string through its metatable, and useless without load
string.dump = nil
-- lupa's bridge to Python: nothing here needs it (defence in depth)
python = nil
package.loaded.python = nil

local STEP = max_instructions < 1000 and max_instructions or 1000
local ARRAY_MT = codec.ARRAY_MT
local EXIT = newproxy(false)    -- error value of kong.response.exit / ngx.exit
local TIMEOUT = newproxy(false) -- error value of the instruction hook
local EMPTY_ENV = setmetatable({}, { __metatable = false })

local K = { P = {}, EXIT = EXIT }
local P = K.P

local used, killed, exiting = 0, false, false
local timeout_tb, err_msg, err_tb
local run_mts -- per-run stand-ins for cjson.array_mt / cjson.empty_array_mt

local function hook()
  used = used + STEP
  if used > max_instructions then
    if not killed then
      killed = true
      timeout_tb = debug_traceback("", 2)
    end
    error(TIMEOUT, 0)
  end
end

function K.raise_exit()
  exiting = true
  error(EXIT, 0)
end

-- pcall that lets the two fatal errors through: for the sandbox and for PDK code
local function rethrow_fatal(ok, ...)
  if killed then error(TIMEOUT, 0) end
  if exiting then error(EXIT, 0) end
  return ok, ...
end

local function s_pcall(f, ...)
  return rethrow_fatal(pcall(f, ...))
end
K.pcall = s_pcall

local function s_xpcall(f, handler, ...)
  return rethrow_fatal(xpcall(f, function(e)
    if killed or exiting then return e end
    return handler(e)
  end, ...))
end

local function s_resume(co, ...)
  return rethrow_fatal(co_resume(co, ...))
end

-- decoding is linear in the body and not the snippet's doing: run it unhooked
function K.unhooked(f, a, b)
  debug_sethook()
  local ok, r1, r2 = pcall(f, a, b)
  debug_sethook(hook, "", STEP)
  if not ok then error(r1, 0) end
  return r1, r2
end

-- "name:line" of the snippet code that called a PDK function
function K.where(level)
  local info = debug_getinfo(level + 1, "Sl")
  if not info or info.currentline < 0 then return "?" end
  return info.short_src .. ":" .. info.currentline
end

local function s_setmetatable(t, mt)
  if type(t) ~= "table" then
    error(format("bad argument #1 to 'setmetatable' (table expected, got %s)", type(t)), 2)
  end
  if run_mts and mt ~= nil and (rawequal(mt, run_mts.array_mt) or rawequal(mt, run_mts.empty_array_mt)) then
    mt = ARRAY_MT
  end
  return setmetatable(t, mt)
end

local function s_getmetatable(v)
  if type(v) ~= "table" then return nil end
  if raw_getmetatable(v) == ARRAY_MT then return run_mts.array_mt end
  return getmetatable(v)
end

local function table_pack(...)
  return { n = select("#", ...), ... }
end

local function pick(lib, names)
  local t = {}
  for name in names:gmatch("%S+") do t[name] = lib[name] end
  return t
end

local BASE = pick(_G, "assert error ipairs pairs next select tonumber tostring type unpack rawequal rawget rawset _VERSION")
BASE.pcall, BASE.xpcall = s_pcall, s_xpcall
BASE.setmetatable, BASE.getmetatable = s_setmetatable, s_getmetatable
BASE.print = function(...) return P.print(...) end

local LIBS = {
  string = pick(string, "byte char find format gmatch gsub len lower match rep reverse sub upper"),
  table = pick(table, "concat insert maxn remove sort foreach foreachi getn"),
  math = pick(math, "abs acos asin atan atan2 ceil cos cosh deg exp floor fmod frexp huge ldexp log log10 max min modf pi pow rad random randomseed sin sinh sqrt tan tanh"),
  os = pick(os, "clock date difftime time"),
  bit = pick(bit, "arshift band bnot bor bswap bxor lshift rol ror rshift tobit tohex"),
  coroutine = pick(coroutine, "create running status wrap yield"),
}
LIBS.table.new, LIBS.table.clear, LIBS.table.pack, LIBS.table.unpack = table_new, table_clear, table_pack, unpack
LIBS.coroutine.resume = s_resume

local function copy(t)
  local c = {}
  for k, v in next, t do c[k] = v end
  return c
end
K.copy = copy

local function cjson_module(safe)
  local m = {
    null = codec.null,
    empty_array = codec.empty_array,
    array_mt = run_mts.array_mt,
    empty_array_mt = run_mts.empty_array_mt,
    _NAME = safe and "cjson.safe" or "cjson",
    _VERSION = "2.1.0 (lockgate)",
  }
  function m.decode(s)
    if type(s) ~= "string" then
      if safe then return nil, "expected argument of type string" end
      error(format("bad argument #1 to 'decode' (string expected, got %s)", type(s)), 2)
    end
    local v, err = K.unhooked(codec.decode, s)
    if err and not safe then error(err, 2) end
    return v, err
  end
  function m.encode(v)
    local ok, s = s_pcall(codec.encode, v)
    if ok then return s end
    if safe then return nil, s end
    error(s, 2)
  end
  function m.new()
    return cjson_module(safe)
  end
  -- cjson's configuration knobs: accepted, and the lockgate behaviour stays
  local function knob() return true end
  for name in ("encode_empty_table_as_object decode_array_with_array_mt encode_escape_forward_slash encode_number_precision encode_max_depth decode_max_depth encode_invalid_numbers decode_invalid_numbers encode_keep_buffer encode_sparse_array"):gmatch("%S+") do
    m[name] = knob
  end
  return m
end

local MODULES = {
  ["cjson"] = function() return cjson_module(false) end,
  ["cjson.safe"] = function() return cjson_module(true) end,
  ["table.new"] = function() return table_new end,
  ["table.clear"] = function() return table_clear end,
}

local function new_require()
  local loaded = {}
  return function(name)
    if type(name) ~= "string" then
      error(format("bad argument #1 to 'require' (string expected, got %s)", type(name)), 2)
    end
    local m = loaded[name]
    if m ~= nil then return m end
    local factory = MODULES[name]
    if not factory then
      error(format("module '%s' not found: require is restricted in lockgate's sandbox", name), 2)
    end
    m = factory()
    loaded[name] = m
    return m
  end
end

local function new_env()
  local env = copy(BASE)
  for name, lib in next, LIBS do env[name] = copy(lib) end
  env.require = new_require()
  env.kong = P.new_kong()
  env.ngx = P.new_ngx()
  env._G = env
  return env
end

local function on_error(e)
  if killed or exiting then return e end
  local msg = e
  if type(e) ~= "string" then
    local ok, s = pcall(tostring, e)
    msg = ok and s or ("(error object is a " .. type(e) .. " value)")
  end
  err_msg = msg
  err_tb = debug_traceback("", 2)
  return e
end

function K.compile(code, name)
  if byte(code, 1) == 27 then
    return false, name .. ": precompiled (binary) chunks are not accepted"
  end
  local fn, err = load(code, "=" .. name, "t", EMPTY_ENV)
  return fn or false, err or false
end

local function run(fn, R)
  used, killed, exiting = 0, false, false
  timeout_tb, err_msg, err_tb = nil, nil, nil
  run_mts = { array_mt = {}, empty_array_mt = {} }
  R.out = {}
  codec.reset()
  P.bind(R)
  setfenv(fn, new_env())
  debug_sethook(hook, "", STEP)
  local ok, result = xpcall(fn, on_error)
  if ok and type(result) == "function" then
    -- Kong 0.2.0-style snippet: the chunk returns the function to run
    ok, result = xpcall(result, on_error)
  end
  if ok then R.value = result end -- what the snippet returned (file-log's custom fields)
  if not ok and not err_msg then
    -- the handler itself failed (out of memory, usually): keep what xpcall said
    err_msg = type(result) == "string" and result or "error in error handling"
  end
  debug_sethook()
  setfenv(fn, EMPTY_ENV)
  if ok then P.finish(R) end
  return ok
end

function K.clear_hook()
  debug_sethook()
  P.bind(nil)
end

-- returns status ("ok" | "error" | "timeout"), message, traceback (false when absent)
function K.run(fn, R)
  local done, ok = pcall(run, fn, R)
  debug_sethook()
  P.bind(nil)
  codec.reset()
  if not done then
    return "error", tostring(ok), false
  end
  if killed then
    return "timeout", format("instruction limit exceeded (%d instructions)", max_instructions), timeout_tb or false
  end
  if ok or exiting then return "ok", false, false end
  return "error", err_msg or "unknown error", err_tb or false
end

return K
"""
