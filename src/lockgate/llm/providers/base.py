"""What every provider offers the AI proxy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from lockgate.llm.providers.config import AuthConfig, ModelConfig

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
        parts = urlsplit(url)
        scheme = parts.scheme or "https"
        port = parts.port or (443 if scheme == "https" else 80)
        path = parts.path + ("?" + parts.query if parts.query else "")
        return cls(url, scheme, parts.hostname or "", port, path or "/")


class Provider:
    name: ClassVar[str]
    #: The wire format the provider speaks upstream.
    wire: ClassVar[str]
    #: Models known to cap output tokens below what clients ask (clamped when sending).
    max_output_tokens: ClassVar[dict[str, int]] = {}

    def __init__(self, model: ModelConfig, auth: AuthConfig | None) -> None:
        self.model = model
        self.auth = auth
        self.options = model.options

    # -- endpoints -----------------------------------------------------------

    def chat_endpoint(self, model_name: str, stream: bool) -> Endpoint:
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

    def prepare_chat(self, body: dict[str, Any], model_name: str) -> dict[str, Any]:
        """Quirks applied to a request already in the provider's wire format."""
        return body

    def clamp_max_tokens(self, model_name: str, requested: int | None) -> int | None:
        limit = None
        for prefix, value in self.max_output_tokens.items():
            if model_name.startswith(prefix):
                limit = value
                break
        if limit is not None and requested is not None and requested > limit:
            return limit
        return requested
