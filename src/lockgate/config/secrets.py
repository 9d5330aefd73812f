"""Which configuration fields hold credentials, and masking them.

A credential must never reach a terminal, a log or an error message: the
Admin API's change descriptions, the CLI's diff lines and error lines mask
every field this module names, whatever its value, on both sides of a
change. Values that came from ``DECK_`` variables are masked by the CLI as
well (decK's rule), wherever they appear.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["MASK", "is_secret_field", "mask_fields", "mask_values"]

MASK = "[masked]"

#: Field names that hold a credential wherever they appear (plugin configs,
#: ai-proxy-advanced targets, a Redis or database block of any plugin).
_SECRET_NAMES = frozenset(
    {
        "header_value",
        "param_value",
        "gcp_service_account_json",
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "azure_client_secret",
        "client_secret",
        "password",
        "api_key",
        "secret",
        "token",
    }
)
_SECRET_SUFFIXES = ("_password", "_secret", "_api_key", "_access_key")
#: Fields that are credentials only in one kind of entity.
_SECRET_BY_KIND = {"keyauth_credentials": frozenset({"key"})}


def is_secret_field(name: str, kind: str | None = None) -> bool:
    """``name`` is the last step of a field path (``header_value``)."""
    lowered = name.lower()
    return (
        lowered in _SECRET_NAMES
        or lowered.endswith(_SECRET_SUFFIXES)
        or lowered in _SECRET_BY_KIND.get(kind or "", ())
    )


def mask_fields(value: Any, kind: str | None = None) -> Any:
    """A copy of ``value`` with every secret field's value replaced by :data:`MASK`."""
    if isinstance(value, dict):
        return {
            k: (
                MASK
                if is_secret_field(str(k), kind) and v not in (None, "")
                else mask_fields(v, kind)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [mask_fields(v, kind) for v in value]
    return value


def mask_values(value: Any, secrets: Iterable[str]) -> Any:
    """A copy of ``value`` where every occurrence of a secret inside a string
    is replaced by :data:`MASK` (``secrets`` longest first, so that a value
    containing a shorter one is masked whole)."""
    ordered = sorted({s for s in secrets if s}, key=len, reverse=True)
    if not ordered:
        return value

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            for secret in ordered:
                if secret in node:
                    node = node.replace(secret, MASK)
            return node
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(value)
