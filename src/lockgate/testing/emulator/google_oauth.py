"""Google's OAuth 2.0 token endpoint for service accounts (JWT bearer grant).

A gateway that talks to Vertex AI signs a JWT with a service account's private
key and trades it for an access token. The emulator generates service
accounts (real RSA keys, Google's JSON layout), verifies the RS256 assertion
exactly as Google does, and remembers the tokens it issued so the Vertex
routes accept only those.
"""

from __future__ import annotations

import base64
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import orjson
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .responses import json_response

__all__ = ["GRANT_TYPE", "GoogleOAuth", "IssuedToken", "ServiceAccount"]

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
# google-auth always puts Google's own endpoint in "aud", whatever token_uri says.
GOOGLE_AUDIENCES = frozenset(
    {
        "https://oauth2.googleapis.com/token",
        "https://www.googleapis.com/oauth2/v4/token",
        "https://accounts.google.com/o/oauth2/token",
    }
)
TOKEN_LIFETIME = 3599
MAX_ASSERTION_LIFETIME = 3600
CLOCK_SKEW = 300
_TIMEFRAME = (
    "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
    "timeframe. Check your iat and exp values in the JWT claim."
)


@dataclass(slots=True)
class ServiceAccount:
    email: str
    project_id: str
    key_id: str
    token_uri: str
    public_key: rsa.RSAPublicKey


@dataclass(slots=True)
class IssuedToken:
    email: str
    project_id: str
    scopes: frozenset[str]
    expires_at: float


def _b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class _GrantError(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


class GoogleOAuth:
    """Service accounts known to this emulator and the tokens issued to them."""

    def __init__(self) -> None:
        self._accounts_by_key: dict[str, ServiceAccount] = {}
        self._accounts_by_email: dict[str, ServiceAccount] = {}
        self._tokens: dict[str, IssuedToken] = {}

    def make_service_account(
        self, token_uri: str, project_id: str = "lockgate-test"
    ) -> dict[str, str]:
        """A fresh key pair; returns the key file exactly as Google's console
        writes it (the private key PEM with real newlines)."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        key_id = secrets.token_hex(20)
        email = f"lockgate-{uuid.uuid4().hex[:8]}@{project_id}.iam.gserviceaccount.com"
        account = ServiceAccount(email, project_id, key_id, token_uri, key.public_key())
        self._accounts_by_key[key_id] = account
        self._accounts_by_email[email] = account
        return {
            "type": "service_account",
            "project_id": project_id,
            "private_key_id": key_id,
            "private_key": pem,
            "client_email": email,
            "client_id": str(10**20 + secrets.randbelow(9 * 10**20)),
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/"
            + quote(email, safe=""),
            "universe_domain": "googleapis.com",
        }

    def token_info(self, token: str) -> IssuedToken | None:
        """The live token, or None when unknown or expired."""
        info = self._tokens.get(token)
        if info is None or info.expires_at <= time.time():
            return None
        return info

    def issue_static(self, token: str, project_id: str, lifetime: float = 3600.0) -> None:
        """Registers a token without the JWT dance (for tests that only need one)."""
        self._tokens[token] = IssuedToken(
            "static@emulator", project_id, frozenset({CLOUD_PLATFORM}), time.time() + lifetime
        )

    async def handle_token(self, request: web.Request) -> web.Response:
        """POST /token: the JWT bearer grant, answered as Google answers it."""
        headers = {"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate"}
        form = await self._form(request)
        grant_type = form.get("grant_type", "")
        if grant_type != GRANT_TYPE:
            body = {
                "error": "unsupported_grant_type",
                "error_description": f"Invalid grant_type: {grant_type}",
            }
            return json_response(body, 400, headers)
        assertion = form.get("assertion", "")
        if not assertion:
            body = {
                "error": "invalid_request",
                "error_description": "Missing required parameter: assertion",
            }
            return json_response(body, 400, headers)
        try:
            info = self._verify(assertion)
        except _GrantError as exc:
            return json_response(
                {"error": exc.error, "error_description": exc.description}, 400, headers
            )
        token = "ya29.c." + secrets.token_urlsafe(96)
        self._tokens[token] = info
        answer = {"access_token": token, "expires_in": TOKEN_LIFETIME, "token_type": "Bearer"}
        return json_response(answer, 200, headers)

    @staticmethod
    async def _form(request: web.Request) -> dict[str, str]:
        if request.content_type == "application/json":
            try:
                data = orjson.loads(await request.read())
            except orjson.JSONDecodeError:
                return {}
            return {k: str(v) for k, v in data.items()} if isinstance(data, dict) else {}
        post = await request.post()
        return {k: str(v) for k, v in post.items()}

    def _verify(self, assertion: str) -> IssuedToken:
        parts = assertion.split(".")
        if len(parts) != 3:
            raise _GrantError("invalid_grant", "Invalid JWT: Token must be a JWT")
        try:
            header: dict[str, Any] = orjson.loads(_b64url_decode(parts[0]))
            claims: dict[str, Any] = orjson.loads(_b64url_decode(parts[1]))
            signature = _b64url_decode(parts[2])
        except (ValueError, orjson.JSONDecodeError) as exc:
            raise _GrantError("invalid_grant", "Invalid JWT: Token must be a JWT") from exc
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise _GrantError("invalid_grant", "Invalid JWT: Token must be a JWT")
        account = self._accounts_by_email.get(str(claims.get("iss", "")))
        if account is None:
            raise _GrantError("invalid_grant", "Invalid grant: account not found")
        if header.get("alg") != "RS256":
            raise _GrantError("invalid_grant", "Invalid JWT Signature.")
        kid = header.get("kid")
        if kid is not None and kid != account.key_id:
            raise _GrantError("invalid_grant", "Invalid JWT Signature.")
        try:
            account.public_key.verify(
                signature,
                f"{parts[0]}.{parts[1]}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except InvalidSignature as exc:
            raise _GrantError("invalid_grant", "Invalid JWT Signature.") from exc
        aud = claims.get("aud")
        if aud != account.token_uri and aud not in GOOGLE_AUDIENCES:
            raise _GrantError(
                "invalid_grant",
                f"Invalid JWT: Failed audience check. The right audience is {account.token_uri}",
            )
        now = time.time()
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int | float) or not isinstance(exp, int | float):
            raise _GrantError("invalid_grant", _TIMEFRAME)
        if iat > now + CLOCK_SKEW or exp <= now - CLOCK_SKEW or exp - iat > MAX_ASSERTION_LIFETIME:
            raise _GrantError("invalid_grant", _TIMEFRAME)
        scopes = frozenset(str(claims.get("scope", "")).split())
        if not scopes:
            raise _GrantError("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
        return IssuedToken(account.email, account.project_id, scopes, now + TOKEN_LIFETIME)
