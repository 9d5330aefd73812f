"""Where the configuration lives.

One interface (:class:`ConfigStore`): the whole configuration is saved as one
versioned document, and readers poll the version number. The embedded
default is SQLite in the prefix directory; a shared database (PostgreSQL) can
implement the same four methods (``save`` with its compare-and-swap) so that several nodes share one
configuration.
"""

from lockgate.store.base import ConfigStore, StaleVersion
from lockgate.store.sqlite import SQLiteStore

__all__ = ["ConfigStore", "SQLiteStore", "StaleVersion", "open_store"]


def open_store(prefix: str) -> ConfigStore:
    import os

    return SQLiteStore(os.path.join(prefix, "lockgate.db"))
