"""Where the configuration lives.

One interface (:class:`ConfigStore`): the whole configuration is saved as one
versioned document, and readers follow the version number
(:meth:`ConfigStore.watch`). The embedded default is SQLite in the prefix
directory; PostgreSQL (:mod:`lockgate.store.postgres`) lets several nodes
share one configuration. :func:`open_store` picks one by URL
(:mod:`lockgate.store.url`).
"""

from lockgate.store.base import ConfigStore, StaleVersion, StoreError, StoreUnavailable
from lockgate.store.sqlite import SQLiteStore
from lockgate.store.url import default_store_url, parse_store_url, redact_url

__all__ = [
    "ConfigStore",
    "SQLiteStore",
    "StaleVersion",
    "StoreError",
    "StoreUnavailable",
    "default_store_url",
    "open_store",
    "parse_store_url",
    "redact_url",
]


def open_store(url: str) -> ConfigStore:
    """The store at ``url`` (``sqlite:///path`` or ``postgresql://...``).
    Opening connects to nothing yet for PostgreSQL; the first call does."""
    location = parse_store_url(url)
    if location.kind == "postgres":
        from lockgate.store.postgres import PostgresStore

        return PostgresStore(url)
    return SQLiteStore(location.path)
