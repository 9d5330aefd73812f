"""The PostgreSQL schema, as numbered migrations.

``lockgate_schema_migrations`` records which ones a database has. Applying
runs in one transaction under an advisory lock, so two nodes starting at the
same moment apply each migration once (the second waits, then finds nothing
pending). A database that holds a migration this lockgate does not know was
upgraded by a newer lockgate; it is reported, never rolled back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncpg

__all__ = ["MIGRATIONS", "Migration", "SchemaStatus", "apply_pending", "schema_status"]

#: pg_advisory_xact_lock key for migrations ("lockgate" spelled in bytes, then 1).
MIGRATION_LOCK = 0x6C6F636B67617401


@dataclass(frozen=True)
class Migration:
    id: int
    name: str
    sql: str


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "config_versions",
        # One row per saved configuration: the whole document, as SQLite keeps it.
        """
        CREATE TABLE lockgate_config_versions (
            version bigserial PRIMARY KEY,
            created_at timestamptz NOT NULL DEFAULT now(),
            state bytea NOT NULL
        )
        """,
    ),
)

_CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS lockgate_schema_migrations (
    id integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True)
class SchemaStatus:
    applied: tuple[int, ...]
    pending: tuple[Migration, ...]
    unknown: tuple[int, ...]  # applied by a newer lockgate

    @property
    def current(self) -> bool:
        return not self.pending


async def _applied(conn: asyncpg.Connection) -> list[int]:
    exists = await conn.fetchval("SELECT to_regclass('lockgate_schema_migrations') IS NOT NULL")
    if not exists:
        return []
    rows = await conn.fetch("SELECT id FROM lockgate_schema_migrations ORDER BY id")
    return [int(r["id"]) for r in rows]


def _status(applied: list[int]) -> SchemaStatus:
    known = {m.id for m in MIGRATIONS}
    return SchemaStatus(
        applied=tuple(applied),
        pending=tuple(m for m in MIGRATIONS if m.id not in set(applied)),
        unknown=tuple(i for i in applied if i not in known),
    )


async def schema_status(conn: asyncpg.Connection) -> SchemaStatus:
    return _status(await _applied(conn))


async def apply_pending(conn: asyncpg.Connection) -> list[Migration]:
    """Apply every pending migration; return those this call applied."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        await conn.execute(_CREATE_LEDGER)
        pending = _status(await _applied(conn)).pending
        for migration in pending:
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO lockgate_schema_migrations (id, name) VALUES ($1, $2)",
                migration.id,
                migration.name,
            )
    return list(pending)
