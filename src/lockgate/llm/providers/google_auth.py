"""OAuth2 access tokens for Google service accounts, minted with google-auth
and cached until shortly before they expire.

google-auth signs the JWT assertion and posts it to the account's
``token_uri`` (honoured as given, which is how tests point it at the
emulator). Its transport is synchronous, so the refresh runs in a thread;
concurrent requests for the same account share one refresh.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

__all__ = ["ServiceAccountTokens", "TokenError"]

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
#: Refresh this long before the token's expiry.
MARGIN = 60.0


class TokenError(Exception):
    def __init__(self, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        #: A failure that may pass (the token endpoint unreachable or busy),
        #: unlike a key that is not one or that Google refuses.
        self.retryable = retryable


@dataclass
class _Cached:
    token: str
    expires_at: float


class ServiceAccountTokens:
    """One per worker (kept in ``WorkerEnv.caches``): tokens by service account."""

    def __init__(self) -> None:
        self._tokens: dict[tuple[str, str], _Cached] = {}
        self._pending: dict[tuple[str, str], asyncio.Future[_Cached]] = {}

    async def token(self, account_json: str) -> str:
        try:
            info: dict[str, Any] = json.loads(account_json)
        except ValueError as exc:
            raise TokenError(f"not a service account key: not valid JSON ({exc})") from exc
        if not isinstance(info, dict) or info.get("type") != "service_account":
            raise TokenError(
                "not a service account key (a JSON object whose type is 'service_account')"
            )
        key = (str(info.get("client_email")), str(info.get("private_key_id")))
        cached = self._tokens.get(key)
        if cached is not None and cached.expires_at - MARGIN > time.time():
            return cached.token
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.get_running_loop().create_future()
            self._pending[key] = pending
            try:
                fresh = await asyncio.to_thread(_mint, info)
            except Exception as exc:
                pending.set_exception(exc)
                pending.exception()  # mark retrieved for waiters-less futures
                raise
            finally:
                self._pending.pop(key, None)
            self._tokens[key] = fresh
            pending.set_result(fresh)
            return fresh.token
        return (await pending).token


def _mint(info: dict[str, Any]) -> _Cached:
    import google.auth.exceptions
    import google.auth.transport.requests
    from google.oauth2 import service_account

    try:
        creds = service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
        creds.refresh(google.auth.transport.requests.Request())
    except (ValueError, google.auth.exceptions.GoogleAuthError) as exc:
        # A refusal's first argument is the readable part; the rest repeats it as a dict.
        detail = exc.args[0] if exc.args and isinstance(exc.args[0], str) else exc
        retryable = isinstance(exc, google.auth.exceptions.TransportError) or bool(
            getattr(exc, "retryable", False)
        )
        raise TokenError(f"could not mint a Google access token: {detail}", retryable) from exc
    expiry = creds.expiry.timestamp() if creds.expiry else time.time() + 3000
    # google-auth gives a naive UTC datetime
    if creds.expiry is not None and creds.expiry.tzinfo is None:
        import calendar

        expiry = calendar.timegm(creds.expiry.timetuple())
    return _Cached(str(creds.token), float(expiry))
