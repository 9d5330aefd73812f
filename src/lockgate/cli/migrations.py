"""``lockgate migrations up|status``: the store's schema.

``status`` exits 0 when the schema is current, 1 when migrations are pending
(or the database was upgraded by a newer lockgate), 2 when the store cannot
be reached. ``up`` applies what is pending (``start`` does the same by
itself) and exits 0, or 2 when the store cannot be reached. Store URLs are
shown without their password.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping
from typing import Any

from lockgate.cli.options import add_option
from lockgate.store import StoreError, default_store_url, parse_store_url, redact_url

__all__ = ["add_migrations_command"]

_UNREACHABLE = 2


def add_migrations_command(subparsers: Any, environ: Mapping[str, str]) -> None:
    migrations = subparsers.add_parser(
        "migrations",
        help="show or apply the store's schema migrations",
        description="Show (status) or apply (up) the schema migrations of a store.",
    )
    commands = migrations.add_subparsers(
        dest="migrations_command", metavar="COMMAND", required=True
    )
    for name, text in (
        ("status", "exit 0 when the schema is current, non-zero when not or unreachable"),
        ("up", "apply pending migrations (safe while nodes run or start)"),
    ):
        parser = commands.add_parser(name, help=text, description=text)
        add_option(
            parser,
            "--store",
            help="the store: sqlite:///path/to/file.db or "
            "postgresql://user:password@host:port/database",
            default="",
            shown_default="lockgate.db in the prefix",
            environ=environ,
            env="LOCKGATE_STORE",
            metavar="URL",
        )
        add_option(
            parser,
            "--prefix",
            help="the gateway's directory, whose lockgate.db is the default store",
            default=os.path.expanduser("~/.lockgate"),
            environ=environ,
            env="LOCKGATE_PREFIX",
        )
        parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    url = args.store or default_store_url(os.path.expanduser(args.prefix))
    try:
        location = parse_store_url(url)
    except ValueError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return _UNREACHABLE
    if location.kind == "sqlite":
        return _sqlite(location.path, location.shown, args.migrations_command)
    try:
        return asyncio.run(_postgres(url, args.migrations_command))
    except (StoreError, OSError) as exc:
        print(f"Error: {redact_url(str(exc))}", file=sys.stderr)
        return _UNREACHABLE


def _sqlite(path: str, shown: str, command: str) -> int:
    # The embedded store makes its one table when it opens: it has nothing pending.
    if command == "up":
        from lockgate.store.sqlite import SQLiteStore

        asyncio.run(SQLiteStore(path).close())
    elif not os.path.exists(path):
        print(f"{shown}: no database yet; `lockgate start` creates it")
        return 0
    print(f"{shown}: schema current")
    return 0


async def _postgres(url: str, command: str) -> int:
    from lockgate.store.postgres import PostgresStore

    store = PostgresStore(url)
    try:
        if command == "up":
            applied = await store.migrate()
            for name in applied:
                print(f"applied {name}")
            if not applied:
                print(f"{store.shown}: nothing to apply")
        status = await store.schema_status()
    finally:
        await store.close()
    if status.unknown:
        print(
            f"{store.shown}: the database holds migrations this lockgate does not know "
            f"({', '.join(map(str, status.unknown))}): it was upgraded by a newer lockgate",
            file=sys.stderr,
        )
        return 1
    if status.pending:
        names = ", ".join(f"{m.id:03d}_{m.name}" for m in status.pending)
        print(
            f"{store.shown}: {len(status.pending)} migration(s) pending: {names}\n"
            "run `lockgate migrations up --store URL` (or start a node on this store)",
            file=sys.stderr,
        )
        return 1
    print(f"{store.shown}: schema current ({len(status.applied)} migration(s) applied)")
    return 0
