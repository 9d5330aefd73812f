"""Amazon Bedrock, through the Converse API, requests signed with SigV4.

Endpoints: ``{base}/model/{modelId}/converse`` and ``/converse-stream``,
where ``base`` is ``model.options.upstream_url`` when set (a VPC endpoint's
base URL: scheme, host and port) or ``https://bedrock-runtime.{region}.amazonaws.com``.
The region is ``model.options.bedrock.aws_region``, else ``AWS_REGION`` /
``AWS_DEFAULT_REGION``, else ``us-east-1``.

Credentials: ``auth.aws_access_key_id`` and ``auth.aws_secret_access_key``,
else botocore's standard chain (environment, shared files, container and
instance roles), looked up once per configuration and refreshed by botocore.
With ``model.options.bedrock.aws_assume_role_arn``, those credentials assume
the role through STS (``aws_sts_endpoint_url``, else the region's STS
endpoint; session ``aws_role_session_name``, else ``lockgate``), and botocore
renews the session before it expires, so no request is signed with an
expired one.
Signing is botocore's ``SigV4Auth``; the signature covers the host, the date,
the content type and the body, which is why it is computed last, on the
exact bytes and URL that are sent.
"""

from __future__ import annotations

import asyncio
import os
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from lockgate.llm.providers.base import Endpoint, Provider, ProviderError

if TYPE_CHECKING:
    from botocore.credentials import Credentials

    from lockgate.llm.providers.models import ModelFacts
    from lockgate.llm.usage import Usage

__all__ = ["BedrockProvider"]

SERVICE = "bedrock"
DEFAULT_REGION = "us-east-1"
DEFAULT_SESSION_NAME = "lockgate"
#: Claude refuses smaller thinking budgets.
MIN_THINKING_BUDGET = 1024
# "us.anthropic.claude-sonnet-4-5-20250929-v1:0" -> "claude-sonnet-4-5-20250929"
_CLAUDE_ID = re.compile(r"anthropic\.(claude-[a-z0-9.\-]+?)(?:-v\d+(?::\d+)?)?$")


class BedrockProvider(Provider):
    name = "bedrock"
    wire = "bedrock"
    #: Claude Code's ``?beta=true`` means nothing to Bedrock (and would be signed).
    forwards_query = False

    @property
    def region(self) -> str:
        b = self.options.bedrock if self.options else None
        return (
            (b.aws_region if b else None)
            or os.environ.get("AWS_REGION")
            or os.environ.get("AWS_DEFAULT_REGION")
            or DEFAULT_REGION
        )

    def _base(self) -> str:
        if self.options and self.options.upstream_url:
            return self.options.upstream_url.rstrip("/")
        return f"https://bedrock-runtime.{self.region}.amazonaws.com"

    def chat_endpoint(self, model_name: str, stream: bool) -> Endpoint:
        # The model id is one path segment: ARNs' slashes and versions' colons
        # are escaped, as the AWS SDKs send them (and sign them).
        operation = "converse-stream" if stream else "converse"
        return Endpoint.parse(f"{self._base()}/model/{quote(model_name, safe='')}/{operation}")

    def count_tokens_endpoint(self, model_name: str) -> Endpoint | None:
        # Bedrock's CountTokens serves Claude models; others are estimated locally.
        from lockgate.llm.wire.bedrock import is_claude

        if not is_claude(model_name):
            return None
        return Endpoint.parse(f"{self._base()}/model/{quote(model_name, safe='')}/count-tokens")

    def embeddings_endpoint(self, model_name: str) -> Endpoint | None:
        # InvokeModel, whose body is the model's own (llm/wire/bedrock_embeddings.py);
        # a model it does not serve is refused with the request, saying which it does.
        return Endpoint.parse(f"{self._base()}/model/{quote(model_name, safe='')}/invoke")

    def embeddings_bodies(
        self, body: dict[str, Any], model_name: str
    ) -> list[dict[str, Any]] | None:
        from lockgate.llm.wire.bedrock_embeddings import openai_to_invoke_embeddings

        b = self.options.bedrock if self.options else None
        return openai_to_invoke_embeddings(body, model_name, b.embeddings_normalize if b else None)

    def embeddings_answer(
        self, answers: list[tuple[dict[str, Any], Any]], model_name: str, body: dict[str, Any]
    ) -> tuple[dict[str, Any], Usage] | None:
        from lockgate.llm.wire.bedrock_embeddings import invoke_to_openai_embeddings

        return invoke_to_openai_embeddings(answers, model_name, body)

    async def _credentials(self, caches: dict[str, Any]) -> Credentials:
        from botocore.credentials import Credentials

        source = await self._source_credentials(caches)
        b = self.options.bedrock if self.options else None
        if b is None or not b.aws_assume_role_arn:
            return source
        key = "aws_role|" + "|".join(
            (
                b.aws_assume_role_arn,
                b.aws_role_session_name or "",
                b.aws_sts_endpoint_url or "",
                self.region,
                source.access_key,
            )
        )
        role = caches.get(key)
        if role is None:
            role = caches[key] = _assumed_role(
                source,
                b.aws_assume_role_arn,
                b.aws_role_session_name or DEFAULT_SESSION_NAME,
                self.region,
                b.aws_sts_endpoint_url,
            )
        try:
            # botocore renews the session before it expires (a blocking STS call).
            frozen = await asyncio.to_thread(role.get_frozen_credentials)
        except Exception as exc:  # botocore raises many kinds; the message says which
            raise ProviderError(
                500,
                f"could not be assumed: {type(exc).__name__}: {exc}",
                "model.options.bedrock.aws_assume_role_arn",
                retryable=True,
            ) from exc
        return Credentials(frozen.access_key, frozen.secret_key, frozen.token)

    async def _source_credentials(self, caches: dict[str, Any]) -> Credentials:
        from botocore.credentials import Credentials

        auth = self.auth
        if auth is not None and (auth.aws_access_key_id or auth.aws_secret_access_key):
            if not (auth.aws_access_key_id and auth.aws_secret_access_key):
                missing = "aws_secret_access_key" if auth.aws_access_key_id else "aws_access_key_id"
                raise ProviderError(
                    500, "is empty: an AWS key needs both its id and its secret", f"auth.{missing}"
                )
            return Credentials(auth.aws_access_key_id, auth.aws_secret_access_key)
        chain = caches.get("aws_credential_chain")
        if chain is None:
            # The chain may ask the instance metadata service: not on the event loop.
            chain = await asyncio.to_thread(_credential_chain)
            if chain is None:
                raise ProviderError(
                    500,
                    "is empty and the standard AWS credential chain (environment, shared "
                    "files, container or instance role) found no credentials",
                    "auth.aws_access_key_id",
                    retryable=True,
                )
            caches["aws_credential_chain"] = chain
        # Refreshable credentials renew themselves before they expire (blocking).
        frozen = await asyncio.to_thread(chain.get_frozen_credentials)
        return Credentials(frozen.access_key, frozen.secret_key, frozen.token)

    async def sign(
        self, url: str, headers: dict[str, str], body: bytes, caches: dict[str, Any]
    ) -> None:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        credentials = await self._credentials(caches)
        request = AWSRequest(
            method="POST", url=url, data=body, headers={"Content-Type": headers["Content-Type"]}
        )
        SigV4Auth(credentials, SERVICE, self.region).add_auth(request)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            value = request.headers.get(name)
            if value is not None:
                headers[name] = value

    def upstream_error(self, status: int, body: bytes, headers: Any) -> tuple[int, bytes]:
        """AWS's ``{"message"}`` with the exception named in ``x-amzn-ErrorType``
        -> an Anthropic error body and the status Anthropic would answer."""
        import orjson

        from lockgate.llm.wire.anthropic import anthropic_error_body
        from lockgate.llm.wire.bedrock import converse_error

        try:
            parsed = orjson.loads(body) if body else {}
        except orjson.JSONDecodeError:
            parsed = {}
        message = ""
        if isinstance(parsed, dict):
            found = parsed.get("message") or parsed.get("Message")
            message = found if isinstance(found, str) else ""
        exception = headers.get("x-amzn-ErrorType") or ""
        if not exception:
            return status, body
        mapped, kind, text = converse_error(exception, message)
        return mapped, orjson.dumps(anthropic_error_body(kind, text))

    def model_facts(self, model_name: str) -> ModelFacts | None:
        from lockgate.llm.providers.models import model_facts

        match = _CLAUDE_ID.search(model_name)
        return model_facts("anthropic", match.group(1)) if match else None

    def output_fields(self, body: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
        config = body.get("inferenceConfig")
        return [(config, "maxTokens")] if isinstance(config, dict) else []

    def prepare_chat(self, body: dict[str, Any], model_name: str) -> dict[str, Any]:
        if self.output_over_limit(body, model_name):
            body["inferenceConfig"] = dict(body["inferenceConfig"])
            self.clamp_output(body, model_name)
        # Claude's thinking budget must stay below maxTokens (and be 1024 or
        # more): a clamped limit may leave no room for the client's budget.
        extra = body.get("additionalModelRequestFields")
        thinking = extra.get("thinking") if isinstance(extra, dict) else None
        config = body.get("inferenceConfig")
        max_tokens = config.get("maxTokens") if isinstance(config, dict) else None
        if (
            isinstance(extra, dict)
            and isinstance(thinking, dict)
            and isinstance(thinking.get("budget_tokens"), int)
            and isinstance(max_tokens, int)
            and thinking["budget_tokens"] >= max_tokens
        ):
            extra = dict(extra)
            if max_tokens > MIN_THINKING_BUDGET:
                extra["thinking"] = {**thinking, "budget_tokens": max_tokens - 1}
            else:
                del extra["thinking"]
            if extra:
                body["additionalModelRequestFields"] = extra
            else:
                del body["additionalModelRequestFields"]
        return body

    def with_client_headers(
        self, body: dict[str, Any], model_name: str, client_headers: Any
    ) -> dict[str, Any]:
        # Converse has no header for betas: Claude takes them in the body.
        # (InvokeModel would take the same list as the body's anthropic_beta.)
        from lockgate.llm.wire.bedrock import bedrock_betas

        header = ",".join(client_headers.getall("anthropic-beta", [])) if client_headers else ""
        betas = bedrock_betas(header, model_name)
        if betas:
            extra = body.get("additionalModelRequestFields")
            body["additionalModelRequestFields"] = {
                **(extra if isinstance(extra, dict) else {}),
                "anthropic_beta": betas,
            }
        return body


def _assumed_role(
    source: Credentials, role_arn: str, session_name: str, region: str, sts_url: str | None
) -> Any:
    """Credentials of ``role_arn``, assumed with ``source`` through STS and
    renewed by botocore before they expire."""
    from botocore.credentials import AssumeRoleCredentialFetcher, DeferredRefreshableCredentials
    from botocore.session import Session

    session = Session()

    def client_creator(service: str, **kwargs: Any) -> Any:
        return session.create_client(
            service, region_name=region, endpoint_url=sts_url or None, **kwargs
        )

    fetcher = AssumeRoleCredentialFetcher(
        client_creator, source, role_arn, extra_args={"RoleSessionName": session_name}
    )
    return DeferredRefreshableCredentials(fetcher.fetch_credentials, "assume-role")


def _credential_chain() -> Any:
    from botocore.session import Session

    return Session().get_credentials()
