"""Google Gemini: Vertex AI (service-account OAuth) or the public API (key)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from lockgate.llm.providers.base import Endpoint, Provider, ProviderError

if TYPE_CHECKING:
    from lockgate.llm.providers.models import ModelFacts

__all__ = ["GeminiProvider"]

PUBLIC_BASE = "https://generativelanguage.googleapis.com"


class GeminiProvider(Provider):
    name = "gemini"
    wire = "gemini"

    @property
    def vertex(self) -> bool:
        g = self.options.gemini if self.options else None
        return bool(g and (g.api_endpoint or g.project_id)) or bool(
            self.auth and self.auth.gcp_use_service_account
        )

    def _base(self) -> str:
        g = self.options.gemini if self.options else None
        if self.options and self.options.upstream_url:
            return self.options.upstream_url.rstrip("/")
        if self.vertex:
            endpoint = (
                g.api_endpoint if g else None
            ) or f"{(g.location_id if g else None) or 'us-central1'}-aiplatform.googleapis.com"
            if "://" not in endpoint:
                endpoint = "https://" + endpoint
            return endpoint.rstrip("/")
        return PUBLIC_BASE

    def _url(self, model_name: str, method: str) -> str:
        base = self._base()
        if self.vertex:
            g = self.options.gemini if self.options else None
            project = g.project_id if g else None
            location = (g.location_id if g else None) or "us-central1"
            return f"{base}/v1/projects/{project}/locations/{location}/publishers/google/models/{model_name}:{method}"
        return f"{base}/v1beta/models/{model_name}:{method}"

    def chat_endpoint(self, model_name: str, stream: bool) -> Endpoint:
        if stream:
            return Endpoint.parse(self._url(model_name, "streamGenerateContent") + "?alt=sse")
        return Endpoint.parse(self._url(model_name, "generateContent"))

    def count_tokens_endpoint(self, model_name: str) -> Endpoint | None:
        return Endpoint.parse(self._url(model_name, "countTokens"))

    async def credentials(self, caches: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
        headers, query = await super().credentials(caches)
        auth = self.auth
        if auth is not None and auth.gcp_use_service_account:
            from lockgate.llm.providers.google_auth import ServiceAccountTokens, TokenError

            field = "auth.gcp_service_account_json"
            account = auth.gcp_service_account_json or os.environ.get("GCP_SERVICE_ACCOUNT")
            if not account:
                raise ProviderError(
                    500,
                    "is empty and GCP_SERVICE_ACCOUNT is not set, but gcp_use_service_account "
                    "is true: a service account key JSON is needed to mint access tokens",
                    field,
                )
            source = (
                ""
                if auth.gcp_service_account_json
                else " (the field is empty: the value came from the GCP_SERVICE_ACCOUNT environment variable)"
            )
            tokens = caches.get("gcp_tokens")
            if tokens is None:
                tokens = caches["gcp_tokens"] = ServiceAccountTokens()
            try:
                headers["Authorization"] = "Bearer " + await tokens.token(account)
            except TokenError as exc:
                raise ProviderError(
                    500, _without(str(exc), account) + source, field, retryable=exc.retryable
                ) from exc
        return headers, query

    def model_facts(self, model_name: str) -> ModelFacts | None:
        from lockgate.llm.providers.models import model_facts

        return model_facts("vertex" if self.vertex else "gemini", model_name)

    def output_fields(self, body: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
        config = body.get("generationConfig")
        return [(config, "maxOutputTokens")] if isinstance(config, dict) else []

    def prepare_chat(self, body: dict[str, Any], model_name: str) -> dict[str, Any]:
        # Vertex answers 400 above the model's limit (gemini-2.0-flash: 8192).
        if self.output_over_limit(body, model_name):
            body["generationConfig"] = dict(body["generationConfig"])
            self.clamp_output(body, model_name)
        return body


def _without(message: str, secret: str) -> str:
    """``message`` with any piece of the secret it quotes cut out: a parser's
    complaint may echo the text it choked on, and the text is a credential."""
    for line in secret.splitlines():
        piece = line.strip()
        if len(piece) >= 8 and piece in message:
            message = message.replace(piece, "<redacted>")
    return message
