"""Claude on Vertex AI: ``provider: gemini`` with a Claude model name, as in Kong.

Vertex serves Anthropic's Messages API under ``publishers/anthropic`` with
two differences (docs.anthropic.com, "Claude on Vertex AI"; the official
SDK's ``AnthropicVertex`` client): the model is named in the URL, not the
body, and ``anthropic_version: vertex-2023-10-16`` goes in the body instead
of a header. Streaming is ``:streamRawPredict``, token counting
``count-tokens:rawPredict`` (whose body keeps ``model``). Authentication is
the Gemini provider's: a service account's OAuth token, or a static header.

The body stays the client's bytes but for those two edits: when ``model`` is
its first key (Claude Code and the SDKs write it first) they are made on the
bytes, otherwise on the parsed dict, whose key order is kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from lockgate.llm.providers.anthropic import AnthropicProvider
from lockgate.llm.providers.base import Endpoint
from lockgate.llm.providers.gemini import GeminiProvider

if TYPE_CHECKING:
    from lockgate.llm.providers.config import AuthConfig, ModelConfig
    from lockgate.llm.providers.models import ModelFacts

__all__ = ["VERTEX_ANTHROPIC_VERSION", "VertexAnthropicProvider", "is_claude", "vertex_betas"]

VERTEX_ANTHROPIC_VERSION = "vertex-2023-10-16"

#: ``anthropic-beta`` values Vertex accepts; it answers 400 ("Unexpected
#: value(s) ... for the anthropic-beta header") to any other, and Claude Code
#: sends first-party ones (claude-code-20250219, prompt-caching-scope-*,
#: effort-*, ...) when it talks to a gateway. Sources: the Claude Code issues
#: where Vertex refused betas (anthropics/claude-code#12429, #34802) and
#: LiteLLM's per-provider beta table, which its users keep current.
#: web-search-2025-03-05 is left out: Vertex refuses it on count-tokens, and
#: the web search tool needs no beta.
VERTEX_BETAS = frozenset(
    (
        "compact-2026-01-12",
        "compact-2026-09-04",
        "computer-use-2025-01-24",
        "computer-use-2025-11-24",
        "context-1m-2025-08-07",
        "context-management-2025-06-27",
        "dangerous-tool-use-2026-09-03",
        "interleaved-thinking-2025-05-14",
        "per-turn-control-2026-07-01",
        "thinking-binding-controls-2026-08-01",
        "thinking-display-updates-2026-08-18",
        "tool-search-tool-2025-10-19",
    )
)
#: First-party names of features Vertex offers under another beta.
RENAMED_BETAS = {"advanced-tool-use-2025-11-20": "tool-search-tool-2025-10-19"}


def is_claude(model_name: str | None) -> bool:
    """Whether a ``gemini`` provider's model is one of Anthropic's on Vertex
    (``claude-sonnet-4-5@20250929``, ``claude-opus-4-1``, or the same with
    its ``publishers/anthropic/models/`` resource prefix)."""
    if not model_name:
        return False
    return model_name.rsplit("/", 1)[-1].lower().startswith("claude-")


def vertex_betas(header: str) -> str:
    """The client's ``anthropic-beta`` values that Vertex accepts, in order,
    once each (empty when none is left)."""
    kept: list[str] = []
    for value in header.split(","):
        beta = RENAMED_BETAS.get(value.strip(), value.strip())
        if beta in VERTEX_BETAS and beta not in kept:
            kept.append(beta)
    return ",".join(kept)


class VertexAnthropicProvider(AnthropicProvider):
    """Anthropic's wire format at Vertex's URLs with Google's credentials.
    Logged as ``gemini``, the provider the operator configured."""

    name = "gemini"
    wire = "anthropic"
    passthrough_quirks = True
    forwards_query = False

    def __init__(self, model: ModelConfig, auth: AuthConfig | None) -> None:
        super().__init__(model, auth)
        # The Gemini provider's OAuth flow and error messages, as they are.
        self._google = GeminiProvider(model, auth)

    def _base(self) -> str:
        if self.options and self.options.upstream_url:
            return self.options.upstream_url.rstrip("/")
        g = self.options.gemini if self.options else None
        endpoint = g.api_endpoint if g else None
        if not endpoint:
            location = self._location()
            # The global endpoint has no region prefix (Claude 4.5+ are served there).
            endpoint = (
                "aiplatform.googleapis.com"
                if location == "global"
                else f"{location}-aiplatform.googleapis.com"
            )
        if "://" not in endpoint:
            endpoint = "https://" + endpoint
        return endpoint.rstrip("/")

    def _location(self) -> str:
        g = self.options.gemini if self.options else None
        return (g.location_id if g else None) or "us-central1"

    def _models(self) -> str:
        g = self.options.gemini if self.options else None
        project = g.project_id if g else None
        return (
            f"{self._base()}/v1/projects/{project}/locations/{self._location()}"
            "/publishers/anthropic/models"
        )

    def chat_endpoint(self, model_name: str, stream: bool) -> Endpoint:
        model = model_name.rsplit("/", 1)[-1]
        method = "streamRawPredict" if stream else "rawPredict"
        return Endpoint.parse(f"{self._models()}/{model}:{method}")

    def count_tokens_endpoint(self, model_name: str) -> Endpoint | None:
        return Endpoint.parse(f"{self._models()}/count-tokens:rawPredict")

    def model_facts(self, model_name: str) -> ModelFacts | None:
        # Anthropic's limits and list prices (its claude-x@date names normalized).
        from lockgate.llm.providers.models import model_facts

        return model_facts("anthropic", model_name)

    async def credentials(self, caches: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
        return await self._google.credentials(caches)

    def base_headers(self, client_headers: Any) -> dict[str, str]:
        # anthropic-version travels in the body; betas Vertex refuses are dropped.
        betas = vertex_betas(client_headers.get("anthropic-beta", ""))
        return {"anthropic-beta": betas} if betas else {}

    def passthrough_body(self, raw: bytes, body: dict[str, Any], model_name: str) -> bytes | None:
        model = body.get("model")
        if model is None:
            return None
        prefix = b'{"model":' + orjson.dumps(model)
        if raw.startswith(prefix + b","):
            return (
                b'{"anthropic_version":"'
                + VERTEX_ANTHROPIC_VERSION.encode()
                + b'",'
                + raw[len(prefix) + 1 :]
            )
        return None

    def prepare_chat(self, body: dict[str, Any], model_name: str) -> dict[str, Any]:
        body = super().prepare_chat(body, model_name)
        body.pop("model", None)
        if "anthropic_version" not in body:
            body = {"anthropic_version": VERTEX_ANTHROPIC_VERSION, **body}
        return body

    def prepare_count_tokens(self, body: dict[str, Any], model_name: str) -> dict[str, Any]:
        # count-tokens takes the model in the body, as Anthropic's does.
        return {"anthropic_version": VERTEX_ANTHROPIC_VERSION, **body}
