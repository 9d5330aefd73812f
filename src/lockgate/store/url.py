"""Store URLs: ``sqlite:///path/to/lockgate.db`` or
``postgresql://user:password@host:port/database`` (also ``postgres://``).

A password may sit in the URL, so everything shown to a person (logs, CLI
output, errors, ``GET /``) goes through :func:`redact_url`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

__all__ = ["StoreLocation", "default_store_url", "parse_store_url", "redact_text", "redact_url"]

_POSTGRES_SCHEMES = ("postgresql", "postgres")


@dataclass(frozen=True)
class StoreLocation:
    kind: str  # "sqlite" or "postgres"
    url: str  # as given (may hold a password: never show it)
    path: str = ""  # sqlite: the database file

    @property
    def shown(self) -> str:
        return redact_url(self.url)

    @property
    def password(self) -> str | None:
        if self.kind != "postgres":
            return None
        parts = urlsplit(self.url)
        if parts.password:
            return unquote(parts.password)
        for pair in parts.query.split("&"):
            key, _, value = pair.partition("=")
            if key.lower() == "password" and value:
                return unquote(value)
        return None

    def kong_fields(self) -> dict[str, object]:
        """What Kong shows in ``GET /`` ``configuration`` for its database."""
        if self.kind != "postgres":
            return {"database": self.kind}
        parts = urlsplit(self.url)
        return {
            "database": "postgres",
            "pg_host": parts.hostname,
            "pg_port": parts.port or 5432,
            "pg_database": unquote(parts.path.lstrip("/")) or None,
            "pg_user": unquote(parts.username) if parts.username else None,
            "pg_password": "******" if self.password else None,
        }


def default_store_url(prefix: str) -> str:
    return "sqlite://" + os.path.abspath(os.path.join(prefix, "lockgate.db"))


def parse_store_url(url: str) -> StoreLocation:
    """Raise :class:`ValueError` (with the URL redacted) for an unknown form."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme == "sqlite":
        # sqlite:///abs/path.db -> /abs/path.db (a file URL's reading of it)
        if not rest or not rest.startswith("/"):
            raise ValueError(
                f"invalid SQLite store URL '{url}': expected sqlite:///path/to/file.db"
            )
        return StoreLocation("sqlite", url, rest)
    if sep and scheme in _POSTGRES_SCHEMES:
        parts = urlsplit(url)
        try:
            parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
        except ValueError:
            raise ValueError(f"invalid port in store URL '{redact_url(url)}'") from None
        if not parts.hostname and "host=" not in parts.query:
            raise ValueError(f"store URL '{redact_url(url)}' names no host")
        return StoreLocation("postgres", url)
    raise ValueError(
        f"unknown store URL '{redact_url(url)}': expected sqlite:///path/to/file.db "
        "or postgresql://user:password@host:port/database"
    )


def redact_url(url: str) -> str:
    """The URL with its password (userinfo after ``:``, or a ``password=``
    query parameter) replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    netloc, slash, tail = rest.partition("/")
    userinfo, at, hostport = netloc.rpartition("@")
    if at and ":" in userinfo:
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{hostport}"
    path, q, query = tail.partition("?")
    if q:
        query = "&".join(
            (p.split("=", 1)[0] + "=***") if p.lower().startswith("password=") else p
            for p in query.split("&")
        )
    return f"{scheme}://{netloc}{slash}{path}{q}{query}"


def redact_text(text: str, secret: str | None) -> str:
    """``text`` with every occurrence of ``secret`` replaced (for driver messages)."""
    if not secret:
        return text
    return text.replace(secret, "***")
