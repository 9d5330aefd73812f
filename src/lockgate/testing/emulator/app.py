"""One aiohttp application serving every emulated provider on one port.

The route table below is the single list of what the emulator serves; the
recording middleware logs each request under the provider that owns its
route. :class:`Emulator` runs the application in-process for tests;
:func:`run_emulator` runs it in the foreground for ``lockgate emulate``.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable, Iterable
from types import TracebackType
from typing import Any

import orjson
from aiohttp import web

from . import (
    anthropic,
    aws_sts,
    bedrock,
    bedrock_invoke,
    gemini,
    openai,
    openai_responses,
    vertex_anthropic,
)
from .dashscope import DashScopeProfile
from .deepseek import DeepSeekProfile
from .huggingface import HuggingFaceProfile
from .mistral import MistralProfile
from .openai import ChatProfile, OpenAIProfile
from .records import RecordedRequest, Recorder
from .responses import json_response
from .state import STATE, EmulatorState

__all__ = ["KEYED_PROVIDERS", "ROUTES", "Emulator", "build_app", "parse_key_specs", "run_emulator"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _chat(profile: type[ChatProfile]) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await openai.chat_handler(request, profile(request.app[STATE]))

    return handler


async def _models(request: web.Request) -> web.StreamResponse:
    """GET /v1/models is both OpenAI's and Anthropic's; the headers tell which."""
    if _models_provider(request) == "anthropic":
        return await anthropic.models_handler(request)
    return await openai.models_handler(request)


def _models_provider(request: web.Request) -> str:
    anthropic_headers = ("anthropic-version", "x-api-key")
    return "anthropic" if any(h in request.headers for h in anthropic_headers) else "openai"


_BEDROCK = "/model/{model_id:.+}/{operation:converse|converse-stream|count-tokens}"
_BEDROCK_INVOKE = "/model/{model_id:.+}/invoke"
_VERTEX = "/{version:v1|v1beta1}/projects/{project}/locations/{location}/publishers/google/models/{target}"

# (method, path, handler, provider or a function of the request naming it)
ROUTES: tuple[tuple[str, str, Handler, str | Callable[[web.Request], str]], ...] = (
    ("POST", "/v1/chat/completions", _chat(OpenAIProfile), "openai"),
    ("POST", "/openai/v1/chat/completions", _chat(OpenAIProfile), "openai"),
    ("POST", "/v1/responses", openai_responses.create_handler, "openai"),
    ("POST", "/openai/v1/responses", openai_responses.create_handler, "openai"),
    ("GET", "/v1/responses/{response_id}", openai_responses.retrieve_handler, "openai"),
    ("GET", "/openai/v1/responses/{response_id}", openai_responses.retrieve_handler, "openai"),
    ("POST", "/v1/embeddings", openai.embeddings_handler, "openai"),
    ("POST", "/openai/v1/embeddings", openai.embeddings_handler, "openai"),
    ("GET", "/openai/v1/models", openai.models_handler, "openai"),
    ("GET", "/v1/models", _models, _models_provider),
    ("POST", "/huggingface/v1/chat/completions", _chat(HuggingFaceProfile), "huggingface"),
    ("POST", "/mistral/v1/chat/completions", _chat(MistralProfile), "mistral"),
    ("POST", "/deepseek/chat/completions", _chat(DeepSeekProfile), "deepseek"),
    ("POST", "/compatible-mode/v1/chat/completions", _chat(DashScopeProfile), "dashscope"),
    (
        "POST",
        "/dashscope/compatible-mode/v1/chat/completions",
        _chat(DashScopeProfile),
        "dashscope",
    ),
    ("POST", "/v1/messages", anthropic.messages_handler, "anthropic"),
    ("POST", "/anthropic/v1/messages", anthropic.messages_handler, "anthropic"),
    ("POST", "/v1/messages/count_tokens", anthropic.count_tokens_handler, "anthropic"),
    ("POST", "/anthropic/v1/messages/count_tokens", anthropic.count_tokens_handler, "anthropic"),
    ("GET", "/anthropic/v1/models", anthropic.models_handler, "anthropic"),
    ("POST", _BEDROCK, bedrock.converse_handler, "bedrock"),
    ("POST", "/bedrock" + _BEDROCK, bedrock.converse_handler, "bedrock"),
    ("POST", _BEDROCK_INVOKE, bedrock_invoke.invoke_handler, "bedrock"),
    ("POST", "/bedrock" + _BEDROCK_INVOKE, bedrock_invoke.invoke_handler, "bedrock"),
    ("POST", "/sts", aws_sts.sts_handler, "aws_sts"),
    ("POST", "/sts/", aws_sts.sts_handler, "aws_sts"),
    ("POST", _VERTEX, gemini.vertex_handler, "gemini"),
    ("POST", vertex_anthropic.PATH, vertex_anthropic.rawpredict_handler, "vertex_anthropic"),
    ("POST", "/v1beta/models/{target}", gemini.public_handler, "gemini"),
    ("POST", "/v1/models/{target}", gemini.public_handler, "gemini"),
)


async def _token(request: web.Request) -> web.StreamResponse:
    return await request.app[STATE].oauth.handle_token(request)


async def _list_requests(request: web.Request) -> web.StreamResponse:
    records = request.app[STATE].recorder.records
    provider = request.query.get("provider")
    return json_response([r for r in records if provider is None or r["provider"] == provider])


async def _clear_requests(request: web.Request) -> web.StreamResponse:
    recorder = request.app[STATE].recorder
    count = len(recorder.records)
    recorder.clear()
    return json_response({"cleared": count})


async def _service_account(request: web.Request) -> web.StreamResponse:
    raw = await request.read()
    options: Any = {}
    if raw.strip():
        try:
            options = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return json_response({"error": "body must be JSON"}, 400)
    if not isinstance(options, dict):
        return json_response({"error": "body must be a JSON object"}, 400)
    token_uri = str(options.get("token_uri") or f"{request.url.origin()}/token")
    project_id = str(options.get("project_id") or "lockgate-test")
    return json_response(request.app[STATE].oauth.make_service_account(token_uri, project_id))


def build_app(state: EmulatorState) -> web.Application:
    providers: dict[Any, str | Callable[[web.Request], str]] = {}

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        if state.recorder.enabled and not request.path.startswith("/_emulator/"):
            named = providers.get(request.match_info.route, "unknown")
            provider = named if isinstance(named, str) else named(request)
            state.recorder.add(
                provider,
                request.method,
                request.path,
                request.query_string,
                dict(request.headers),
                await request.read(),
            )
        return await handler(request)

    app = web.Application(middlewares=[record], client_max_size=64 * 1024 * 1024)
    app[STATE] = state
    app[openai_responses.RESPONSES] = openai_responses.ResponseStore()
    for method, path, handler, provider in ROUTES:
        providers[app.router.add_route(method, path, handler)] = provider
    providers[app.router.add_post("/token", _token)] = "google_oauth"
    app.router.add_get("/_emulator/requests", _list_requests)
    app.router.add_delete("/_emulator/requests", _clear_requests)
    app.router.add_post("/_emulator/service-account", _service_account)
    return app


KEYED_PROVIDERS = (
    "openai",
    "anthropic",
    "huggingface",
    "dashscope",
    "gemini",
    "vertex",
    "mistral",
    "deepseek",
    "bedrock",
)


def parse_key_specs(specs: Iterable[str]) -> dict[str, set[str]]:
    """Turns ``PROVIDER=KEY[,KEY...]`` strings (the values of a repeated CLI
    flag such as ``--key openai=sk-a``) into the ``keys`` argument."""
    keys: dict[str, set[str]] = {}
    for spec in specs:
        provider, sep, values = spec.partition("=")
        provider = provider.strip().lower()
        if not sep or not values.strip():
            raise ValueError(f"invalid key spec {spec!r}: expected PROVIDER=KEY[,KEY...]")
        if provider not in KEYED_PROVIDERS:
            raise ValueError(
                f"invalid key spec {spec!r}: provider must be one of {', '.join(KEYED_PROVIDERS)}"
            )
        keys.setdefault(provider, set()).update(v.strip() for v in values.split(",") if v.strip())
    return keys


class Emulator:
    """The emulators on one local port, for the duration of an ``async with``.

    ``keys`` maps a provider (``openai``, ``anthropic``, ``huggingface``,
    ``dashscope``, ``mistral``, ``deepseek``, ``gemini``; ``vertex`` for static
    bearer tokens; ``bedrock`` for ``ACCESS_KEY_ID:SECRET`` pairs) to the keys
    it accepts; a provider left out accepts any non-empty key (Bedrock: the
    emulator's default pair, see :mod:`.bedrock`).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        keys: dict[str, set[str]] | None = None,
        max_records: int | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.state = EmulatorState(
            keys={k: set(v) for k, v in (keys or {}).items()}, recorder=Recorder(max_records)
        )
        self.app = build_app(self.state)
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        self._runner = web.AppRunner(
            self.app, access_log=None, handle_signals=False, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        address = self._runner.addresses[0]
        self.port = int(address[1])

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def url(self) -> str:
        host = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(self.host, self.host)
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    @property
    def records(self) -> list[RecordedRequest]:
        return list(self.state.recorder.records)

    def clear(self) -> None:
        self.state.recorder.clear()

    def make_service_account(
        self, project_id: str = "lockgate-test", token_uri: str | None = None
    ) -> dict[str, str]:
        """A new service-account key file whose tokens this emulator accepts."""
        return self.state.oauth.make_service_account(token_uri or self.token_uri, project_id)


def route_summary(base_url: str) -> list[str]:
    lines = [
        f"{method:<6} {base_url}{path}  ({p if isinstance(p, str) else 'openai|anthropic'})"
        for method, path, _, p in ROUTES
    ]
    lines += [
        f"POST   {base_url}/token  (google_oauth)",
        f"GET    {base_url}/_emulator/requests",
        f"DELETE {base_url}/_emulator/requests",
        f"POST   {base_url}/_emulator/service-account",
    ]
    return lines


async def _serve(
    host: str, port: int, keys: dict[str, set[str]] | None, max_records: int | None
) -> None:
    async with Emulator(host, port, keys, max_records) as emulator:
        print(f"lockgate emulator listening on {emulator.url}", flush=True)
        for line in route_summary(emulator.url):
            print("  " + line, flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()


def run_emulator(
    host: str,
    port: int,
    keys: dict[str, set[str]] | None = None,
    max_records: int | None = None,
) -> None:
    """Serves the emulators in the foreground until SIGINT or SIGTERM.
    ``max_records``: keep only the newest requests (0: record none)."""
    asyncio.run(_serve(host, port, keys, max_records))
