"""Shared pieces of the Kong PDK: request state binding, headers, URL codecs, logging.

The PDK functions are created once per runtime and read the request being
served from ``P.R``, a table the Python side fills before each run (inputs,
plus the effective view: request headers, body, query and method as earlier
snippets left them, as Kong's ``ngx.req.*`` setters make them visible to later
reads). Every change is also recorded in ``R.out``, which is all Python reads
back.
"""

from __future__ import annotations

PDK_CORE_LUA = r"""
local K, codec, host = ...
local P = K.P

local type, tostring, tonumber, next, ipairs, pairs, error, select, setmetatable, rawget =
      type, tostring, tonumber, next, ipairs, pairs, error, select, setmetatable, rawget
local format, find, sub, gsub, lower, upper, byte, char, gmatch =
      string.format, string.find, string.sub, string.gsub, string.lower, string.upper, string.byte, string.char, string.gmatch
local concat, sort, floor = table.concat, table.sort, math.floor

local MAX_LOG_LINES = 1000
local MAX_LOG_LENGTH = 4096

P.codec = codec

function P.bind(R)
  P.R = R
end

-- after a snippet that returned normally: ngx.say / ngx.print output with no
-- ngx.exit is the answer, as OpenResty would send it
function P.finish(R)
  local say = R.say
  if say and not R.out.exit_status then
    local out = R.out
    out.exit_status = 200
    out.exit_body = concat(say)
    out.exit_headers = { ["content-type"] = "text/plain; charset=utf-8" }
  end
  R.say = nil
end

-- phases --------------------------------------------------------------------

local function phase_set(names)
  local t = {}
  for name in gmatch(names, "%S+") do t[name] = true end
  return t
end
P.REWRITE_ACCESS = phase_set("rewrite access")
P.RESPONSE_WRITABLE = phase_set("rewrite access header_filter")

function P.check_phase(allowed)
  local phase = P.R.phase
  if not allowed[phase] then
    error(format("function cannot be called in %s phase", phase), 3)
  end
end

-- headers -------------------------------------------------------------------

-- Kong looks headers up case-insensitively and lets "_" stand for "-"
local function norm(name)
  return (gsub(lower(name), "_", "-"))
end
P.norm = norm

function P.check_header_name(name, level)
  if type(name) ~= "string" then
    error(format("invalid header name %q: got %s, expected string", tostring(name), type(name)), level + 1)
  end
  if name == "" or find(name, "[^%w!#$%%&'*+%-%.^_`|~]") then
    error(format("invalid header name %q", name), level + 1)
  end
  return norm(name)
end

local function scalar_header_value(name, v, level)
  local tv = type(v)
  if tv == "string" then
    if find(v, "[\r\n]") then
      error(format("invalid header value for %q: contains CR or LF", name), level + 1)
    end
    return v
  elseif tv == "number" or tv == "boolean" then
    return tostring(v)
  end
  error(format("invalid header value for %q: got %s, expected array of string, string, number or boolean", name, tv), level + 1)
end

-- arrays become one comma-joined value: lockgate carries one value per name
function P.header_value(name, value, level)
  if type(value) == "table" then
    local parts, n = {}, 0
    for _, v in ipairs(value) do
      n = n + 1
      parts[n] = scalar_header_value(name, v, level + 1)
    end
    return concat(parts, ", ")
  end
  local v = scalar_header_value(name, value, level + 1) -- not a tail call: keeps error levels right
  return v
end

local HEADERS_MT = {
  __index = function(t, k)
    if type(k) == "string" then
      local n = norm(k)
      if n ~= k then return rawget(t, n) end
    end
  end,
  __metatable = false,
}

function P.check_max(value, what, max)
  if value == nil then return end
  if type(value) ~= "number" then error(what .. " must be a number", 3) end
  if value < 1 then error(what .. " must be >= 1", 3) end
  if value > max then error(what .. " must be <= " .. max, 3) end
end

-- a fresh table the snippet may change, read case-insensitively
function P.headers_copy(headers, max)
  local t, n = {}, 0
  for k, v in next, headers do
    n = n + 1
    if max and n > max then break end
    t[k] = v
  end
  return setmetatable(t, HEADERS_MT)
end

local function changes(out, set_key, clear_key)
  local set, clear = out[set_key], out[clear_key]
  if not set then
    set, clear = {}, {}
    out[set_key], out[clear_key] = set, clear
  end
  return set, clear
end

-- value nil clears; name is already normalised
function P.set_service_header(name, value)
  local R = P.R
  local set, clear = changes(R.out, "hset", "hclear")
  R.headers[name] = value
  if value == nil then
    set[name], clear[name] = nil, true
  else
    set[name], clear[name] = value, nil
  end
  if name == "content-type" then R.out.content_type = value or false end
end

function P.set_response_header(name, value)
  local R = P.R
  local set, clear = changes(R.out, "rset", "rclear")
  R.resp_headers[name] = value
  if value == nil then
    set[name], clear[name] = nil, true
  else
    set[name], clear[name] = value, nil
  end
end

-- URLs ----------------------------------------------------------------------

local function hex_byte(h)
  return char(tonumber(h, 16))
end

function P.unescape_uri(s)
  s = gsub(s, "+", " ")
  return (gsub(s, "%%(%x%x)", hex_byte))
end

local function escape_byte(c)
  return format("%%%02X", byte(c))
end

-- ngx.escape_uri: everything but RFC 3986 unreserved characters
function P.escape_uri(s)
  return (gsub(s, "[^%w%-%._~]", escape_byte))
end

-- kong.service.request.set_path: escape what cannot appear in a path
function P.escape_path(s)
  return (gsub(s, "[^%w%-%._~!$&'()*+,;=:@/%%]", escape_byte))
end

local RESERVED = {}
for c in gmatch(":/?#[]@!$&'()*+,;=%", ".") do RESERVED[c] = true end

local function normalize_escape(h)
  local c = char(tonumber(h, 16))
  if RESERVED[c] then return "%" .. upper(h) end
  return c
end

-- kong.request.get_path: RFC 3986 section 6 normalisation, as Kong does it
function P.normalize_path(path)
  path = gsub(path, "%%(%x%x)", normalize_escape)
  path = gsub(path, "//+", "/")
  if not find(path, "/.", 1, true) then return path end
  local segments, n = {}, 0
  local trailing = false
  for seg in gmatch(path, "[^/]+") do
    trailing = false
    if seg == ".." then
      if n > 0 then
        segments[n] = nil
        n = n - 1
      end
      trailing = true
    elseif seg == "." then
      trailing = true
    else
      n = n + 1
      segments[n] = seg
    end
  end
  local out = "/" .. concat(segments, "/")
  if (trailing or sub(path, -1) == "/") and out ~= "/" then out = out .. "/" end
  return out
end

-- ngx.decode_args: repeated names become arrays, bare names are true
function P.decode_args(s, max)
  local args, n = {}, 0
  if not s or s == "" then return args end
  for pair in gmatch(s, "[^&]+") do
    n = n + 1
    if max and max > 0 and n > max then return args, "truncated" end
    local eq = find(pair, "=", 1, true)
    local k, v
    if eq then
      k, v = P.unescape_uri(sub(pair, 1, eq - 1)), P.unescape_uri(sub(pair, eq + 1))
    else
      k, v = P.unescape_uri(pair), true
    end
    if k ~= "" then
      local old = args[k]
      if old == nil then
        args[k] = v
      elseif type(old) == "table" then
        old[#old + 1] = v
      else
        args[k] = { old, v }
      end
    end
  end
  return args
end

local function encode_arg(k, v, out)
  local tv = type(v)
  if tv == "string" or tv == "number" then
    out[#out + 1] = P.escape_uri(k) .. "=" .. P.escape_uri(tostring(v))
  elseif v == true then
    out[#out + 1] = P.escape_uri(k)
  elseif v ~= false then
    return "attempt to use " .. tv .. " as query arg value"
  end
end

-- Kong's make_ordered_args: one group per key, groups sorted, order within a key kept
function P.encode_args(args)
  local groups = {}
  for k, v in pairs(args) do
    if type(k) ~= "string" then return nil, "arg keys must be strings" end
    local group, err = {}
    if type(v) == "table" then
      for _, item in ipairs(v) do
        err = err or encode_arg(k, item, group)
      end
    else
      err = encode_arg(k, v, group)
    end
    if err then return nil, err end
    if #group > 0 then groups[#groups + 1] = concat(group, "&") end
  end
  sort(groups)
  return concat(groups, "&")
end

-- logging -------------------------------------------------------------------

local function stringify(...)
  local n = select("#", ...)
  local parts = {}
  for i = 1, n do
    local v = select(i, ...)
    parts[i] = type(v) == "string" and v or tostring(v)
  end
  return concat(parts, "", 1, n)
end
P.stringify = stringify

-- level: a name; depth: stack levels between the snippet and this call
function P.log(level, depth, ...)
  local out = P.R.out
  local lines = out.log
  if not lines then
    lines = {}
    out.log = lines
  end
  local n = #lines
  if n >= MAX_LOG_LINES then return end
  local msg = stringify(...)
  if #msg > MAX_LOG_LENGTH then msg = sub(msg, 1, MAX_LOG_LENGTH) .. "...(truncated)" end
  lines[n + 1] = { level, K.where(depth + 1) .. ": " .. msg }
end

function P.print(...)
  P.log("notice", 2, ...)
end

-- host functions (Python), behind type checks --------------------------------

local function string_arg(fname, v, pos)
  if type(v) == "number" then return tostring(v) end
  if type(v) ~= "string" then
    error(format("bad argument #%d to '%s' (string expected, got %s)", pos or 1, fname, type(v)), 3)
  end
  return v
end
P.string_arg = string_arg

function P.encode_base64(s, no_padding)
  return host.encode_base64(string_arg("encode_base64", s), no_padding and true or false)
end
function P.decode_base64(s)
  return host.decode_base64(string_arg("decode_base64", s))
end
function P.md5(s)
  return host.md5(string_arg("md5", s))
end
function P.md5_bin(s)
  return host.md5_bin(string_arg("md5_bin", s))
end
function P.sha1_bin(s)
  return host.sha1_bin(string_arg("sha1_bin", s))
end
function P.hmac_sha1(key, s)
  return host.hmac_sha1(string_arg("hmac_sha1", key, 1), string_arg("hmac_sha1", s, 2))
end
function P.crc32(s)
  return host.crc32(string_arg("crc32", s))
end
function P.pid()
  return host.pid()
end

-- JSON for PDK functions: decoding unhooked (linear in the input), encoding counted
function P.json_decode(s)
  return K.unhooked(codec.decode, s)
end

function P.json_encode(v)
  local ok, s = K.pcall(codec.encode, v)
  if ok then return s end
  return nil, s
end

return P
"""
