"""``lockgate gateway apply|sync|diff|dump|validate``: decK's commands.

- ``apply [FILE...]``: create or update what the files name, delete nothing.
- ``sync [FILE...]``: make the gateway equal to the files (deletes the rest).
- ``diff [FILE...]``: what ``sync`` would change; changes nothing.
- ``dump [-o FILE] [--format yaml|json]``: the configuration as a decK file.
- ``validate [FILE...]``: check the files offline (never contacts the server).

As with decK's ``gateway`` commands, files default to ``-`` (stdin) and
``dump`` writes to stdout unless ``-o`` names a file. ``${{ env "DECK_X" }}``
is substituted from this process's environment. Before anything is sent, the
files are checked locally with the same validation as the server, so errors
name the file, the entity path and the field
(``-: plugins[0].config.model.provider: expected one of: ...``); the merged
file then goes to the Admin API's ``POST /config`` (``?mode=apply|sync``,
``&dry_run=true`` for ``diff``; see :mod:`lockgate.admin.routes_config`).
Output follows decK (``creating plugin file-log (global)``, then a
``Summary:`` block); values of substituted ``DECK_`` variables are masked.

The Admin API address is ``--admin-url``, else ``$LOCKGATE_ADMIN_URL``, else
``http://127.0.0.1:8001``. Exit status: 0 on success, 1 on any error
(printed as ``Error: ...`` lines on stderr), 2 on a usage error.

The HTTP client is aiohttp (lockgate is async-only): the ``lockgate``
command runs :func:`run_gateway` with :func:`asyncio.run`; tests await it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TextIO

import orjson

from lockgate.admin.config_check import flat_lines
from lockgate.cli.admin_client import AdminAnswer, AdminClient, AdminUnreachable
from lockgate.cli.deck_files import CheckFailed, DeckFiles, dump_yaml, read_files

__all__ = ["DEFAULT_ADMIN_URL", "add_gateway_commands", "main_gateway", "run_gateway"]

DEFAULT_ADMIN_URL = "http://127.0.0.1:8001"
_VERBS = {"create": "creating", "update": "updating", "delete": "deleting"}
_HELP = {
    "apply": "create or update the entities the files name; delete nothing",
    "sync": "make the gateway's configuration equal to the files",
    "diff": "show what sync would change",
    "dump": "write the gateway's configuration as a decK file",
    "validate": "check files without contacting the gateway",
}


@dataclass
class Console:
    stdin: TextIO
    stdout: TextIO
    stderr: TextIO
    env: Mapping[str, str]


def add_gateway_commands(subparsers: Any) -> None:
    """Register ``gateway`` and its subcommands on an argparse subparsers
    object; each sets ``func(args) -> int``."""
    gateway = subparsers.add_parser(
        "gateway",
        help="manage the gateway's configuration with decK files",
        description="decK's commands: apply, sync, diff, dump and validate decK files.",
    )
    commands = gateway.add_subparsers(dest="gateway_command", metavar="COMMAND", required=True)
    for name, text in _HELP.items():
        parser = commands.add_parser(name, help=text, description=text)
        if name != "dump":
            parser.add_argument(
                "files",
                nargs="*",
                metavar="FILE",
                help="decK files (YAML or JSON); - is stdin (default)",
            )
        if name != "validate":
            parser.add_argument(
                "--admin-url",
                default=None,
                help=f"the Admin API (default: $LOCKGATE_ADMIN_URL or {DEFAULT_ADMIN_URL})",
            )
        if name == "dump":
            parser.add_argument(
                "-o", "--output-file", default="-", help="file to write; - is stdout (default)"
            )
            parser.add_argument(
                "--format",
                choices=("yaml", "json"),
                default="yaml",
                help="output format (default: yaml)",
            )
        parser.set_defaults(func=_run_parsed)


def _run_parsed(args: argparse.Namespace) -> int:
    console = Console(sys.stdin, sys.stdout, sys.stderr, os.environ)
    return asyncio.run(execute(args, console))


async def run_gateway(
    argv: list[str],
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    """Run ``lockgate gateway <argv>`` (e.g. ``["apply", "-"]``) in the current loop."""
    parser = argparse.ArgumentParser(prog="lockgate")
    add_gateway_commands(parser.add_subparsers(dest="command"))
    console = Console(
        stdin or sys.stdin,
        stdout or sys.stdout,
        stderr or sys.stderr,
        os.environ if env is None else env,
    )
    try:
        args = parser.parse_args(["gateway", *argv])
    except SystemExit as exc:
        return int(exc.code or 0)
    return await execute(args, console)


def main_gateway(argv: list[str]) -> int:
    """``lockgate gateway <argv>`` as a blocking call; returns the exit status."""
    return asyncio.run(run_gateway(argv))


async def execute(args: argparse.Namespace, console: Console) -> int:
    command = args.gateway_command
    try:
        if command == "dump":
            await _dump(args, console)
            return 0
        files = read_files(args.files or ["-"], console.stdin, console.env)
        for line in files.warnings():
            print(f"Warning: {line}", file=console.stderr)
        if command == "validate":
            files.check(mode="validate")
            return 0
        mode = "apply" if command == "apply" else "sync"
        files.check(mode=mode)
        answer = await _send(files, _admin_url(args, console), mode=mode, dry_run=command == "diff")
        _print_changes(answer.body.get("changes", []), files, console.stdout)
        return 0
    except CheckFailed as exc:
        for line in exc.lines:
            print(f"Error: {line}", file=console.stderr)
    except AdminUnreachable as exc:
        print(f"Error: {exc}", file=console.stderr)
    return 1


def _admin_url(args: argparse.Namespace, console: Console) -> str:
    return str(args.admin_url or console.env.get("LOCKGATE_ADMIN_URL") or DEFAULT_ADMIN_URL)


def _answer_error(answer: AdminAnswer, files: DeckFiles | None) -> CheckFailed:
    body = answer.body if isinstance(answer.body, dict) else {}
    fields = body.get("fields")
    if body.get("code") == 14 and isinstance(fields, dict) and fields:
        mapped = {(files.origin(path) if files else path): value for path, value in fields.items()}
        return CheckFailed(flat_lines(mapped))
    return CheckFailed([f"the Admin API answered {answer.status}: {answer.message()}"])


async def _send(files: DeckFiles, url: str, *, mode: str, dry_run: bool) -> AdminAnswer:
    params = {"mode": mode}
    if dry_run:
        params["dry_run"] = "true"
    async with AdminClient(url) as client:
        answer = await client.request("POST", "/config", params=params, json=files.document)
    if not answer.ok or not isinstance(answer.body, dict):
        raise _answer_error(answer, files)
    return answer


def _shown(value: Any, files: DeckFiles) -> str:
    return files.mask(orjson.dumps(value).decode())


def _print_changes(changes: list[dict[str, Any]], files: DeckFiles, out: TextIO) -> None:
    for change in changes:
        print(
            f"{_VERBS.get(change['action'], change['action'])} {change['type']} {change['label']}",
            file=out,
        )
        for diff in change.get("fields", []):
            if diff.get("old") is not None:
                print(f"  - {diff['field']}: {_shown(diff['old'], files)}", file=out)
            if diff.get("new") is not None:
                print(f"  + {diff['field']}: {_shown(diff['new'], files)}", file=out)
    counts = Counter(change["action"] for change in changes)
    print("Summary:", file=out)
    print(f"  Created: {counts['create']}", file=out)
    print(f"  Updated: {counts['update']}", file=out)
    print(f"  Deleted: {counts['delete']}", file=out)


async def _dump(args: argparse.Namespace, console: Console) -> None:
    async with AdminClient(_admin_url(args, console)) as client:
        answer = await client.request("GET", "/config")
    if (
        not answer.ok
        or not isinstance(answer.body, dict)
        or not isinstance(answer.body.get("config"), dict)
    ):
        raise _answer_error(answer, None)
    document = answer.body["config"]
    if args.format == "json":
        text = orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n"
    else:
        text = dump_yaml(document)
    if args.output_file == "-":
        console.stdout.write(text)
        return
    try:
        with open(args.output_file, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise CheckFailed([f"writing file {args.output_file}: {exc.strerror or exc}"]) from exc
