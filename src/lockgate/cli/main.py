"""The ``lockgate`` command."""

from __future__ import annotations

import argparse
import os
import sys

__all__ = ["main"]


def _default_workers() -> int:
    return os.cpu_count() or 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lockgate", description="An AI gateway configured like Kong."
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command")

    start = sub.add_parser("start", help="start the gateway (foreground unless --daemon)")
    start.add_argument(
        "--proxy-listen", default=os.environ.get("LOCKGATE_PROXY_LISTEN", "0.0.0.0:8000")
    )
    start.add_argument(
        "--admin-listen", default=os.environ.get("LOCKGATE_ADMIN_LISTEN", "127.0.0.1:8001")
    )
    start.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("LOCKGATE_WORKERS", 0) or _default_workers()),
    )
    start.add_argument(
        "--prefix", default=os.environ.get("LOCKGATE_PREFIX", os.path.expanduser("~/.lockgate"))
    )
    start.add_argument("--daemon", action="store_true", help="detach and run in the background")
    start.add_argument(
        "--store",
        default=os.environ.get("LOCKGATE_STORE", ""),
        metavar="URL",
        help="where the configuration lives: sqlite:///path/to/file.db (default: "
        "lockgate.db in the prefix) or postgresql://user:password@host:port/database "
        "(shared by several nodes); also LOCKGATE_STORE",
    )
    start.add_argument(
        "--status-listen",
        default=os.environ.get("LOCKGATE_STATUS_LISTEN", ""),
        metavar="HOST:PORT",
        help="serve /metrics and /status/ready on this address, apart from the Admin API "
        "(default: $LOCKGATE_STATUS_LISTEN, else off)",
    )
    start.add_argument(
        "--usage-ledger",
        choices=("on", "off"),
        default=os.environ.get("LOCKGATE_USAGE_LEDGER", "on"),
        help="keep one row per AI request in the store's database, read by GET /ai/usage and "
        "lockgate usage (default: $LOCKGATE_USAGE_LEDGER, else on)",
    )
    start.add_argument(
        "--usage-retention-days",
        type=float,
        default=float(os.environ.get("LOCKGATE_USAGE_RETENTION_DAYS", 30)),
        metavar="DAYS",
        help="delete usage ledger rows older than this, checked hourly; 0 keeps them all "
        "(default: $LOCKGATE_USAGE_RETENTION_DAYS, else 30)",
    )

    for name, text in (
        ("stop", "stop a running gateway"),
        ("status", "show whether the gateway runs"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument(
            "--prefix", default=os.environ.get("LOCKGATE_PREFIX", os.path.expanduser("~/.lockgate"))
        )
        if name == "status":
            p.add_argument(
                "--admin-url", default=os.environ.get("LOCKGATE_ADMIN_URL", "http://127.0.0.1:8001")
            )

    emulate = sub.add_parser(
        "emulate", help="run the provider emulators (OpenAI, Anthropic, Gemini, ...)"
    )
    emulate.add_argument("--listen", default="127.0.0.1:9100")
    emulate.add_argument(
        "--max-records",
        type=int,
        default=None,
        metavar="N",
        help="keep only the newest N requests for GET /_emulator/requests "
        "(default: all; 0: record none, for load tests)",
    )

    from lockgate.cli.gateway import add_gateway_commands
    from lockgate.cli.migrations import add_migrations_command

    add_gateway_commands(sub)
    add_migrations_command(sub)
    from lockgate.cli.usage import add_usage_command

    add_usage_command(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from lockgate import __version__

        print(f"lockgate {__version__}")
        return 0
    if args.command == "start":
        from lockgate.cli.process import Settings, start
        from lockgate.store import parse_store_url

        if args.workers < 1:
            parser.error("--workers must be at least 1")
        if args.store:
            try:
                parse_store_url(args.store)
            except ValueError as exc:
                parser.error(str(exc))
        return start(
            Settings(
                args.proxy_listen,
                args.admin_listen,
                args.workers,
                os.path.expanduser(args.prefix),
                args.daemon,
                args.store,
                status_listen=args.status_listen,
                usage_ledger=args.usage_ledger == "on",
                usage_retention_days=args.usage_retention_days,
            )
        )
    if args.command == "stop":
        from lockgate.cli.process import stop

        return stop(os.path.expanduser(args.prefix))
    if args.command == "status":
        from lockgate.cli.process import status

        return status(os.path.expanduser(args.prefix), args.admin_url)
    if args.command == "emulate":
        from lockgate.cli.process import split_listen
        from lockgate.testing import run_emulator

        host, port = split_listen(args.listen)
        if args.max_records is not None and args.max_records < 0:
            print("lockgate emulate: --max-records cannot be negative", file=sys.stderr)
            return 2
        run_emulator(host, port, max_records=args.max_records)
        return 0
    if args.command in ("gateway", "migrations", "usage"):
        return int(args.func(args))
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
