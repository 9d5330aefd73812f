"""The ``lockgate`` command."""

from __future__ import annotations

import argparse
import errno
import os
import sys
from collections.abc import Mapping

from lockgate.cli.options import add_flag, add_option

__all__ = ["main"]


def _default_workers() -> int:
    return os.cpu_count() or 1


def build_parser(environ: Mapping[str, str] | None = None) -> argparse.ArgumentParser:
    """The whole command line; option defaults come from ``environ`` (the
    process environment unless given), each option's help names its variable."""
    env = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(
        prog="lockgate", description="An AI gateway configured like Kong."
    )
    add_flag(parser, "--version", help="print the version and exit")
    sub = parser.add_subparsers(dest="command")
    prefix_default = os.path.expanduser("~/.lockgate")

    def add_prefix(p: argparse.ArgumentParser) -> None:
        add_option(
            p,
            "--prefix",
            help="directory of the gateway's database, pid file and logs/error.log",
            default=prefix_default,
            environ=env,
            env="LOCKGATE_PREFIX",
        )

    start = sub.add_parser("start", help="start the gateway (foreground unless --daemon)")
    add_option(
        start,
        "--proxy-listen",
        help="HOST:PORT of the proxy that clients call; 0.0.0.0 accepts every interface",
        default="0.0.0.0:8000",
        environ=env,
        env="LOCKGATE_PROXY_LISTEN",
    )
    add_option(
        start,
        "--admin-listen",
        help="HOST:PORT of the Admin API (keep it on loopback: it has no authentication)",
        default="127.0.0.1:8001",
        environ=env,
        env="LOCKGATE_ADMIN_LISTEN",
    )
    add_option(
        start,
        "--workers",
        help="number of proxy worker processes",
        type=int,
        default=_default_workers(),
        shown_default=f"the number of CPUs, {_default_workers()}",
        environ=env,
        env="LOCKGATE_WORKERS",
    )
    add_prefix(start)
    add_flag(start, "--daemon", help="detach, run in the background and log to the prefix")
    add_option(
        start,
        "--store",
        help="where the configuration lives: sqlite:///path/to/file.db or "
        "postgresql://user:password@host:port/database (shared by several nodes)",
        default="",
        shown_default="lockgate.db in the prefix",
        environ=env,
        env="LOCKGATE_STORE",
        metavar="URL",
    )
    add_option(
        start,
        "--status-listen",
        help="serve /metrics and /status/ready on this HOST:PORT, apart from the Admin API "
        "(Kong's status_listen; a data plane's only listener besides the proxy)",
        default="",
        shown_default="off; 127.0.0.1:8100 on a data plane",
        environ=env,
        env="LOCKGATE_STATUS_LISTEN",
        metavar="HOST:PORT",
    )
    add_option(
        start,
        "--usage-ledger",
        help="keep one row per AI request in the store's database, read by GET /ai/usage "
        "and lockgate usage",
        choices=("on", "off"),
        default="on",
        environ=env,
        env="LOCKGATE_USAGE_LEDGER",
    )
    add_option(
        start,
        "--usage-retention-days",
        help="delete usage ledger rows older than this many days, checked hourly; 0 keeps them",
        type=float,
        default=30.0,
        environ=env,
        env="LOCKGATE_USAGE_RETENTION_DAYS",
        metavar="DAYS",
    )
    from lockgate.cli.cluster import add_cluster_command, add_hybrid_options

    add_hybrid_options(start, env)

    for name, text in (
        ("stop", "stop a running gateway"),
        ("status", "show whether the gateway runs"),
    ):
        p = sub.add_parser(name, help=text)
        add_prefix(p)
        if name == "status":
            add_option(
                p,
                "--admin-url",
                help="the Admin API to ask for the gateway's status",
                default="http://127.0.0.1:8001",
                environ=env,
                env="LOCKGATE_ADMIN_URL",
            )

    emulate = sub.add_parser(
        "emulate", help="run the provider emulators (OpenAI, Anthropic, Gemini, ...)"
    )
    add_option(
        emulate,
        "--listen",
        help="HOST:PORT the emulators serve on",
        default="127.0.0.1:9100",
        environ=env,
        env="LOCKGATE_EMULATE_LISTEN",
    )
    add_option(
        emulate,
        "--max-records",
        help="keep only the newest N requests for GET /_emulator/requests "
        "(0: record none, for load tests)",
        type=int,
        default=None,
        shown_default="all",
        metavar="N",
        environ=env,
        env="LOCKGATE_EMULATE_MAX_RECORDS",
    )

    from lockgate.cli.gateway import add_gateway_commands
    from lockgate.cli.migrations import add_migrations_command

    add_gateway_commands(sub, env)
    add_migrations_command(sub, env)
    add_cluster_command(sub, env)
    from lockgate.cli.usage import add_usage_command

    add_usage_command(sub, env)
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
                proxy_listen=args.proxy_listen,
                admin_listen=args.admin_listen,
                workers=args.workers,
                prefix=os.path.expanduser(args.prefix),
                daemon=args.daemon,
                store=args.store,
                status_listen=args.status_listen,
                usage_ledger=args.usage_ledger == "on",
                usage_retention_days=args.usage_retention_days,
                role=args.role,
                cluster_listen=args.cluster_listen,
                cluster_control_plane=args.cluster_control_plane,
                cluster_cert=args.cluster_cert,
                cluster_cert_key=args.cluster_cert_key,
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
        try:
            run_emulator(host, port, max_records=args.max_records)
        except OSError as exc:
            why = "address already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
            print(f"lockgate emulate: cannot listen on {host}:{port}: {why}", file=sys.stderr)
            return 1
        return 0
    if args.command in ("gateway", "migrations", "cluster", "usage"):
        return int(args.func(args))
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
