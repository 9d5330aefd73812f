"""Service accounts and the JWT bearer grant, checked with google-auth itself."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import google.auth.transport.requests
import pytest
from google.auth import crypt
from google.auth import jwt as google_jwt
from google.oauth2 import service_account

from lockgate.testing import Emulator

from .conftest import Raw

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
FORM = {"content-type": "application/x-www-form-urlencoded"}
GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def assertion(sa: dict[str, str], **claims: Any) -> str:
    now = int(time.time())
    payload = {
        "iss": sa["client_email"],
        "aud": sa["token_uri"],
        "iat": now,
        "exp": now + 3600,
        "scope": SCOPE,
    }
    payload.update(claims)
    signer = crypt.RSASigner.from_service_account_info(sa)
    return google_jwt.encode(signer, payload).decode()


async def grant(raw: Raw, form: str) -> Any:
    return await raw.request("POST", "/token", data=form.encode(), headers=FORM)


def test_service_account_shape(emulator: Emulator) -> None:
    sa = emulator.make_service_account(project_id="proj-1")
    assert list(sa) == [
        "type", "project_id", "private_key_id", "private_key", "client_email", "client_id", "auth_uri",
        "token_uri", "auth_provider_x509_cert_url", "client_x509_cert_url", "universe_domain",
    ]  # fmt: skip
    assert sa["type"] == "service_account" and sa["project_id"] == "proj-1"
    assert sa["private_key"].startswith("-----BEGIN PRIVATE KEY-----\n") and sa[
        "private_key"
    ].endswith("-----END PRIVATE KEY-----\n")
    assert sa["client_email"].endswith("@proj-1.iam.gserviceaccount.com")
    assert sa["token_uri"] == emulator.url + "/token" and len(sa["private_key_id"]) == 40


async def test_google_auth_round_trip(emulator: Emulator, raw: Raw) -> None:
    sa = emulator.make_service_account(project_id="proj-rt")
    creds = service_account.Credentials.from_service_account_info(sa, scopes=[SCOPE])
    await asyncio.to_thread(creds.refresh, google.auth.transport.requests.Request())
    assert creds.token and creds.token.startswith("ya29.") and creds.expiry is not None
    url = "/v1/projects/proj-rt/locations/us-central1/publishers/google/models/gemini-2.0-flash:generateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    answer = await raw.post(url, body, {"Authorization": f"Bearer {creds.token}"})
    assert answer.status == 200, answer.text
    token_call = next(r for r in emulator.records if r["path"] == "/token")
    assert token_call["provider"] == "google_oauth" and "grant_type=urn" in token_call["body"]


async def test_http_service_account_endpoint(emulator: Emulator, raw: Raw) -> None:
    answer = await raw.post("/_emulator/service-account", {"project_id": "proj-http"})
    sa = answer.json
    assert sa["project_id"] == "proj-http" and sa["token_uri"].endswith("/token")
    creds = service_account.Credentials.from_service_account_info(sa, scopes=[SCOPE])
    await asyncio.to_thread(creds.refresh, google.auth.transport.requests.Request())
    assert creds.valid
    assert all(not r["path"].startswith("/_emulator") for r in emulator.records)


@pytest.mark.parametrize(
    ("claims", "error", "description"),
    [
        (
            {"aud": "https://example.com/token"},
            "invalid_grant",
            "Invalid JWT: Failed audience check.",
        ),
        (
            {"iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600},
            "invalid_grant",
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.",
        ),
        (
            {"exp": int(time.time()) + 7200},
            "invalid_grant",
            "Invalid JWT: Token must be a short-lived token",
        ),
        ({"scope": ""}, "invalid_scope", "Invalid OAuth scope or ID token audience provided."),
        (
            {"iss": "ghost@proj.iam.gserviceaccount.com"},
            "invalid_grant",
            "Invalid grant: account not found",
        ),
    ],
)
async def test_assertion_checks(
    emulator: Emulator, raw: Raw, claims: dict[str, Any], error: str, description: str
) -> None:
    sa = emulator.make_service_account()
    answer = await grant(raw, f"grant_type={GRANT}&assertion={assertion(sa, **claims)}")
    assert answer.status == 400
    assert answer.json["error"] == error and answer.json["error_description"].startswith(
        description
    )


async def test_signature_and_grant_type(emulator: Emulator, raw: Raw) -> None:
    sa = emulator.make_service_account()
    impostor = emulator.make_service_account()
    forged = assertion(
        {**impostor, "client_email": sa["client_email"], "private_key_id": sa["private_key_id"]}
    )
    answer = await grant(raw, f"grant_type={GRANT}&assertion={forged}")
    assert answer.json == {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
    answer = await grant(raw, f"grant_type=client_credentials&assertion={assertion(sa)}")
    assert answer.json == {
        "error": "unsupported_grant_type",
        "error_description": "Invalid grant_type: client_credentials",
    }
    ok = await grant(raw, f"grant_type={GRANT}&assertion={assertion(sa)}")
    assert ok.status == 200 and ok.json["expires_in"] == 3599 and ok.json["token_type"] == "Bearer"
    google_aud = await grant(
        raw,
        f"grant_type={GRANT}&assertion={assertion(sa, aud='https://oauth2.googleapis.com/token')}",
    )
    assert google_aud.status == 200


async def test_scope_is_enforced_by_vertex(emulator: Emulator, raw: Raw) -> None:
    sa = emulator.make_service_account(project_id="proj-s")
    token = (
        await grant(
            raw,
            f"grant_type={GRANT}&assertion={assertion(sa, scope='https://www.googleapis.com/auth/devstorage.read_only')}",
        )
    ).json
    url = "/v1/projects/proj-s/locations/us-central1/publishers/google/models/gemini-2.0-flash:generateContent"
    answer = await raw.post(
        url,
        {"contents": [{"parts": [{"text": "hi"}]}]},
        {"Authorization": f"Bearer {token['access_token']}"},
    )
    assert (
        answer.status == 403
        and answer.json["error"]["message"] == "Request had insufficient authentication scopes."
    )


async def test_expired_token_is_refused(emulator: Emulator, raw: Raw) -> None:
    emulator.state.oauth.issue_static("ya29.expired", "proj-e", lifetime=-1)
    url = "/v1/projects/proj-e/locations/us-central1/publishers/google/models/gemini-2.0-flash:generateContent"
    answer = await raw.post(
        url, {"contents": [{"parts": [{"text": "hi"}]}]}, {"Authorization": "Bearer ya29.expired"}
    )
    assert answer.status == 401 and answer.json["error"]["status"] == "UNAUTHENTICATED"
    assert answer.json["error"]["message"].startswith(
        "Request had invalid authentication credentials."
    )
