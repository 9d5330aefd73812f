"""The Kong PDK subset and ngx.* as snippets see them."""

from __future__ import annotations

from collections.abc import Callable

import orjson
import pytest

from lockgate.lua import LuaRequest, LuaRuntime, LuaRuntimeError

Run = Callable[..., LuaRequest]


def client_request(**kwargs: object) -> LuaRequest:
    base: dict[str, object] = {
        "method": "GET",
        "path": "/t/Abc%20123%C3%B8%2f/parent/..//test/./",
        "raw_query": "foo=hello%20world&bar=baz&zzz&blo=&bar=bla&bar",
        "headers": {
            "host": "example.com:1234",
            "x-custom-header": "bla",
            "x-another": "foo bar, baz",
            "content-type": "application/x-www-form-urlencoded",
            "cookie": "session=abc123; theme=dark",
        },
        "body": b"name=John+Doe&age=42&tags=a&tags=b",
        "client_ip": "10.0.0.7",
        "scheme": "https",
        "host": "example.com",
        "port": 1234,
        "route_id": "r-1",
        "service_id": "s-1",
        "consumer_id": "c-1",
    }
    base.update(kwargs)
    return LuaRequest(**base)  # type: ignore[arg-type]


def logged(request: LuaRequest) -> list[str]:
    return [message.split(": ", 1)[1] for _, message in request.log_lines]


# kong.request ------------------------------------------------------------------------------


def test_request_getters(run: Run) -> None:
    code = """
    local r = kong.request
    kong.log.info(r.get_method(), " ", r.get_scheme(), " ", r.get_host(), " ", r.get_port())
    kong.log.info(r.get_raw_path())
    kong.log.info(r.get_path())
    kong.log.info(r.get_raw_query())
    kong.log.info(r.get_path_with_query())
    kong.log.info(r.get_header("X-Custom-Header"), " ", r.get_header("x_custom_header"), " ", tostring(r.get_header("missing")))
    kong.log.info(r.get_forwarded_scheme(), " ", r.get_forwarded_host(), " ", r.get_http_version())
    kong.log.info(kong.client.get_ip(), " ", kong.client.get_consumer().id)
    kong.log.info(kong.router.get_route().id, " ", kong.router.get_service().id)
    """
    assert logged(run(code, client_request())) == [
        "GET https example.com 1234",
        "/t/Abc%20123%C3%B8%2f/parent/..//test/./",
        "/t/Abc 123ø%2F/test/",
        "foo=hello%20world&bar=baz&zzz&blo=&bar=bla&bar",
        "/t/Abc%20123%C3%B8%2f/parent/..//test/./?foo=hello%20world&bar=baz&zzz&blo=&bar=bla&bar",
        "bla bla nil",
        "https example.com 1.1",
        "10.0.0.7 c-1",
        "r-1 s-1",
    ]


def test_get_query(run: Run) -> None:
    code = """
    local q = kong.request.get_query()
    kong.log.info(q.foo, "|", table.concat({q.bar[1], q.bar[2], tostring(q.bar[3])}, ","), "|", tostring(q.zzz), "|", q.blo)
    kong.log.info(kong.request.get_query_arg("bar"), " ", tostring(kong.request.get_query_arg("nope")))
    """
    assert logged(run(code, client_request())) == ["hello world|baz,bla,true|true|", "baz nil"]


def test_get_query_checks_max_args(run: Run) -> None:
    with pytest.raises(LuaRuntimeError, match="max_args must be <= 1000"):
        run("kong.request.get_query(5000)", client_request())


def test_get_headers_is_case_insensitive(run: Run) -> None:
    code = """
    local h = kong.request.get_headers()
    kong.log.info(h["X-Custom-Header"], " ", h.x_custom_header, " ", h["x-another"])
    local n = 0 for _ in pairs(h) do n = n + 1 end
    kong.log.info(n)
    """
    assert logged(run(code, client_request())) == ["bla bla foo bar, baz", "5"]


def test_get_body_form_and_raw(run: Run) -> None:
    code = """
    local args, err, mime = kong.request.get_body()
    kong.log.info(args.name, " ", args.age, " ", args.tags[2], " ", mime)
    kong.log.info(kong.request.get_raw_body())
    """
    assert logged(run(code, client_request())) == [
        "John Doe 42 b application/x-www-form-urlencoded",
        "name=John+Doe&age=42&tags=a&tags=b",
    ]


@pytest.mark.parametrize(
    ("headers", "call", "expected"),
    [
        ({}, "kong.request.get_body()", "nil missing content type"),
        (
            {"content-type": "text/plain"},
            "kong.request.get_body()",
            "nil unsupported content type 'text/plain'",
        ),
        (
            {"content-type": "multipart/form-data; boundary=x"},
            "kong.request.get_body()",
            "nil unsupported content type 'multipart/form-data; boundary=x'",
        ),
        (
            {},
            'kong.request.get_body("application/json", nil, 3)',
            "nil request body file too big: 7 > 3",
        ),
        ({}, 'kong.request.get_body("application/json", nil, 7)', "table nil"),
    ],
)
def test_get_body_errors(run: Run, headers: dict[str, str], call: str, expected: str) -> None:
    code = f"local b, err = {call} kong.log.info(type(b) == 'table' and 'table' or tostring(b), ' ', tostring(err))"
    request = LuaRequest(method="POST", headers=headers, body=b'{"a":1}')
    assert logged(run(code, request)) == [expected]


def test_body_is_only_readable_before_the_response(run: Run) -> None:
    with pytest.raises(LuaRuntimeError, match="function cannot be called in log phase"):
        run("kong.request.get_body()", client_request(), "log")


# kong.service.request ----------------------------------------------------------------------


def test_service_request_setters(run: Run) -> None:
    code = """
    local sr = kong.service.request
    sr.set_header("X-Foo", "bar")
    sr.add_header("X-Custom-Header", "second")
    sr.set_headers({ ["X-Many"] = { "a", "b" }, ["X-Num"] = 42 })
    sr.clear_header("Cookie")
    sr.set_path("/new path/ünï")
    sr.set_query({ foo = "hello world", bar = { "baz", "bla", true }, zzz = true, blo = "" })
    sr.set_method("PUT")
    kong.log.info(kong.request.get_header("x-foo"), "|", kong.request.get_header("x-custom-header"), "|", tostring(kong.request.get_header("cookie")))
    kong.log.info(kong.request.get_raw_query(), "|", kong.request.get_method(), "|", ngx.var.upstream_uri)
    """
    request = run(code, client_request())
    assert request.service_headers_set == {
        "x-foo": "bar",
        "x-custom-header": "bla, second",
        "x-many": "a, b",
        "x-num": "42",
    }
    assert request.service_headers_cleared == {"cookie"}
    assert request.service_path == "/new%20path/%C3%BCn%C3%AF"
    assert request.service_query == "bar=baz&bar=bla&bar&blo=&foo=hello%20world&zzz"
    assert request.service_method == "PUT"
    assert logged(request) == [
        "bar|bla, second|nil",
        "bar=baz&bar=bla&bar&blo=&foo=hello%20world&zzz|PUT|/new%20path/%C3%BCn%C3%AF",
    ]
    assert request.effective_headers()["x-foo"] == "bar"
    assert "cookie" not in request.effective_headers()


def test_set_then_clear_then_set_across_runs(run: Run) -> None:
    request = client_request()
    run("kong.service.request.set_header('x-a', '1')", request)
    run("kong.service.request.clear_header('x-a')", request)
    assert request.service_headers_set == {}
    assert request.service_headers_cleared == {"x-a"}
    run(
        "kong.log.info(tostring(kong.request.get_header('x-a'))) kong.service.request.set_header('x-a', '2')",
        request,
    )
    assert request.service_headers_set == {"x-a": "2"}
    assert request.service_headers_cleared == set()
    assert logged(request) == ["nil"]


def test_raw_query_and_clear_query_arg(run: Run) -> None:
    request = run("kong.service.request.clear_query_arg('bar')", client_request())
    assert request.service_query == "foo=hello%20world&zzz&blo="
    request = run("kong.service.request.set_raw_query('a=1&b')", client_request())
    assert request.service_query == "a=1&b"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("kong.service.request.set_header('X-Bad', 'a\\r\\nInjected: 1')", "contains CR or LF"),
        ("kong.service.request.set_header('Bad Name', 'x')", "invalid header name"),
        ("kong.service.request.set_header('X-A', {})", None),
        ("kong.service.request.set_header('X-A', nil)", "invalid header value"),
        ("kong.service.request.set_path('relative')", "path must start with /"),
        ("kong.service.request.set_method('FETCH')", "invalid method: FETCH"),
        ("kong.service.request.set_body('str')", "args must be a table"),
        ("kong.service.request.set_body({}, 'text/plain')", "unsupported content type text/plain"),
        ("kong.service.request.set_query({[1] = 'x'})", "arg keys must be strings"),
    ],
)
def test_service_request_argument_checks(run: Run, call: str, message: str | None) -> None:
    if message is None:
        run(call, client_request())
        return
    with pytest.raises(LuaRuntimeError, match=message) as exc:
        run(call, client_request())
    assert exc.value.message.startswith("snippet:1:")


def test_set_raw_body_and_read_it_back(run: Run) -> None:
    code = (
        "kong.service.request.set_raw_body('new body') kong.log.info(kong.request.get_raw_body())"
    )
    request = run(code, client_request())
    assert request.service_body == b"new body"
    assert logged(request) == ["new body"]


def test_set_body_form_and_json(run: Run) -> None:
    request = run("kong.service.request.set_body({b = '2 3', a = {'1', true}})", client_request())
    assert request.service_body == b"a=1&a&b=2%203"
    assert request.service_content_type == "application/x-www-form-urlencoded"
    request = run("kong.service.request.set_body({a = 1}, 'application/json')", client_request())
    assert request.service_body == b'{"a":1}'
    assert request.service_content_type == "application/json"
    assert request.service_headers_set == {"content-type": "application/json"}


def test_set_body_without_content_type(run: Run) -> None:
    code = "local ok, err = kong.service.request.set_body({a = 1}) kong.log.info(tostring(ok), ' ', err)"
    request = run(code, LuaRequest(method="POST"))
    assert logged(request) == [
        "nil content type was neither explicitly given as an argument or received as a header"
    ]


def test_set_body_multipart(run: Run) -> None:
    code = "kong.service.request.set_body({b = 'x', a = 1}, 'multipart/form-data; boundary=XyZ')"
    request = run(code, client_request())
    assert request.service_body == (
        b'--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n'
        b'--XyZ\r\nContent-Disposition: form-data; name="b"\r\n\r\nx\r\n--XyZ--\r\n'
    )
    assert request.service_content_type == "multipart/form-data; boundary=XyZ"


def test_service_request_is_read_only_after_access(run: Run) -> None:
    with pytest.raises(LuaRuntimeError, match="function cannot be called in header_filter phase"):
        run("kong.service.request.set_header('x', 'y')", client_request(), "header_filter")


# kong.response --------------------------------------------------------------------------------


def test_exit_with_a_table_body(run: Run) -> None:
    request = run(
        "return kong.response.exit(403, { message = 'Access Forbidden', list = {} }, { ['WWW-Authenticate'] = 'Basic' })",
        client_request(),
    )
    assert request.exit_status == 403
    assert request.exit_body is not None
    assert orjson.loads(request.exit_body) == {"message": "Access Forbidden", "list": {}}
    assert request.exit_headers == {
        "www-authenticate": "Basic",
        "content-type": "application/json; charset=utf-8",
    }


def test_exit_keeps_an_explicit_content_type_and_string_body(run: Run) -> None:
    request = run(
        "kong.response.exit(200, '<p>hi</p>', { ['Content-Type'] = 'text/html' }) kong.log.err('not reached')",
        client_request(),
    )
    assert (request.exit_status, request.exit_body) == (200, b"<p>hi</p>")
    assert request.exit_headers == {"content-type": "text/html"}
    assert request.log_lines == []


def test_exit_without_body(run: Run) -> None:
    request = run("kong.response.exit(204)", client_request())
    assert (request.exit_status, request.exit_body, request.exit_headers) == (204, None, {})


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("kong.response.exit('200')", "code must be a number"),
        ("kong.response.exit(99)", "code must be a number between 100 and 599"),
        ("kong.response.exit(200, 5)", "body must be a nil, string or table"),
        ("kong.response.exit(200, nil, 'x')", "headers must be a nil or table"),
        ("kong.response.exit(200, {f = print})", "body encoding failed"),
    ],
)
def test_exit_argument_checks(run: Run, call: str, message: str) -> None:
    with pytest.raises(LuaRuntimeError, match=message):
        run(call, client_request())


def test_exit_is_refused_after_headers_are_sent(run: Run) -> None:
    with pytest.raises(LuaRuntimeError, match="function cannot be called in body_filter phase"):
        run("kong.response.exit(500)", client_request(), "body_filter")


def test_response_error(run: Run) -> None:
    request = run("kong.response.error(404)", client_request())
    assert request.exit_status == 404
    assert request.exit_body == b'{"message":"Not found"}'


def test_response_headers_in_header_filter(run: Run) -> None:
    request = client_request(
        response_status=200,
        response_headers={"content-type": "text/event-stream", "x-upstream": "1"},
    )
    code = """
    kong.log.info(kong.response.get_status(), " ", kong.response.get_header("Content-Type"))
    kong.response.set_header("X-Gateway", "lockgate")
    kong.response.add_header("X-Upstream", "2")
    kong.response.clear_header("Content-Length")
    ngx.header["X-Via-Ngx"] = "yes"
    ngx.header.x_upstream = nil
    ngx.status = 201
    kong.log.info(kong.response.get_header("x-gateway"), " ", tostring(kong.response.get_header("x-upstream")), " ", kong.service.response.get_header("x-upstream"))
    """
    request = run(code, request, "header_filter")
    assert request.response_headers_set == {"x-gateway": "lockgate", "x-via-ngx": "yes"}
    assert request.response_headers_cleared == {"content-length", "x-upstream"}
    assert request.response_status == 201
    assert logged(request) == ["200 text/event-stream", "lockgate nil 1"]


# kong.ctx and phases ----------------------------------------------------------------------


def test_ctx_shared_persists_across_phases_not_requests(runtime: LuaRuntime) -> None:
    access = runtime.compile(
        "kong.ctx.shared.user = 'alice' kong.ctx.shared.seen = { 'access' } ngx.ctx.n = 1", "access"
    )
    header_filter = runtime.compile(
        "table.insert(kong.ctx.shared.seen, 'header_filter') ngx.ctx.n = ngx.ctx.n + 1", "hf"
    )
    log = runtime.compile(
        "kong.log.info(tostring(kong.ctx.shared.user), ' ', "
        "table.concat(kong.ctx.shared.seen or {}, ','), ' ', tostring(ngx.ctx.n))",
        "log",
    )
    first = LuaRequest()
    runtime.run(access, first, "access")
    runtime.run(header_filter, first, "header_filter")
    runtime.run(log, first, "log")
    assert first.log_lines == [("info", "log:1: alice access,header_filter 2")]
    assert first.shared["user"] == "alice"
    second = LuaRequest()
    runtime.run(log, second, "log")
    assert second.log_lines == [("info", "log:1: nil  nil")]


def test_ctx_shared_values_from_python(run: Run) -> None:
    request = LuaRequest(shared={"tenant": "acme", "limits": {"rpm": 60}, "tags": ["a", "b"]})
    code = """
    local s = kong.ctx.shared
    kong.log.info(s.tenant, " ", s.limits.rpm, " ", s.tags[2])
    s.count = 3
    s.flag = true
    s.nothing = ngx.null
    """
    run(code, request)
    assert logged(request) == ["acme 60 b"]
    assert request.shared["count"] == 3
    assert request.shared["flag"] is True
    assert request.shared["nothing"] is None


def test_python_objects_cannot_be_put_in_shared(run: Run) -> None:
    with pytest.raises(TypeError):
        run("local x = 1", LuaRequest(shared={"bad": object()}))


def test_unknown_phase_and_foreign_chunk(runtime: LuaRuntime) -> None:
    chunk = runtime.compile("local x = 1", "x")
    with pytest.raises(ValueError, match="unknown phase"):
        runtime.run(chunk, LuaRequest(), "content")
    other = LuaRuntime()
    with pytest.raises(ValueError, match="another LuaRuntime"):
        other.run(chunk, LuaRequest(), "access")


# kong.log ------------------------------------------------------------------------------------


def test_log_levels(run: Run) -> None:
    code = """
    kong.log.err("e ", 1)
    kong.log.warn("w")
    kong.log.notice("n")
    kong.log.info("i")
    kong.log.debug("d", nil, true)
    kong.log("plain")
    print("printed")
    ngx.log(ngx.ERR, "ngx ", "err")
    ngx.log(ngx.WARN, "ngx warn")
    kong.log.inspect({ a = 1, b = { "x" } })
    """
    assert run(code).log_lines == [
        ("err", "snippet:2: e 1"),
        ("warn", "snippet:3: w"),
        ("notice", "snippet:4: n"),
        ("info", "snippet:5: i"),
        ("debug", "snippet:6: dniltrue"),
        ("notice", "snippet:7: plain"),
        ("notice", "snippet:8: printed"),
        ("err", "snippet:9: ngx err"),
        ("warn", "snippet:10: ngx warn"),
        ("debug", 'snippet:11: { a = 1, b = { [1] = "x" } }'),
    ]


# ngx ----------------------------------------------------------------------------------------


def test_ngx_var(run: Run) -> None:
    code = """
    local v = ngx.var
    kong.log.info(v.request_uri)
    kong.log.info(v.uri, "|", v.args, "|", v.host, "|", v.remote_addr, "|", v.request_method, "|", v.scheme, "|", v.server_port)
    kong.log.info(v.http_x_custom_header, "|", v.arg_foo, "|", v.cookie_theme, "|", tostring(v.nope))
    """
    assert logged(run(code, client_request())) == [
        "/t/Abc%20123%C3%B8%2f/parent/..//test/./?foo=hello%20world&bar=baz&zzz&blo=&bar=bla&bar",
        "/t/Abc 123ø%2F/test/|foo=hello%20world&bar=baz&zzz&blo=&bar=bla&bar|example.com|10.0.0.7|GET|https|1234",
        "bla|hello%20world|dark|nil",
    ]


def test_ngx_var_upstream_uri_write(run: Run) -> None:
    request = run("ngx.var.upstream_uri = '/v2/x?y=1'", client_request())
    assert (request.service_path, request.service_query) == ("/v2/x", "y=1")
    with pytest.raises(LuaRuntimeError, match='variable "host" cannot be assigned'):
        run("ngx.var.host = 'x'", client_request())


def test_ngx_req(run: Run) -> None:
    code = """
    local h = ngx.req.get_headers()
    kong.log.info(h.host, " ", ngx.req.get_method(), " ", ngx.req.get_uri_args().foo, " ", ngx.req.get_body_data())
    ngx.req.read_body()
    ngx.req.set_header("X-Ngx", "1")
    ngx.req.clear_header("x-another")
    ngx.req.set_uri_args({ q = "a b" })
    ngx.req.set_body_data("replaced")
    ngx.req.set_method(ngx.HTTP_POST)
    ngx.req.set_uri("/rewritten")
    """
    request = run(code, client_request())
    assert logged(request) == [
        "example.com:1234 GET hello world name=John+Doe&age=42&tags=a&tags=b"
    ]
    assert request.service_headers_set == {"x-ngx": "1"}
    assert request.service_headers_cleared == {"x-another"}
    assert request.service_query == "q=a%20b"
    assert request.service_body == b"replaced"
    assert request.service_method == "POST"
    assert request.service_path == "/rewritten"


def test_ngx_encodings(run: Run) -> None:
    code = r"""
    kong.log.info(ngx.encode_base64("hello?"), " ", ngx.encode_base64("a", true), " ", ngx.decode_base64("aGVsbG8/"), " ", tostring(ngx.decode_base64("!!")))
    kong.log.info(ngx.decode_base64("YQ"), " ", ngx.md5("abc"), " ", #ngx.md5_bin("abc"), " ", #ngx.sha1_bin("abc"), " ", ngx.crc32_long("abc"))
    kong.log.info(ngx.escape_uri("a b/c?d=é"), " ", ngx.unescape_uri("a%20b+c"), " ", ngx.encode_args({ b = 2, a = "x y" }))
    kong.log.info(#ngx.hmac_sha1("k", "v"), " ", type(ngx.now()), " ", ngx.time() == math.floor(ngx.now()), " ", ngx.get_phase())
    """
    assert logged(run(code, client_request())) == [
        "aGVsbG8/ YQ hello? nil",
        "a 900150983cd24fb0d6963f7d28e17f72 16 20 891568578",
        "a%20b%2Fc%3Fd%3D%C3%A9 a b c a=x%20y&b=2",
        "20 number true access",
    ]


def test_ngx_say_and_exit(run: Run) -> None:
    request = run(
        "ngx.say('hello ', 'world') ngx.print({'a', 1}) return ngx.exit(418)", client_request()
    )
    assert (request.exit_status, request.exit_body) == (418, b"hello world\na1")
    request = run("ngx.status = 403 ngx.say('denied')", client_request())
    assert (request.exit_status, request.exit_body) == (200, b"denied\n")
    request = run("ngx.exit(ngx.OK) kong.log.err('not reached')", client_request())
    assert (request.exit_status, request.log_lines) == (None, [])
    request = run("return ngx.exit(ngx.HTTP_UNAUTHORIZED)", client_request())
    assert (request.exit_status, request.exit_body) == (401, None)
    request = client_request()
    with pytest.raises(LuaRuntimeError, match="after say"):
        run("ngx.say('partial') error('after say')", request)
    assert request.exit_status is None


def test_ngx_arg_in_body_filter(run: Run) -> None:
    request = client_request(chunk=b"data: hello\n\n", eof=False)
    run(
        "ngx.arg[1] = string.upper(ngx.arg[1]) kong.log.info(tostring(ngx.arg[2]))",
        request,
        "body_filter",
    )
    assert request.chunk == b"DATA: HELLO\n\n"
    assert logged(request) == ["false"]
    request = client_request(chunk=b"last", eof=True)
    run("ngx.arg[1] = nil ngx.arg[2] = true", request, "body_filter")
    assert (request.chunk, request.eof) == (None, True)


def test_ngx_unsupported_facilities_say_so(run: Run) -> None:
    for call in (
        "ngx.socket.tcp()",
        "ngx.timer.at(0, print)",
        "ngx.shared.cache:get('x')",
        "ngx.sleep(1)",
    ):
        with pytest.raises(LuaRuntimeError, match="is not available in lockgate's sandbox"):
            run(call, client_request())


def test_ngx_re(run: Run) -> None:
    code = r"""
    local m = ngx.re.match("/v1/models/gpt-4o/chat", [[^/v1/models/(?<model>[^/]+)/(\w+)$]], "jo")
    kong.log.info(m[0], "|", m[1], "|", m[2], "|", m.model)
    kong.log.info(tostring(ngx.re.match("abc", "x")), " ", ngx.re.match("ABC", "b", "i")[0], " ", tostring(ngx.re.match("ab", "(a)(x)?")[2]))
    kong.log.info(ngx.re.find("hello world", "wor"), " ", ngx.re.find("abab", "a(b)", nil, nil, 1))
    kong.log.info(ngx.re.gsub("a1b22c333", [[\d+]], "<$0>"))
    kong.log.info(ngx.re.sub("John Smith", [[(\w+) (\w+)]], "$2, ${1}! $$"))
    kong.log.info(ngx.re.gsub("abc", "", "-"))
    kong.log.info((ngx.re.gsub("Hello", "l", function(c) return c[0]:upper() end)))
    local parts = {}
    for c in ngx.re.gmatch("k1=v1;k2=v2", [[(\w+)=(\w+)]]) do parts[#parts + 1] = c[1] .. ":" .. c[2] end
    kong.log.info(table.concat(parts, ","))
    local x, err = ngx.re.match("a", "(")
    kong.log.info(tostring(x), " ", err)
    """
    assert logged(run(code, client_request())) == [
        "/v1/models/gpt-4o/chat|gpt-4o|chat|gpt-4o",
        "nil B false",
        "7 22",
        "a<1>b<22>c<333>3",
        "Smith, John! $1",
        "-a-b-c-4",
        "HeLLo",
        "k1:v1,k2:v2",
        "nil failed to compile regex: missing ), unterminated subpattern at position 0",
    ]
