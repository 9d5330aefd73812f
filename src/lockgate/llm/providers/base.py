"""What every provider offers the AI proxy."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from lockgate.llm.providers.config import AuthConfig, ModelConfig
    from lockgate.llm.providers.models import ModelFacts
    from lockgate.llm.usage import Usage

__all__ = ["Endpoint", "Provider", "ProviderError"]


class ProviderError(Exception):
    """The provider cannot serve this request as configured (e.g. credentials cannot be minted)."""

    def __init__(
        self, status: int, message: str, field: str | None = None, *, retryable: bool = False
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        #: Whether asking again may succeed (a token endpoint that was unreachable);
        #: a credential that is not one fails the same way every time.
        self.retryable = retryable
        #: The configuration field at fault, relative to the plugin's config
        #: (``auth.gcp_service_account_json``), so the error can name it.
        self.field = field


@dataclass(frozen=True, slots=True)
class Endpoint:
    url: str
    scheme: str
    host: str
    port: int
    path: str

    @classmethod
    def parse(cls, url: str) -> Endpoint:
        return _parse_endpoint(url)


@lru_cache(maxsize=1024)
def _parse_endpoint(url: str) -> Endpoint:
    # Cached (an Endpoint is immutable): a route's providers ask for the same
    # few URLs on every request, and splitting one costs microseconds.
    parts = urlsplit(url)
    scheme = parts.scheme or "https"
    port = parts.port or (443 if scheme == "https" else 80)
    path = parts.path + ("?" + parts.query if parts.query else "")
    return Endpoint(url, scheme, parts.hostname or "", port, path or "/")


class Provider:
    name: ClassVar[str]
    #: The wire format the provider speaks upstream.
    wire: ClassVar[str]
    #: Whether a same-format client's body must go through :meth:`prepare_chat`
    #: even when nothing else changes it (else it is forwarded byte for byte).
    passthrough_quirks: ClassVar[bool] = False
    #: Whether the client's query string (Claude Code's ``?beta=true``) goes
    #: upstream; not to Google's APIs, whose URLs carry their own.
    forwards_query: ClassVar[bool] = True
    #: Whether the provider has OpenAI's Responses API (``llm/v1/responses``
    #: is then passed through; other providers get it translated).
    serves_responses: ClassVar[bool] = False

    def __init__(self, model: ModelConfig, auth: AuthConfig | None) -> None:
        self.model = model
        self.auth = auth
        self.options = model.options

    # -- endpoints -----------------------------------------------------------

    def chat_endpoint(self, model_name: str, stream: bool) -> Endpoint:
        raise NotImplementedError

    def responses_endpoint(self, model_name: str) -> Endpoint:
        """Where the provider serves OpenAI's Responses API (see :attr:`serves_responses`)."""
        raise NotImplementedError

    def count_tokens_endpoint(self, model_name: str) -> Endpoint | None:
        """Where the provider counts tokens, or None to estimate locally."""
        return None

    def embeddings_endpoint(self, model_name: str) -> Endpoint | None:
        return None

    # -- requests ------------------------------------------------------------

    async def credentials(self, caches: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
        """Headers and query parameters carrying the configured credential.
        ``caches`` outlive a configuration version (e.g. minted OAuth tokens)."""
        headers: dict[str, str] = {}
        query: dict[str, str] = {}
        auth = self.auth
        if auth is not None:
            if auth.header_name and auth.header_value is not None:
                headers[auth.header_name] = auth.header_value
            if auth.param_name and auth.param_value is not None and auth.param_location == "query":
                query[auth.param_name] = auth.param_value
        return headers, query

    async def sign(
        self, url: str, headers: dict[str, str], body: bytes, caches: dict[str, Any]
    ) -> None:
        """Adds a signature over the final request to ``headers`` (AWS SigV4);
        by default nothing: the credential is in :meth:`credentials`."""

    def upstream_error(self, status: int, body: bytes, headers: Any) -> tuple[int, bytes]:
        """An error answer in a shape the error mappers do not read (Bedrock
        names its error in a header) -> (status, body) they do; by default as is."""
        return status, body

    def body_credentials(self) -> dict[str, Any]:
        auth = self.auth
        if (
            auth is not None
            and auth.param_name
            and auth.param_value is not None
            and auth.param_location == "body"
        ):
            return {auth.param_name: auth.param_value}
        return {}

    def base_headers(self, client_headers: Any) -> dict[str, str]:
        """Provider-specific headers derived from the client's (e.g. anthropic-beta)."""
        return {}

    def passthrough_body(self, raw: bytes, body: dict[str, Any], model_name: str) -> bytes | None:
        """The upstream body made from the client's bytes when the request
        needs nothing configured changed (``body`` is ``raw`` parsed), or None
        to build it from the dict. By default the bytes as they came, when
        they already name the model and the provider has no quirks."""
        if self.passthrough_quirks or body.get("model") != model_name:
            return None
        return raw

    def with_client_headers(
        self, body: dict[str, Any], model_name: str, client_headers: Any
    ) -> dict[str, Any]:
        """A translated request (after :meth:`prepare_chat`) given what the
        provider takes in the body from the client's headers (Bedrock's
        ``anthropic_beta``); by default unchanged. ``client_headers`` may be None."""
        return body

    def embeddings_bodies(
        self, body: dict[str, Any], model_name: str
    ) -> list[dict[str, Any]] | None:
        """The upstream bodies for an (OpenAI-format) embeddings request, one
        per call, or None to send the client's as it is. Raises
        ``UntranslatableRequest`` for one the provider cannot take."""
        return None

    def embeddings_answer(
        self, answers: list[tuple[dict[str, Any], Any]], model_name: str, body: dict[str, Any]
    ) -> tuple[dict[str, Any], Usage] | None:
        """(OpenAI's embeddings response, its usage) from the provider's
        answers (body, response headers) to the calls :meth:`embeddings_bodies`
        made for the client's request ``body``; None when it is OpenAI's already."""
        return None

    def prepare_count_tokens(self, body: dict[str, Any], model_name: str) -> dict[str, Any]:
        """A token-count request (in Anthropic's format, model set) as the provider takes it."""
        return body

    def prepare_chat(self, body: dict[str, Any], model_name: str) -> dict[str, Any]:
        """Quirks applied to a request already in the provider's wire format
        (by default: the output limit clamped to the model's). ``body`` is the
        gateway's own copy at the top level; nested objects may be shared with
        the client's request and are replaced, not changed."""
        self.clamp_output(body, model_name)
        return body

    # -- model facts -----------------------------------------------------------

    def model_facts(self, model_name: str) -> ModelFacts | None:
        """The model's row in :mod:`lockgate.llm.providers.models` (None: unknown)."""
        from lockgate.llm.providers.models import model_facts

        return model_facts(self.name, model_name)

    def output_limit(self, body: dict[str, Any], model_name: str) -> int | None:
        """The most output tokens the model takes for this request (None: unknown)."""
        facts = self.model_facts(model_name)
        return facts.output_limit() if facts is not None else None

    def output_fields(self, body: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
        """Where a request in the provider's wire format limits output: (object, key) pairs."""
        return []

    def output_over_limit(self, body: dict[str, Any], model_name: str) -> bool:
        """Whether the request asks for more output than the model takes."""
        limit = self.output_limit(body, model_name)
        if limit is None:
            return False
        for obj, key in self.output_fields(body):
            value = obj.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value > limit:
                return True
        return False

    def clamp_output(self, body: dict[str, Any], model_name: str) -> None:
        """Lowers the request's output limit to the model's: clients such as
        Claude Code ask for 32000-64000 tokens whatever the model, and the
        provider answers 400 above its limit. Unknown models are left alone."""
        limit = self.output_limit(body, model_name)
        if limit is None:
            return
        for obj, key in self.output_fields(body):
            value = obj.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value > limit:
                obj[key] = limit
