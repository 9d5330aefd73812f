"""The ``kong.*`` PDK subset: request, service.request, service.response,
response, client, log, ctx, router.

Semantics follow Kong's ``kong/pdk`` modules (argument checks and error
messages included, so snippets that work on Kong behave the same). Where
lockgate differs, it is on purpose and noted here:

- repeated request headers arrive joined with ``", "``, so ``get_header``
  returns the joined value rather than the first one, and setting a header to
  an array joins it too;
- ``kong.request.get_raw_body`` never fails for size (lockgate holds the body
  in memory); ``get_body``'s third argument ``max_allowed_file_size`` is still
  honoured: a larger body gives ``nil, "request body file too big: ..."``;
- ``multipart/form-data`` bodies are not parsed (``nil, "unsupported content
  type ..."``), though ``set_body`` can write one;
- forwarded getters ignore ``X-Forwarded-*`` (as Kong does with no
  ``trusted_ips``);
- ``kong.response.get_raw_body`` / ``set_raw_body`` are absent: use ``ngx.arg``.
"""

from __future__ import annotations

PDK_KONG_LUA = r"""
local K = ...
local P = K.P
local codec = P.codec

local type, tostring, tonumber, next, ipairs, pairs, error, setmetatable =
      type, tostring, tonumber, next, ipairs, pairs, error, setmetatable
local format, find, sub, lower, byte, random = string.format, string.find, string.sub, string.lower, string.byte, math.random
local concat, sort, floor = table.concat, table.sort, math.floor
local copy = K.copy

local CONTENT_TYPE_POST = "application/x-www-form-urlencoded"
local CONTENT_TYPE_JSON = "application/json"
local CONTENT_TYPE_FORM_DATA = "multipart/form-data"

local BEFORE_CONTENT = P.REWRITE_ACCESS
local check_phase = P.check_phase

-- kong.request ----------------------------------------------------------------

local request = {}

function request.get_scheme() return P.R.scheme end
function request.get_host() return P.R.host end
function request.get_port() return P.R.port end
function request.get_forwarded_scheme() return P.R.scheme end
function request.get_forwarded_host() return P.R.host end
function request.get_forwarded_port() return P.R.port end
function request.get_forwarded_path() return P.normalize_path(P.R.path) end
function request.get_forwarded_prefix() return nil end
function request.get_http_version() return 1.1 end
function request.get_method() return P.R.method end
function request.get_raw_path() return P.R.path end
function request.get_path() return P.normalize_path(P.R.path) end
function request.get_raw_query() return P.R.raw_query end

function request.get_path_with_query()
  local R = P.R
  if R.raw_query ~= "" then return R.path .. "?" .. R.raw_query end
  return R.path
end

function request.get_start_time()
  return floor(P.R.now * 1000)
end

function request.get_query(max_args)
  P.check_max(max_args, "max_args", 1000)
  return (P.decode_args(P.R.raw_query, max_args or 100))
end

function request.get_query_arg(name)
  if type(name) ~= "string" then error("query argument name must be a string", 2) end
  local v = request.get_query()[name]
  if type(v) == "table" then return v[1] end
  return v
end

function request.get_header(name)
  if type(name) ~= "string" then error("header name must be a string", 2) end
  return P.R.headers[P.norm(name)]
end

function request.get_headers(max_headers)
  P.check_max(max_headers, "max_headers", 1000)
  return P.headers_copy(P.R.headers, max_headers or 100)
end

function request.get_raw_body(max_allowed_file_size)
  check_phase(BEFORE_CONTENT)
  local body = P.R.body or ""
  if max_allowed_file_size ~= nil then
    if type(max_allowed_file_size) ~= "number" then
      error("max_allowed_file_size must be a number", 2)
    end
    if #body > max_allowed_file_size then
      return nil, format("request body file too big: %d > %d", #body, max_allowed_file_size)
    end
  end
  return body
end

function request.get_body(mimetype, max_args, max_allowed_file_size)
  check_phase(BEFORE_CONTENT)
  local R = P.R
  local content_type = mimetype or R.headers["content-type"]
  if not content_type then return nil, "missing content type" end
  local ct = lower(content_type)
  local semi = find(ct, ";", 1, true)
  if semi then ct = sub(ct, 1, semi - 1) end

  if find(ct, CONTENT_TYPE_POST, 1, true) == 1 then
    if max_args ~= nil then
      if type(max_args) ~= "number" then error("max_args must be a number", 2) end
      if max_args < 1 then error("max_args must be >= 1", 2) end
      if max_args > 1000 then error("max_args must be <= 1000", 2) end
    end
    local body, err = request.get_raw_body(max_allowed_file_size)
    if not body then return nil, err, CONTENT_TYPE_POST end
    return (P.decode_args(body, max_args or 100)), nil, CONTENT_TYPE_POST

  elseif find(ct, CONTENT_TYPE_JSON, 1, true) == 1 then
    local body, err = request.get_raw_body(max_allowed_file_size)
    if not body then return nil, err, CONTENT_TYPE_JSON end
    local json = P.json_decode(body)
    if type(json) ~= "table" then return nil, "invalid json body", CONTENT_TYPE_JSON end
    return json, nil, CONTENT_TYPE_JSON

  elseif find(ct, CONTENT_TYPE_FORM_DATA, 1, true) == 1 then
    return nil, "unsupported content type '" .. content_type .. "'", CONTENT_TYPE_FORM_DATA
  end
  return nil, "unsupported content type '" .. content_type .. "'", ct
end

function request.get_uri_captures()
  return { unnamed = setmetatable({}, codec.ARRAY_MT), named = {} }
end

-- kong.service.request --------------------------------------------------------

local service_request = {}

local function set_raw_body(body)
  local R = P.R
  R.body = body
  R.out.body = body
end

function service_request.set_raw_body(body)
  check_phase(BEFORE_CONTENT)
  if type(body) ~= "string" then error("body must be a string", 2) end
  set_raw_body(body)
end
P.set_raw_body = set_raw_body

local function multipart_body(args, mime)
  local boundary = mime:match('boundary="([^"]+)"') or mime:match("boundary=([^;%s]+)")
  local keys = {}
  for k, v in pairs(args) do
    if type(k) ~= "string" then
      error(format("invalid key %q: got %s, expected string", tostring(k), type(k)), 3)
    end
    local tv = type(v)
    if tv ~= "string" and tv ~= "number" and tv ~= "boolean" then
      error(format("invalid value %q: got %s, expected string, number or boolean", k, tv), 3)
    end
    keys[#keys + 1] = k
  end
  sort(keys)
  local function clashes(b)
    for _, k in ipairs(keys) do
      if find(tostring(args[k]), "\n--" .. b, 1, true) then return true end
    end
  end
  while not boundary or clashes(boundary) do
    boundary = tostring(random(1e10))
  end
  local out = {}
  for _, k in ipairs(keys) do
    out[#out + 1] = "--" .. boundary .. "\r\nContent-Disposition: form-data; name=\"" .. k .. "\"\r\n\r\n" .. tostring(args[k]) .. "\r\n"
  end
  out[#out + 1] = "--" .. boundary .. "--\r\n"
  return concat(out), CONTENT_TYPE_FORM_DATA .. "; boundary=" .. boundary
end

function service_request.set_body(args, mime)
  check_phase(BEFORE_CONTENT)
  if type(args) ~= "table" then error("args must be a table", 2) end
  if mime ~= nil and type(mime) ~= "string" then error("mime must be a string", 2) end
  local R = P.R
  if not mime then
    mime = R.headers["content-type"]
    if not mime then
      return nil, "content type was neither explicitly given as an argument or received as a header"
    end
  end
  local base = lower(mime)
  local semi = find(base, ";", 1, true)
  if semi then base = sub(base, 1, semi - 1) end
  base = base:match("^%s*(.-)%s*$")

  local body, content_type
  if base == CONTENT_TYPE_JSON then
    local err
    body, err = P.json_encode(args)
    if not body then error(err, 2) end
    content_type = mime
  elseif base == CONTENT_TYPE_POST then
    local err
    body, err = P.encode_args(args)
    if not body then error(err, 2) end
    content_type = mime
  elseif base == CONTENT_TYPE_FORM_DATA then
    body, content_type = multipart_body(args, mime)
  else
    error("unsupported content type " .. mime, 2)
  end

  set_raw_body(body)
  if R.headers["content-type"] ~= content_type then
    P.set_service_header("content-type", content_type)
  end
  R.out.content_type = content_type
  return true
end

function service_request.set_header(header, value)
  check_phase(BEFORE_CONTENT)
  local name = P.check_header_name(header, 2)
  P.set_service_header(name, P.header_value(header, value, 2))
end

function service_request.add_header(header, value)
  check_phase(BEFORE_CONTENT)
  local name = P.check_header_name(header, 2)
  local v = P.header_value(header, value, 2)
  local old = P.R.headers[name]
  P.set_service_header(name, old and (old .. ", " .. v) or v)
end

function service_request.clear_header(header)
  check_phase(BEFORE_CONTENT)
  if type(header) ~= "string" then error("header must be a string", 2) end
  P.set_service_header(P.norm(header), nil)
end

function service_request.set_headers(headers)
  check_phase(BEFORE_CONTENT)
  if type(headers) ~= "table" then error("headers must be a table", 2) end
  local checked = {}
  for k, v in pairs(headers) do
    checked[P.check_header_name(k, 2)] = P.header_value(k, v, 2)
  end
  for name, v in pairs(checked) do P.set_service_header(name, v) end
end

function service_request.set_path(path)
  check_phase(BEFORE_CONTENT)
  if type(path) ~= "string" then error("path must be a string", 2) end
  if byte(path) ~= 47 then error("path must start with /", 2) end
  P.R.out.path = P.escape_path(path)
end

local function set_query_string(query)
  local R = P.R
  R.raw_query = query
  R.out.query = query
end
P.set_query_string = set_query_string

function service_request.set_raw_query(query)
  check_phase(BEFORE_CONTENT)
  if type(query) ~= "string" then error("query must be a string", 2) end
  set_query_string(query)
end

function service_request.set_query(args)
  check_phase(BEFORE_CONTENT)
  if type(args) ~= "table" then error("args must be a table", 2) end
  local query, err = P.encode_args(args)
  if not query then error(err, 2) end
  set_query_string(query)
end

function service_request.clear_query_arg(name)
  check_phase(BEFORE_CONTENT)
  if type(name) ~= "string" then error("query argument name must be a string", 2) end
  local kept = {}
  for pair in P.R.raw_query:gmatch("[^&]+") do
    local eq = find(pair, "=", 1, true)
    local k = P.unescape_uri(eq and sub(pair, 1, eq - 1) or pair)
    if k ~= name then kept[#kept + 1] = pair end
  end
  set_query_string(concat(kept, "&"))
end

local METHODS = {}
for m in ("GET HEAD PUT POST DELETE OPTIONS MKCOL COPY MOVE PROPFIND PROPPATCH LOCK UNLOCK PATCH TRACE"):gmatch("%S+") do
  METHODS[m] = true
end
P.METHODS = METHODS

local function set_method(method)
  P.R.method = method
  P.R.out.method = method
end
P.set_method = set_method

function service_request.set_method(method)
  check_phase(BEFORE_CONTENT)
  if type(method) ~= "string" then error("method must be a string", 2) end
  if not METHODS[method] then error("invalid method: " .. method, 2) end
  set_method(method)
end

function service_request.enable_buffering() end

-- kong.service.response (the service's own status and headers) ---------------

local service_response = {}

function service_response.get_status() return P.R.service_status end

function service_response.get_header(name)
  if type(name) ~= "string" then error("header name must be a string", 2) end
  return P.R.service_headers[P.norm(name)]
end

function service_response.get_headers(max_headers)
  P.check_max(max_headers, "max_headers", 1000)
  return P.headers_copy(P.R.service_headers, max_headers or 100)
end

-- kong.response ---------------------------------------------------------------

local response = {}
local RESPONSE_WRITABLE = P.RESPONSE_WRITABLE

function response.get_status() return P.R.response_status end

function response.get_header(name)
  if type(name) ~= "string" then error("header name must be a string", 2) end
  return P.R.resp_headers[P.norm(name)]
end

function response.get_headers(max_headers)
  P.check_max(max_headers, "max_headers", 1000)
  return P.headers_copy(P.R.resp_headers, max_headers or 100)
end

function response.get_source()
  local R = P.R
  if R.out.exit_status then return "exit" end
  if R.service_status then return "service" end
  return "error"
end

local function check_status(status, level)
  if type(status) ~= "number" then error("code must be a number", level + 1) end
  if status < 100 or status > 599 or status ~= floor(status) then
    error("code must be a number between 100 and 599", level + 1)
  end
end

function response.set_status(status)
  check_phase(RESPONSE_WRITABLE)
  check_status(status, 2)
  P.R.response_status = status
  P.R.out.status = status
end

local function set_response_header(header, value)
  local name = P.check_header_name(header, 3)
  if name == "transfer-encoding" then
    P.log("warn", 3, "manually setting Transfer-Encoding. Ignored.")
    return
  end
  P.set_response_header(name, P.header_value(header, value, 3))
end

function response.set_header(header, value)
  check_phase(RESPONSE_WRITABLE)
  set_response_header(header, value)
end

function response.add_header(header, value)
  check_phase(RESPONSE_WRITABLE)
  local name = P.check_header_name(header, 2)
  local v = P.header_value(header, value, 2)
  local old = P.R.resp_headers[name]
  P.set_response_header(name, old and (old .. ", " .. v) or v)
end

function response.clear_header(header)
  check_phase(RESPONSE_WRITABLE)
  if type(header) ~= "string" then error("header name must be a string", 2) end
  P.set_response_header(P.norm(header), nil)
end

function response.set_headers(headers)
  check_phase(RESPONSE_WRITABLE)
  if type(headers) ~= "table" then error("headers must be a table", 2) end
  for k in pairs(headers) do P.check_header_name(k, 2) end
  for k, v in pairs(headers) do set_response_header(k, v) end
end

-- records the response and stops the snippet (the kernel's EXIT error)
function P.exit(status, body, headers)
  local out = P.R.out
  out.exit_status = status
  out.exit_body = body
  out.exit_headers = headers or {}
  K.raise_exit()
end

function response.exit(status, body, headers)
  check_phase(RESPONSE_WRITABLE)
  check_status(status, 2)
  if body ~= nil and type(body) ~= "string" and type(body) ~= "table" then
    error("body must be a nil, string or table", 2)
  end
  if headers ~= nil and type(headers) ~= "table" then error("headers must be a nil or table", 2) end
  local hs = {}
  if headers then
    for k, v in pairs(headers) do
      local name = P.check_header_name(k, 2)
      if name ~= "transfer-encoding" then hs[name] = P.header_value(k, v, 2) end
    end
  end
  if type(body) == "table" then
    local json, err = P.json_encode(body)
    if not json then error("body encoding failed while flushing response: " .. err, 2) end
    body = json
    if not hs["content-type"] then hs["content-type"] = "application/json; charset=utf-8" end
  end
  P.exit(status, body, hs)
end

local ERROR_MESSAGES = {
  [400] = "Bad request", [401] = "Unauthorized", [403] = "Forbidden", [404] = "Not found",
  [405] = "Method not allowed", [408] = "Request timeout", [409] = "Conflict",
  [413] = "Request size limit exceeded", [415] = "Unsupported media type",
  [429] = "API rate limit exceeded", [500] = "An unexpected error occurred",
  [502] = "An invalid response was received from the upstream server",
  [503] = "The upstream server is currently unavailable",
  [504] = "The upstream server is timing out",
}

function response.error(status, message, headers)
  check_phase(RESPONSE_WRITABLE)
  check_status(status, 2)
  if status < 400 then error("code must be a number between 400 and 599", 2) end
  if message ~= nil and type(message) ~= "string" then error("message must be a nil or string", 2) end
  message = message or ERROR_MESSAGES[status] or ("The upstream server responded with " .. status)
  return response.exit(status, { message = message }, headers)
end

-- kong.client, kong.router, kong.log, kong.ip, kong.table ----------------------

local client = {}
function client.get_ip() return P.R.client_ip end
function client.get_forwarded_ip() return P.R.client_ip end
function client.get_port() return nil end
function client.get_forwarded_port() return nil end
function client.get_protocol() return P.R.scheme end
function client.get_credential() return nil end
function client.get_consumer()
  local id = P.R.consumer_id
  if id then return { id = id } end
end

local router = {}
function router.get_route()
  local id = P.R.route_id
  if id then return { id = id } end
end
function router.get_service()
  local id = P.R.service_id
  if id then return { id = id } end
end

local log = {}
for _, level in ipairs({ "debug", "info", "notice", "warn", "err", "crit", "alert", "emerg" }) do
  log[level] = function(...) P.log(level, 2, ...) end
end

local function inspect(v, seen, depth)
  if type(v) == "string" then return format("%q", v) end
  if type(v) ~= "table" then return tostring(v) end
  if seen[v] or depth > 8 then return "<cycle>" end
  seen[v] = true
  local keys = {}
  for k in next, v do keys[#keys + 1] = k end
  sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  local parts = {}
  for i, k in ipairs(keys) do
    local ks = type(k) == "string" and k:match("^[%a_][%w_]*$") and k or ("[" .. inspect(k, seen, depth + 1) .. "]")
    parts[i] = ks .. " = " .. inspect(v[k], seen, depth + 1)
  end
  seen[v] = nil
  return "{ " .. concat(parts, ", ") .. " }"
end

function log.inspect(...)
  local parts = {}
  for i = 1, select("#", ...) do parts[i] = inspect((select(i, ...)), {}, 0) end
  P.log("debug", 2, concat(parts, " "))
end

local LOG_MT = {
  __call = function(_, ...) P.log("notice", 2, ...) end,
  __metatable = false,
}

local ip = {}
function ip.is_trusted() return false end

local ktable = { new = require("table.new"), clear = require("table.clear") }

-- a fresh kong table per run: snippets may scribble on their copy only
function P.new_kong()
  local R = P.R
  return {
    request = copy(request),
    service = { request = copy(service_request), response = copy(service_response) },
    response = copy(response),
    client = copy(client),
    router = copy(router),
    log = setmetatable(copy(log), LOG_MT),
    ctx = { shared = R.shared, plugin = R.ctx },
    ip = copy(ip),
    table = copy(ktable),
  }
end
"""
