"""AWS STS's AssumeRole, enough for a gateway that assumes a role before
calling Bedrock: the request must be signed (SigV4, service ``sts``) by a
known key; the answer is a session (key id, secret, token) valid for
``EmulatorState.aws_session_seconds`` (``LOCKGATE_EMULATOR_AWS_SESSION_SECONDS``,
default 3600), which the Bedrock emulator then accepts until it expires.
Answers and errors are STS's XML.
"""

from __future__ import annotations

import datetime
import secrets
import time
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from aiohttp import web

from .bedrock import verify_signature
from .responses import ApiError
from .state import STATE

__all__ = ["sts_handler"]

_NS = "https://sts.amazonaws.com/doc/2011-06-15/"


def _xml(status: int, body: str) -> web.Response:
    return web.Response(
        status=status,
        text=body,
        content_type="text/xml",
        headers={"x-amzn-RequestId": secrets.token_hex(16)},
    )


def _error(status: int, code: str, message: str) -> web.Response:
    return _xml(
        status,
        f'<ErrorResponse xmlns="{_NS}"><Error><Type>Sender</Type><Code>{escape(code)}</Code>'
        f"<Message>{escape(message)}</Message></Error><RequestId>emulated</RequestId>"
        "</ErrorResponse>",
    )


async def sts_handler(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    raw = await request.read()
    try:
        verify_signature(request, raw, state, scope="sts")
    except ApiError as err:
        code = err.headers.get("x-amzn-ErrorType", "AccessDenied").split(":", 1)[0]
        return _error(err.status, code, str(err.body.get("message", "")))
    form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
    if form.get("Action") != "AssumeRole":
        return _error(400, "InvalidAction", f"Could not find operation {form.get('Action')}")
    role, name = form.get("RoleArn", ""), form.get("RoleSessionName", "")
    if not role.startswith("arn:aws:iam::") or ":role/" not in role or not name:
        return _error(400, "ValidationError", "RoleArn and RoleSessionName are required.")
    key_id = "ASIA" + secrets.token_hex(8).upper()
    secret, token = secrets.token_urlsafe(30), secrets.token_urlsafe(48)
    expires = time.time() + state.aws_session_seconds
    state.aws_sessions[key_id] = (secret, token, expires)
    stamp = datetime.datetime.fromtimestamp(expires, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    account, role_name = role.split(":")[4], role.rsplit("/", 1)[-1]
    return _xml(
        200,
        f'<AssumeRoleResponse xmlns="{_NS}"><AssumeRoleResult>'
        f"<Credentials><AccessKeyId>{key_id}</AccessKeyId>"
        f"<SecretAccessKey>{secret}</SecretAccessKey><SessionToken>{token}</SessionToken>"
        f"<Expiration>{stamp}</Expiration></Credentials>"
        f"<AssumedRoleUser><AssumedRoleId>AROAEMULATED:{escape(name)}</AssumedRoleId>"
        f"<Arn>arn:aws:sts::{account}:assumed-role/{escape(role_name)}/{escape(name)}</Arn>"
        "</AssumedRoleUser></AssumeRoleResult>"
        "<ResponseMetadata><RequestId>emulated</RequestId></ResponseMetadata>"
        "</AssumeRoleResponse>",
    )
