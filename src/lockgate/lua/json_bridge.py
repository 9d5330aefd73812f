"""JSON between request bodies and Lua tables (``cjson`` and ``kong.request.get_body``).

Why a Lua-side codec: a Claude Code body is 85-125 KB with 1,000-2,000 nodes,
and snippets decode and re-encode it on every request. Walking Lua tables from
Python through lupa costs a Python object per node; a codec that stays inside
LuaJIT (interpreter only, see ``sandbox``) and leans on its C string functions
measured faster: on the 110 KB test fixture (1,450 nodes, 2,000 strings) about
1.1 ms to decode and 0.35 ms to encode, and about 2 ms for a whole
``LuaRuntime.run`` of the HuggingFace snippet (``bench/lua_json_roundtrip.py``).

Strictness comes from orjson: ``decode`` first asks Python to validate the
text (``validate_json``, ~0.1 ms per 100 KB), so the Lua decoder only ever sees
valid JSON and can use plain ``string.find`` scans (memchr speed) instead of
Lua patterns (an order of magnitude slower per byte).

Speed on the way back comes from a per-run memo: every string the decoder
produced is remembered with its escaped JSON text, so strings the snippet did
not touch (nearly all of them) are copied into the output without a scan.

Semantics follow Kong's ``cjson`` setup (``decode_array_with_array_mt``):

- objects -> tables; arrays -> tables with the array metatable, so ``[]``
  encodes back as ``[]``; an empty plain table encodes as ``{}``;
- ``null`` -> the ``null`` sentinel (``ngx.null`` / ``cjson.null``);
- numbers are Lua numbers (doubles): integers up to 2^53 round-trip exactly and
  are written without exponent; larger integers lose precision as in Kong;
  non-integers are written with the fewest digits that read back equal;
- strings are bytes: escapes are decoded exactly (surrogate pairs included) and
  the encoder escapes only ``"``, ``\\`` and control characters.
"""

from __future__ import annotations

import orjson

JSON_CODEC_LUA = r"""
local validate = ...

local byte, sub, find, char, gsub, format = string.byte, string.sub, string.find, string.char, string.gsub, string.format
local concat = table.concat
local tonumber, type, next, error, floor, huge = tonumber, type, next, error, math.floor, math.huge
local setmetatable, getmetatable = setmetatable, debug.getmetatable

local MAX_DEPTH = 1100 -- orjson already refuses more than 1024 levels
local MEMO_MIN = 64    -- short strings are cheaper to rescan than to remember

local null = newproxy(true)
getmetatable(null).__tostring = function() return "null" end
getmetatable(null).__metatable = false
local empty_array = newproxy(true)
getmetatable(empty_array).__tostring = function() return "empty_array" end
getmetatable(empty_array).__metatable = false
local ARRAY_MT = {}

-- value -> escaped JSON text (without quotes), or true when it needs no escaping
local memo = {}

local UNESCAPE = { [34] = '"', [92] = "\\", [47] = "/", [98] = "\b", [102] = "\f", [110] = "\n", [114] = "\r", [116] = "\t" }

local function utf8_char(cp)
  if cp < 0x80 then
    return char(cp)
  elseif cp < 0x800 then
    return char(0xC0 + floor(cp / 64), 0x80 + cp % 64)
  elseif cp < 0x10000 then
    return char(0xE0 + floor(cp / 4096), 0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
  end
  return char(0xF0 + floor(cp / 262144), 0x80 + floor(cp / 4096) % 64, 0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
end

local function unescape(seg)
  local parts, n, i = {}, 0, 1
  while true do
    local j = find(seg, "\\", i, true)
    if not j then
      n = n + 1
      parts[n] = sub(seg, i)
      return concat(parts, "", 1, n)
    end
    n = n + 1
    parts[n] = sub(seg, i, j - 1)
    local e = byte(seg, j + 1)
    if e == 117 then -- \uXXXX, possibly a surrogate pair (validated by orjson)
      local cp = tonumber(sub(seg, j + 2, j + 5), 16)
      i = j + 6
      if cp >= 0xD800 and cp <= 0xDBFF then
        local lo = tonumber(sub(seg, i + 2, i + 5), 16)
        cp = 0x10000 + (cp - 0xD800) * 1024 + (lo - 0xDC00)
        i = i + 6
      end
      n = n + 1
      parts[n] = utf8_char(cp)
    else
      n = n + 1
      parts[n] = UNESCAPE[e]
      i = j + 2
    end
  end
end

-- Position of the next backslash at or after i in the text being decoded:
-- found once and reused while the decoder moves past it, so strings without
-- escapes (most of them) cost one plain find for their closing quote only.
local next_backslash = 0

local function backslash_from(s, i)
  if next_backslash < i then
    next_backslash = find(s, "\\", i, true) or #s + 1
  end
  return next_backslash
end

-- i is the index just after the opening quote
local function decode_string(s, i)
  local j = find(s, '"', i, true)
  if backslash_from(s, i) > j then
    local seg = sub(s, i, j - 1)
    if j - i >= MEMO_MIN then memo[seg] = true end
    return seg, j + 1
  end
  while true do -- the quote we found may be escaped: count the backslashes before it
    local k = j - 1
    while byte(s, k) == 92 do k = k - 1 end
    if (j - 1 - k) % 2 == 0 then break end
    j = find(s, '"', j + 1, true)
  end
  local seg = sub(s, i, j - 1)
  local value = unescape(seg)
  memo[value] = seg
  return value, j + 1
end

-- called only when the byte at i may be whitespace (c <= 32): compact JSON,
-- the common case, then costs one byte() per token and no call
local function skip_space(s, i)
  local _, e = find(s, "^[ \n\r\t]*", i)
  i = e + 1
  return i, byte(s, i)
end

local decode_value

local function decode_number(s, i)
  local _, e = find(s, "^-?%d+", i)
  local c = byte(s, e + 1)
  if c == 46 or c == 101 or c == 69 then -- . e E
    local _, e2 = find(s, "^%.%d+", e + 1)
    if e2 then e = e2 end
    _, e2 = find(s, "^[eE][-+]?%d+", e + 1)
    if e2 then e = e2 end
  end
  return tonumber(sub(s, i, e)), e + 1
end

function decode_value(s, i, depth)
  local c = byte(s, i)
  if c <= 32 then i, c = skip_space(s, i) end
  if c == 34 then
    return decode_string(s, i + 1)
  elseif c == 123 then
    if depth >= MAX_DEPTH then error("too many nested data structures", 0) end
    local t = {}
    i = i + 1
    c = byte(s, i)
    if c <= 32 then i, c = skip_space(s, i) end
    if c == 125 then return t, i + 1 end
    while true do
      local k, v
      k, i = decode_string(s, i + 1)
      c = byte(s, i)
      if c <= 32 then i = skip_space(s, i) end -- now at the colon
      v, i = decode_value(s, i + 1, depth + 1)
      t[k] = v
      c = byte(s, i)
      if c <= 32 then i, c = skip_space(s, i) end
      if c == 125 then return t, i + 1 end
      i = i + 1 -- the comma
      c = byte(s, i)
      if c <= 32 then i = skip_space(s, i) end
    end
  elseif c == 91 then
    if depth >= MAX_DEPTH then error("too many nested data structures", 0) end
    local t = setmetatable({}, ARRAY_MT)
    i = i + 1
    c = byte(s, i)
    if c <= 32 then i, c = skip_space(s, i) end
    if c == 93 then return t, i + 1 end
    local n = 0
    while true do
      n = n + 1
      t[n], i = decode_value(s, i, depth + 1)
      c = byte(s, i)
      if c <= 32 then i, c = skip_space(s, i) end
      if c == 93 then return t, i + 1 end
      i = i + 1 -- the comma
    end
  elseif c == 116 then
    return true, i + 4
  elseif c == 102 then
    return false, i + 5
  elseif c == 110 then
    return null, i + 4
  end
  return decode_number(s, i)
end

local function decode(s)
  if type(s) ~= "string" then
    return nil, "expected argument of type string, got " .. type(s)
  end
  local err = validate(s)
  if err then return nil, err end
  next_backslash = 0
  return (decode_value(s, 1, 0))
end

-- encoder

local ESCAPE = {}
for b = 0, 31 do ESCAPE[char(b)] = format("\\u%04x", b) end
ESCAPE["\b"], ESCAPE["\f"], ESCAPE["\n"], ESCAPE["\r"], ESCAPE["\t"] = "\\b", "\\f", "\\n", "\\r", "\\t"
ESCAPE['"'], ESCAPE["\\"] = '\\"', "\\\\"
local NEEDS_ESCAPE = '[%z\1-\31"\\]'

local function escaped(s)
  local m = memo[s]
  if m == true then return s end
  if m then return m end
  if find(s, NEEDS_ESCAPE) then return (gsub(s, NEEDS_ESCAPE, ESCAPE)) end
  return s
end

-- key -> '"key":', built once per run: the same few keys repeat throughout a body
local key_pieces = {}

local function key_piece(k)
  local piece = key_pieces[k]
  if not piece then
    piece = '"' .. escaped(k) .. '":'
    key_pieces[k] = piece
  end
  return piece
end

local function format_number(v)
  if v ~= v or v == huge or v == -huge then
    error("Cannot serialise number: must not be NaN or Infinity", 0)
  end
  if v == floor(v) and v > -9007199254740992 and v < 9007199254740992 then
    return format("%d", v)
  end
  local s = format("%.15g", v)
  if tonumber(s) == v then return s end
  s = format("%.16g", v)
  if tonumber(s) == v then return s end
  return format("%.17g", v)
end

local encode_value

local function encode_array(t, len, buf, n, depth)
  if len == 0 then
    n = n + 1
    buf[n] = "[]"
    return n
  end
  n = n + 1
  buf[n] = "["
  for i = 1, len do
    if i > 1 then
      n = n + 1
      buf[n] = ","
    end
    n = encode_value(t[i], buf, n, depth)
  end
  n = n + 1
  buf[n] = "]"
  return n
end

-- cjson's rule: a table whose keys are all positive integers is an array
-- (holes become null) unless it is excessively sparse
local function array_length(t)
  local max, count = 0, 0
  for k in next, t do
    if type(k) ~= "number" or k <= 0 or k ~= floor(k) then return nil end
    if k > max then max = k end
    count = count + 1
  end
  if max > 10 and max > count * 2 then
    error("Cannot serialise table: excessively sparse array", 0)
  end
  return max
end

local function encode_table(t, buf, n, depth)
  if depth > MAX_DEPTH then
    error(format("Cannot serialise, excessive nesting (%d)", depth), 0)
  end
  if getmetatable(t) == ARRAY_MT then
    return encode_array(t, #t, buf, n, depth + 1)
  end
  local first = next(t)
  if first == nil then
    n = n + 1
    buf[n] = "{}"
    return n
  end
  if type(first) == "number" then
    local len = array_length(t)
    if len then return encode_array(t, len, buf, n, depth + 1) end
  end
  n = n + 1
  buf[n] = "{"
  local sep = false
  for k, v in next, t do
    local tk = type(k)
    if tk == "number" then
      k = format_number(k)
    elseif tk ~= "string" then
      error("Cannot serialise " .. tk .. ": table key must be a number or string", 0)
    end
    if sep then
      n = n + 1
      buf[n] = ","
    end
    sep = true
    n = n + 1
    buf[n] = key_pieces[k] or key_piece(k)
    if type(v) == "string" then -- the common case, inlined
      buf[n + 1] = '"'
      buf[n + 2] = escaped(v)
      buf[n + 3] = '"'
      n = n + 3
    else
      n = encode_value(v, buf, n, depth + 1)
    end
  end
  n = n + 1
  buf[n] = "}"
  return n
end

function encode_value(v, buf, n, depth)
  local tv = type(v)
  if tv == "string" then
    buf[n + 1] = '"'
    buf[n + 2] = escaped(v)
    buf[n + 3] = '"'
    return n + 3
  elseif tv == "table" then
    return encode_table(v, buf, n, depth)
  elseif tv == "number" then
    buf[n + 1] = format_number(v)
  elseif tv == "boolean" then
    buf[n + 1] = v and "true" or "false"
  elseif v == null or v == nil then
    buf[n + 1] = "null"
  elseif v == empty_array then
    buf[n + 1] = "[]"
  else
    error("Cannot serialise " .. tv .. ": type not supported", 0)
  end
  return n + 1
end

-- raises a string error for values JSON cannot carry (as cjson does)
local function encode(v)
  local buf = {}
  local n = encode_value(v, buf, 0, 0)
  return concat(buf, "", 1, n)
end

local function reset()
  if next(memo) ~= nil then memo = {} end
  if next(key_pieces) ~= nil then key_pieces = {} end
end

return {
  decode = decode,
  encode = encode,
  reset = reset,
  null = null,
  empty_array = empty_array,
  ARRAY_MT = ARRAY_MT,
}
"""


def validate_json(data: bytes) -> bytes | None:
    """Return None if ``data`` is one valid JSON text, else orjson's message.

    Called from Lua before decoding; returns the message rather than raising
    because an exception would cross back into Lua as an opaque error.
    """
    try:
        orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        return str(exc).encode()
    return None
