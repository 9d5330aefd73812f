"""The ``ngx.*`` subset snippets commonly use, mapped onto the same request state.

``ngx.req.*`` setters behave like the matching ``kong.service.request.*``
calls; ``ngx.header`` like ``kong.response.set_header``; ``ngx.var`` is read
from the request (``http_*``, ``arg_*``, ``cookie_*`` included) and accepts
writes to ``upstream_uri`` and ``args`` only. ``ngx.say``/``ngx.print`` buffer
their output, which ``ngx.exit(status)`` (or the end of the snippet) turns
into the response. ``ngx.exit(ngx.OK)`` just stops the snippet. ``ngx.now``
is the time the phase started, as nginx caches it. Facilities that need the
event loop or the filesystem (``ngx.socket``, ``ngx.timer``, ``ngx.shared``,
``ngx.location``, ``ngx.thread``, ``ngx.sleep``) raise a clear error instead
of being silently nil. ``ngx.re`` (match, find, gmatch, sub, gsub) runs on
Python's ``re``, see ``hostfuncs``.
"""

from __future__ import annotations

PDK_NGX_LUA = r"""
local K, host = ...
local P = K.P
local codec = P.codec

local type, tostring, next, pairs, error, setmetatable, rawset, select =
      type, tostring, next, pairs, error, setmetatable, rawset, select
local format, find, sub, gsub, gmatch = string.format, string.find, string.sub, string.gsub, string.gmatch
local tonumber, match = tonumber, string.match
local concat, floor, os_date = table.concat, math.floor, os.date
local copy = K.copy

local LEVELS = { [0] = "stderr", "emerg", "alert", "crit", "err", "warn", "notice", "info", "debug" }

local ngx = {
  null = codec.null,
  OK = 0, ERROR = -1, AGAIN = -2, DONE = -4, DECLINED = -5,
  STDERR = 0, EMERG = 1, ALERT = 2, CRIT = 3, ERR = 4, WARN = 5, NOTICE = 6, INFO = 7, DEBUG = 8,
  HTTP_GET = 2, HTTP_HEAD = 4, HTTP_POST = 8, HTTP_PUT = 16, HTTP_DELETE = 32, HTTP_MKCOL = 64,
  HTTP_COPY = 128, HTTP_MOVE = 256, HTTP_OPTIONS = 512, HTTP_PROPFIND = 1024,
  HTTP_PROPPATCH = 2048, HTTP_LOCK = 4096, HTTP_UNLOCK = 8192, HTTP_PATCH = 16384, HTTP_TRACE = 32768,
  HTTP_CONTINUE = 100, HTTP_SWITCHING_PROTOCOLS = 101, HTTP_OK = 200, HTTP_CREATED = 201,
  HTTP_ACCEPTED = 202, HTTP_NO_CONTENT = 204, HTTP_PARTIAL_CONTENT = 206,
  HTTP_SPECIAL_RESPONSE = 300, HTTP_MOVED_PERMANENTLY = 301, HTTP_MOVED_TEMPORARILY = 302,
  HTTP_SEE_OTHER = 303, HTTP_NOT_MODIFIED = 304, HTTP_TEMPORARY_REDIRECT = 307,
  HTTP_PERMANENT_REDIRECT = 308, HTTP_BAD_REQUEST = 400, HTTP_UNAUTHORIZED = 401,
  HTTP_PAYMENT_REQUIRED = 402, HTTP_FORBIDDEN = 403, HTTP_NOT_FOUND = 404,
  HTTP_NOT_ALLOWED = 405, HTTP_NOT_ACCEPTABLE = 406, HTTP_REQUEST_TIMEOUT = 408,
  HTTP_CONFLICT = 409, HTTP_GONE = 410, HTTP_UPGRADE_REQUIRED = 426,
  HTTP_TOO_MANY_REQUESTS = 429, HTTP_CLOSE = 444, HTTP_ILLEGAL = 451,
  HTTP_INTERNAL_SERVER_ERROR = 500, HTTP_METHOD_NOT_IMPLEMENTED = 501, HTTP_BAD_GATEWAY = 502,
  HTTP_SERVICE_UNAVAILABLE = 503, HTTP_GATEWAY_TIMEOUT = 504, HTTP_VERSION_NOT_SUPPORTED = 505,
  HTTP_INSUFFICIENT_STORAGE = 507,
}

local METHOD_NAMES = {}
for name, id in pairs(ngx) do
  local m = type(id) == "number" and name:match("^HTTP_(%u+)$")
  if m and P.METHODS[m] then METHOD_NAMES[id] = m end
end

function ngx.log(level, ...)
  if type(level) ~= "number" or not LEVELS[level] then
    error("bad argument #1 to 'log' (bad log level)", 2)
  end
  P.log(LEVELS[level], 2, ...)
end

function ngx.get_phase() return P.R.phase end
function ngx.now() return P.R.now end
function ngx.time() return floor(P.R.now) end
function ngx.update_time() end
function ngx.today() return os_date("%Y-%m-%d", floor(P.R.now)) end
function ngx.localtime() return os_date("%Y-%m-%d %H:%M:%S", floor(P.R.now)) end
function ngx.utctime() return os_date("!%Y-%m-%d %H:%M:%S", floor(P.R.now)) end
function ngx.http_time(t) return os_date("!%a, %d %b %Y %H:%M:%S GMT", floor(t)) end
function ngx.cookie_time(t) return os_date("!%a, %d-%b-%y %H:%M:%S GMT", floor(t)) end

ngx.encode_base64 = P.encode_base64
ngx.decode_base64 = P.decode_base64
ngx.md5 = P.md5
ngx.md5_bin = P.md5_bin
ngx.sha1_bin = P.sha1_bin
ngx.hmac_sha1 = P.hmac_sha1
ngx.crc32_short = P.crc32
ngx.crc32_long = P.crc32

function ngx.escape_uri(s)
  return P.escape_uri(P.string_arg("escape_uri", s))
end

function ngx.unescape_uri(s)
  return P.unescape_uri(P.string_arg("unescape_uri", s))
end

function ngx.encode_args(args)
  if type(args) ~= "table" then error("bad argument #1 to 'encode_args' (table expected)", 2) end
  local s, err = P.encode_args(args)
  if not s then error(err, 2) end
  return s
end

function ngx.decode_args(s, max)
  return P.decode_args(P.string_arg("decode_args", s), max or 100)
end

-- output: buffered until ngx.exit or the end of the snippet
local function flatten(v, parts)
  local tv = type(v)
  if tv == "table" then
    for i = 1, #v do flatten(v[i], parts) end
  elseif v == codec.null then
    parts[#parts + 1] = "null"
  elseif tv == "string" or tv == "number" or tv == "boolean" or v == nil then
    parts[#parts + 1] = tostring(v)
  else
    error("bad argument to 'say' (" .. tv .. " not allowed)", 3)
  end
end

local function say(newline, ...)
  P.check_phase(P.REWRITE_ACCESS)
  local R = P.R
  local buf = R.say
  if not buf then
    buf = {}
    R.say = buf
  end
  for i = 1, select("#", ...) do flatten((select(i, ...)), buf) end
  if newline then buf[#buf + 1] = "\n" end
  return 1
end

function ngx.say(...) return say(true, ...) end
function ngx.print(...) return say(false, ...) end
function ngx.flush() return 1 end

function ngx.exit(status)
  if type(status) ~= "number" then error("bad argument #1 to 'exit' (number expected)", 2) end
  P.check_phase(P.RESPONSE_WRITABLE)
  local R = P.R
  if status == 0 then
    -- ngx.OK: stop this handler; keep any say() output as a 200 answer
    if R.say then P.exit(200, concat(R.say), { ["content-type"] = "text/plain; charset=utf-8" }) end
    K.raise_exit()
  end
  if status < 100 or status > 599 then status = 500 end
  local body, headers = nil, {}
  if R.say then
    body = concat(R.say)
    headers["content-type"] = "text/plain; charset=utf-8"
  end
  R.say = nil
  P.exit(floor(status), body, headers)
end

local function unsupported(name)
  return function()
    error("ngx." .. name .. " is not available in lockgate's sandbox", 2)
  end
end
ngx.sleep = unsupported("sleep")
ngx.eof = unsupported("eof")
ngx.redirect = function(uri, status)
  if type(uri) ~= "string" then error("bad argument #1 to 'redirect' (string expected)", 2) end
  P.check_phase(P.REWRITE_ACCESS)
  P.exit(status or 302, nil, { location = uri })
end

local UNSUPPORTED = { socket = true, timer = true, shared = true, location = true, thread = true, semaphore = true, pipe = true }

-- ngx.re ------------------------------------------------------------------------

local re = {}

-- one match from init (1-based); returns from, to, captures table, or nil[, err]
local function re_exec(fname, subject, regex, options, init)
  subject = P.string_arg(fname, subject, 1)
  regex = P.string_arg(fname, regex, 2)
  if options ~= nil and type(options) ~= "string" then
    error(format("bad argument #3 to '%s' (string expected, got %s)", fname, type(options)), 3)
  end
  if init ~= nil and type(init) ~= "number" then error("bad ctx.pos (number expected)", 3) end
  local r = { host.re_match(subject, regex, options or "", floor(init or 1)) }
  if r[1] == nil then return nil, nil, nil, r[2] end
  if r[1] == false then return nil end
  local ngroups = r[3]
  local caps, spans = { [0] = r[4] }, { [0] = { r[1], r[2] } }
  for i = 1, ngroups do
    caps[i] = r[4 + i]
    spans[i] = { r[3 + ngroups + 2 * i], r[4 + ngroups + 2 * i] }
  end
  for j = 5 + 3 * ngroups, #r, 2 do caps[r[j]] = caps[r[j + 1]] end
  return r[1], r[2], caps, nil, spans
end

function re.match(subject, regex, options, ctx)
  local from, to, caps, err = re_exec("match", subject, regex, options, ctx and ctx.pos)
  if err then return nil, err end
  if not from then return nil end
  if ctx then ctx.pos = to + 1 end
  return caps
end

function re.find(subject, regex, options, ctx, nth)
  local from, to, caps, err, spans = re_exec("find", subject, regex, options, ctx and ctx.pos)
  if err then return nil, nil, err end
  if not from then return nil end
  if ctx then ctx.pos = to + 1 end
  if nth and nth > 0 then
    if not caps[nth] then return nil end
    return spans[nth][1], spans[nth][2]
  end
  return from, to
end

function re.gmatch(subject, regex, options)
  local pos = 1
  return function()
    if not pos then return nil end
    local from, to, caps, err = re_exec("gmatch", subject, regex, options, pos)
    if err then error(err, 2) end
    if not from then
      pos = nil
      return nil
    end
    pos = to < from and to + 2 or to + 1 -- step past an empty match
    if pos > #subject + 1 then pos = nil end
    return caps
  end
end

-- "$0", "$1", "${name}", "$$" in a replacement template, in one pass
local function expand(template, caps)
  local out, pos = {}, 1
  while true do
    local d = find(template, "$", pos, true)
    if not d then
      out[#out + 1] = sub(template, pos)
      return concat(out)
    end
    out[#out + 1] = sub(template, pos, d - 1)
    local c = sub(template, d + 1, d + 1)
    local digits = match(template, "^%d+", d + 1)
    if c == "$" then
      out[#out + 1] = "$"
      pos = d + 2
    elseif c == "{" and find(template, "}", d + 2, true) then
      local close = find(template, "}", d + 2, true)
      local name = sub(template, d + 2, close - 1)
      out[#out + 1] = caps[tonumber(name) or name] or ""
      pos = close + 1
    elseif digits then
      out[#out + 1] = caps[tonumber(digits)] or ""
      pos = d + 1 + #digits
    else
      out[#out + 1] = "$"
      pos = d + 1
    end
  end
end

local function substitute(fname, subject, regex, replace, options, limit)
  local tr = type(replace)
  if tr ~= "string" and tr ~= "function" then
    error(format("bad argument #3 to '%s' (string or function expected)", fname), 3)
  end
  local out, count, pos = {}, 0, 1
  subject = P.string_arg(fname, subject, 1)
  while pos <= #subject + 1 and (not limit or count < limit) do
    local from, to, caps, err = re_exec(fname, subject, regex, options, pos)
    if err then return nil, nil, err end
    if not from then break end
    out[#out + 1] = sub(subject, pos, from - 1)
    local rep
    if tr == "function" then rep = replace(caps) else rep = expand(replace, caps) end
    out[#out + 1] = tostring(rep)
    count = count + 1
    if to < from then -- empty match: keep one character and move on
      out[#out + 1] = sub(subject, from, from)
      pos = from + 1
    else
      pos = to + 1
    end
  end
  out[#out + 1] = sub(subject, pos)
  return concat(out), count
end

function re.sub(subject, regex, replace, options)
  return substitute("sub", subject, regex, replace, options, 1)
end

function re.gsub(subject, regex, replace, options)
  return substitute("gsub", subject, regex, replace, options, nil)
end

-- ngx.req ---------------------------------------------------------------------

local req = {}
function req.get_method() return P.R.method end
function req.http_version() return 1.1 end
function req.start_time() return P.R.now end
function req.is_internal() return false end
function req.read_body() end
function req.discard_body() end
function req.get_body_file() return nil end
function req.get_body_data() return P.R.body end

function req.get_headers(max_headers)
  return P.headers_copy(P.R.headers, max_headers or 100)
end

function req.get_uri_args(max_args)
  return P.decode_args(P.R.raw_query, max_args or 100)
end

function req.get_post_args(max_args)
  return P.decode_args(P.R.body or "", max_args or 100)
end

function req.set_header(header, value)
  P.check_phase(P.REWRITE_ACCESS)
  local name = P.check_header_name(header, 2)
  if value == nil then
    P.set_service_header(name, nil)
  else
    P.set_service_header(name, P.header_value(header, value, 2))
  end
end

function req.clear_header(header)
  P.check_phase(P.REWRITE_ACCESS)
  P.set_service_header(P.check_header_name(header, 2), nil)
end

function req.set_body_data(data)
  P.check_phase(P.REWRITE_ACCESS)
  if type(data) ~= "string" then error("bad argument #1 to 'set_body_data' (string expected)", 2) end
  P.set_raw_body(data)
end

function req.set_uri_args(args)
  P.check_phase(P.REWRITE_ACCESS)
  if type(args) == "table" then
    local s, err = P.encode_args(args)
    if not s then error(err, 2) end
    args = s
  elseif type(args) ~= "string" then
    error("bad argument #1 to 'set_uri_args' (string or table expected)", 2)
  end
  P.set_query_string(args)
end

function req.set_uri(uri)
  P.check_phase(P.REWRITE_ACCESS)
  if type(uri) ~= "string" or uri == "" then error("bad argument #1 to 'set_uri' (non-empty string expected)", 2) end
  P.R.out.path = uri
end

function req.set_method(id)
  P.check_phase(P.REWRITE_ACCESS)
  local method = METHOD_NAMES[id]
  if not method then error("unsupported HTTP method: " .. tostring(id), 2) end
  P.set_method(method)
end

local resp = {}
function resp.get_headers(max_headers)
  return P.headers_copy(P.R.resp_headers, max_headers or 100)
end

-- ngx.var -----------------------------------------------------------------------

local function query_or_nil(R)
  if R.raw_query ~= "" then return R.raw_query end
end

local VARS = {
  request_uri = function(R)
    if R.raw_query ~= "" then return R.path .. "?" .. R.raw_query end
    return R.path
  end,
  uri = function(R) return P.normalize_path(P.R.path) end,
  args = query_or_nil,
  query_string = query_or_nil,
  is_args = function(R) return R.raw_query ~= "" and "?" or "" end,
  host = function(R) return R.host end,
  server_name = function(R) return R.host end,
  remote_addr = function(R) return R.client_ip end,
  realip_remote_addr = function(R) return R.client_ip end,
  request_method = function(R) return R.method end,
  scheme = function(R) return R.scheme end,
  https = function(R) return R.scheme == "https" and "on" or "" end,
  server_port = function(R) return tostring(R.port) end,
  server_protocol = function() return "HTTP/1.1" end,
  content_type = function(R) return R.headers["content-type"] end,
  content_length = function(R) return R.headers["content-length"] end,
  request_body = function(R) return R.body end,
  upstream_uri = function(R) return R.out.path or R.service_path or R.path end,
  status = function(R) return R.response_status and tostring(R.response_status) end,
  msec = function(R) return format("%.3f", R.now) end,
}

local function cookie(R, name)
  local header = R.headers.cookie
  if not header then return nil end
  for k, v in gmatch(header, "([^=;%s]+)=([^;]*)") do
    if k == name then return v end
  end
end

local VAR_MT = {
  __index = function(_, k)
    if type(k) ~= "string" then return nil end
    local R = P.R
    local f = VARS[k]
    if f then return f(R) end
    if sub(k, 1, 5) == "http_" then return R.headers[gsub(sub(k, 6), "_", "-")] end
    if sub(k, 1, 10) == "sent_http_" then return R.resp_headers[gsub(sub(k, 11), "_", "-")] end
    if sub(k, 1, 7) == "cookie_" then return cookie(R, sub(k, 8)) end
    if sub(k, 1, 4) == "arg_" then
      local name = sub(k, 5)
      for pair in gmatch(R.raw_query, "[^&]+") do
        local eq = find(pair, "=", 1, true)
        if eq and sub(pair, 1, eq - 1) == name then return sub(pair, eq + 1) end
        if not eq and pair == name then return "" end
      end
    end
  end,
  __newindex = function(_, k, v)
    P.check_phase(P.REWRITE_ACCESS)
    if k == "upstream_uri" then
      if type(v) ~= "string" then error("upstream_uri must be a string", 2) end
      local q = find(v, "?", 1, true)
      if q then
        P.set_query_string(sub(v, q + 1))
        v = sub(v, 1, q - 1)
      end
      P.R.out.path = v
    elseif k == "args" then
      P.set_query_string(v == nil and "" or tostring(v))
    else
      error(format('variable "%s" cannot be assigned a value in lockgate', tostring(k)), 2)
    end
  end,
  __metatable = false,
}

-- ngx.header (the response headers) and ngx.arg (body_filter chunk) ------------------

local HEADER_MT = {
  __index = function(_, k)
    if type(k) ~= "string" then return nil end
    return P.R.resp_headers[P.norm(k)]
  end,
  __newindex = function(_, k, v)
    P.check_phase(P.RESPONSE_WRITABLE)
    local name = P.check_header_name(k, 2)
    if v == nil then
      P.set_response_header(name, nil)
    else
      P.set_response_header(name, P.header_value(k, v, 2))
    end
  end,
  __metatable = false,
}

local ARG_MT = {
  __index = function(_, i)
    local R = P.R
    if i == 1 then return R.chunk end
    if i == 2 then return R.eof or false end
  end,
  __newindex = function(_, i, v)
    local R = P.R
    if i == 1 then
      if type(v) == "table" then v = concat(v) end
      if v ~= nil and type(v) ~= "string" then error("bad argument to ngx.arg[1] (string expected)", 2) end
      R.chunk = v
      R.out.chunk_set = true
      R.out.chunk = v
    elseif i == 2 then
      R.eof = v and true or false
      R.out.eof = R.eof
    else
      error("ngx.arg only has elements 1 and 2 in body_filter", 2)
    end
  end,
  __metatable = false,
}

-- constants and functions are read through the metatable from the shared
-- table (never handed out, so never written); the per-run table holds the rest
local NGX_MT = {
  __index = function(_, k)
    local v = ngx[k]
    if v ~= nil then return v end
    if k == "status" then return P.R.response_status or 0 end
    if UNSUPPORTED[k] then
      error("ngx." .. k .. " is not available in lockgate's sandbox", 2)
    end
  end,
  __newindex = function(t, k, v)
    if k == "status" then
      P.check_phase(P.RESPONSE_WRITABLE)
      if type(v) ~= "number" or v < 100 or v > 599 then error("invalid HTTP status code " .. tostring(v), 2) end
      P.R.response_status = floor(v)
      P.R.out.status = floor(v)
      return
    end
    rawset(t, k, v)
  end,
  __metatable = false,
}

local config = { subsystem = "http", debug = false, is_console = false }
local worker = {
  pid = function() return P.pid() end,
  id = function() return 0 end,
  count = function() return 1 end,
  exiting = function() return false end,
}

-- a fresh ngx table per run, bound to the current request
function P.new_ngx()
  return setmetatable({
    req = copy(req),
    resp = copy(resp),
    re = copy(re),
    config = copy(config),
    worker = copy(worker),
    ctx = P.R.ctx,
    var = setmetatable({}, VAR_MT),
    header = setmetatable({}, HEADER_MT),
    arg = setmetatable({}, ARG_MT),
  }, NGX_MT)
end
"""
