"""Checks of an AI proxy's credentials at apply time.

A credential that cannot work (empty because its ``DECK_`` variable was
empty, a header value with a line break, an API key where a service-account
JSON belongs) would otherwise be accepted and fail every request. These
checks name the field and never print the value.

Errors (:func:`credential_problems`) are what no provider can accept; key
shapes (:func:`credential_warnings`) only warn, because emulators, proxies
and self-hosted models accept any key, and providers change their formats.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["credential_problems", "credential_warnings"]

#: Fields google-auth needs to mint a token from a service account key.
_ACCOUNT_FIELDS = ("client_email", "private_key", "token_uri")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
#: A header value that is only an auth scheme: its key was empty.
_SCHEME_ONLY = re.compile(r"^\s*(bearer|basic|token|api-key)?\s*$", re.I)
#: Key prefixes of providers whose key format is documented and stable:
#: provider -> (the auth field that carries it, prefixes, what it is called).
_KEY_SHAPES: dict[str, tuple[str, tuple[str, ...], str]] = {
    "anthropic": ("header_value", ("sk-ant-", "Bearer sk-ant-"), "an Anthropic API key"),
    "openai": ("header_value", ("Bearer sk-",), "an OpenAI API key"),
    "huggingface": ("header_value", ("Bearer hf_",), "a HuggingFace token"),
    "dashscope": ("header_value", ("Bearer sk-",), "a DashScope API key"),
    "gemini": ("param_value", ("AIza",), "a Gemini API key"),
}


def _field(auth: Any, name: str) -> Any:
    return auth.get(name) if isinstance(auth, dict) else getattr(auth, name, None)


def _account_problems(text: str, path: str) -> list[str]:
    where = f"{path}.gcp_service_account_json"
    if not text.strip():
        return [f"{where}: is empty (check the DECK_ variable it comes from)"]
    try:
        info = json.loads(text)
    except ValueError:
        hint = (
            " (this looks like a Gemini API key: put it in auth.param_value with "
            "param_name 'key' and param_location 'query')"
            if text.strip().startswith("AIza")
            else ""
        )
        return [f"{where}: is not JSON; expected a service account key file{hint}"]
    if not isinstance(info, dict):
        return [f"{where}: expected a JSON object (a service account key file)"]
    if info.get("type") != "service_account":
        return [f'{where}: expected a service account key file ("type": "service_account")']
    missing = [k for k in _ACCOUNT_FIELDS if not isinstance(info.get(k), str) or not info[k]]
    if missing:
        return [f"{where}: the service account key lacks {', '.join(missing)}"]
    if "@" not in info["client_email"]:
        return [f"{where}: client_email is not an e-mail address"]
    if not re.match(r"^https?://", info["token_uri"]):
        return [f"{where}: token_uri is not an http(s) URL"]
    if not _loads_private_key(info["private_key"]):
        return [f"{where}: private_key is not a PEM private key"]
    return []


def _loads_private_key(pem: str) -> bool:
    from cryptography.hazmat.primitives import serialization

    try:
        serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        return False
    return True


def credential_problems(auth: Any, path: str) -> list[str]:
    """Error lines (``path.field: message``) for credentials that cannot work.
    ``auth`` is an ai-proxy ``auth`` record (model or dict), ``path`` its
    config path (``config.auth``)."""
    if auth is None:
        return []
    out: list[str] = []
    for name, value in (("header", "header_value"), ("param", "param_value")):
        key, secret = _field(auth, f"{name}_name"), _field(auth, value)
        if key and (secret is None or _SCHEME_ONLY.match(secret)):
            out.append(
                f"{path}.{value}: empty credential for {name} '{key}' "
                "(check the DECK_ variable it comes from)"
            )
        elif secret is not None and not key:
            out.append(f"{path}.{name}_name: required when {value} is set")
        if isinstance(secret, str) and _CONTROL.search(secret):
            out.append(
                f"{path}.{value}: contains a line break or control character "
                "(not allowed in a credential; check for a trailing newline)"
            )
    account = _field(auth, "gcp_service_account_json")
    if account is not None:
        out.extend(_account_problems(account, path))
    key_id, secret_key = _field(auth, "aws_access_key_id"), _field(auth, "aws_secret_access_key")
    if bool(key_id) != bool(secret_key):
        missing = "aws_secret_access_key" if key_id else "aws_access_key_id"
        out.append(f"{path}.{missing}: required with the other AWS key")
    return out


def credential_warnings(raw: dict[str, Any], path: str) -> list[str]:
    """Warnings for a key whose shape does not match its provider's documented
    format, when the provider's own endpoint is used. ``raw`` is an ai-proxy
    config or an ai-proxy-advanced target (``model`` and ``auth``)."""
    model, auth = raw.get("model"), raw.get("auth")
    if not isinstance(model, dict) or not isinstance(auth, dict):
        return []
    options = model.get("options") if isinstance(model.get("options"), dict) else {}
    if options and options.get("upstream_url"):
        return []
    provider = str(model.get("provider"))
    shape = _KEY_SHAPES.get(provider)
    if shape is None or auth.get("gcp_use_service_account"):
        return []
    field, prefixes, called = shape
    value = auth.get(field)
    # An empty value is an error (credential_problems), not a shape to warn about.
    if not isinstance(value, str) or _SCHEME_ONLY.match(value) or value.startswith(prefixes):
        return []
    return [
        f"{path}.{field}: does not look like {called} (expected it to start with "
        f"'{prefixes[0]}'); the provider will answer 401 if it is wrong"
    ]
