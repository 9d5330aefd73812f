"""``lockgate gateway apply|sync|diff|dump|validate|reset``: decK's commands.

- ``apply [FILE...]``: create or update what the files name, delete nothing.
- ``sync [FILE...]``: make the gateway equal to the files (deletes the rest).
- ``diff [FILE...]``: what ``sync`` would change; changes nothing.
- ``dump [-o FILE] [--format yaml|json] [--sanitize]``: the configuration as
  a decK file, secrets in clear (it is a backup) unless ``--sanitize``.
- ``validate [FILE...]``: check the files offline (never contacts the server)
  and say what was checked.
- ``reset [--force] [--skip-consumers]``: delete every entity; asks first on
  a terminal, and refuses without ``--force`` when stdin is not one.

As with decK's ``gateway`` commands, files default to ``-`` (stdin) and
``dump`` writes to stdout unless ``-o`` names a file. ``${{ env "DECK_X" }}``
is substituted from this process's environment. Before anything is sent, the
files are checked locally with the same validation as the server, so errors
name the file, the entity path and the field
(``-: plugins[0].config.model.provider: expected one of: ...``); the merged
file then goes to the Admin API's ``POST /config`` (``?mode=apply|sync``,
``&dry_run=true`` for ``diff``; see :mod:`lockgate.admin.routes_config`).
Output follows decK (``creating plugin file-log (global)``, then a
``Summary:`` block). Credential fields are masked on both sides of a change
(:mod:`lockgate.config.secrets`), and, as decK does, the value of every
``DECK_`` variable is masked wherever it appears in the output or in an error
(``--no-mask-deck-env-vars-value`` turns that off). After ``apply`` and
``sync``, :mod:`lockgate.cli.config_warnings` checks the resulting
configuration.

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
from dataclasses import dataclass, field
from typing import Any, TextIO

import orjson

from lockgate.admin.config_check import flat_lines
from lockgate.cli.admin_client import AdminAnswer, AdminClient, AdminUnreachable
from lockgate.cli.config_warnings import config_warnings
from lockgate.cli.deck_files import CheckFailed, DeckFiles, deck_env_values, dump_yaml, read_files
from lockgate.cli.options import add_flag, add_option
from lockgate.cli.sanitize import Sanitizer
from lockgate.config.secrets import MASK, is_secret_field, mask_fields, mask_values

__all__ = ["DEFAULT_ADMIN_URL", "add_gateway_commands", "main_gateway", "run_gateway"]

DEFAULT_ADMIN_URL = "http://127.0.0.1:8001"
_VERBS = {"create": "creating", "update": "updating", "delete": "deleting"}
_HELP = {
    "apply": "create or update the entities the files name; delete nothing",
    "sync": "make the gateway's configuration equal to the files",
    "diff": "show what sync would change",
    "dump": "write the gateway's configuration as a decK file",
    "validate": "check files without contacting the gateway",
    "reset": "delete every entity of the gateway (asks first)",
}
_KINDS = ("services", "routes", "consumers", "plugins")


@dataclass
class Console:
    stdin: TextIO
    stdout: TextIO
    stderr: TextIO
    env: Mapping[str, str]
    #: Values masked in everything printed (decK: every DECK_ variable's value).
    secrets: list[str] = field(default_factory=list)

    def mask(self, text: str) -> str:
        masked: str = mask_values(text, self.secrets)
        return masked

    def error(self, line: str) -> None:
        print(f"Error: {self.mask(line)}", file=self.stderr)

    def warning(self, line: str) -> None:
        print(f"Warning: {self.mask(line)}", file=self.stderr)


def add_gateway_commands(subparsers: Any, environ: Mapping[str, str] | None = None) -> None:
    """Register ``gateway`` and its subcommands on an argparse subparsers
    object; each sets ``func(args) -> int``. Defaults come from ``environ``."""
    env = os.environ if environ is None else environ
    gateway = subparsers.add_parser(
        "gateway",
        help="manage the gateway's configuration with decK files",
        description="decK's commands: apply, sync, diff, dump, validate and reset.",
    )
    commands = gateway.add_subparsers(dest="gateway_command", metavar="COMMAND", required=True)
    for name, text in _HELP.items():
        parser = commands.add_parser(name, help=text, description=text)
        if name not in ("dump", "reset"):
            parser.add_argument(
                "files",
                nargs="*",
                metavar="FILE",
                help="decK files (YAML or JSON) to read; - is stdin (default: -)",
            )
        if name != "validate":
            add_option(
                parser,
                "--admin-url",
                help="the Admin API of the gateway to manage",
                default=DEFAULT_ADMIN_URL,
                environ=env,
                env="LOCKGATE_ADMIN_URL",
            )
        if name in ("apply", "sync", "diff", "reset"):
            add_flag(
                parser,
                "--no-mask-deck-env-vars-value",
                help="print the values of DECK_ variables instead of [masked]",
            )
        if name == "dump":
            add_option(
                parser,
                "-o",
                "--output-file",
                help="file to write; - is stdout",
                default="-",
                environ=env,
            )
            add_option(
                parser,
                "--format",
                help="output format",
                choices=("yaml", "json"),
                default="yaml",
                environ=env,
            )
            add_flag(
                parser,
                "--sanitize",
                help="hash every value that could identify or authenticate (names, hosts, "
                "keys, passwords), keeping references and the file's validity, as decK does",
            )
        if name == "reset":
            add_flag(parser, "-f", "--force", help="delete without asking for confirmation")
            add_flag(
                parser,
                "--skip-consumers",
                help="keep consumers, their credentials and their plugins",
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
    environ = os.environ if env is None else env
    parser = argparse.ArgumentParser(prog="lockgate")
    add_gateway_commands(parser.add_subparsers(dest="command"), environ)
    console = Console(stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr, environ)
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
    if not getattr(args, "no_mask_deck_env_vars_value", False):
        console.secrets = deck_env_values(console.env)
    try:
        if command == "dump":
            await _dump(args, console)
            return 0
        if command == "reset":
            return await _reset(args, console)
        files = read_files(args.files or ["-"], console.stdin, console.env)
        for line in files.warnings():
            console.warning(line)
        if command == "validate":
            files.check(mode="validate")
            print(_checked(args.files or ["-"], files), file=console.stdout)
            return 0
        mode = "apply" if command == "apply" else "sync"
        files.check(mode=mode)
        url = args.admin_url
        answer = await _send(files.document, files, url, mode=mode, dry_run=command == "diff")
        _print_changes(answer.body.get("changes", []), console)
        if command != "diff":
            for line in await _state_warnings(url):
                console.warning(line)
        return 0
    except CheckFailed as exc:
        for line in exc.lines:
            console.error(line)
    except AdminUnreachable as exc:
        console.error(str(exc))
    return 1


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _checked(names: list[str], files: DeckFiles) -> str:
    """What a successful ``validate`` checked, in one line."""
    decl = files.decl
    plugins = sorted({str(p.get("name")) for p in decl.get("plugins", [])})
    parts = [
        _plural(len(decl.get("services", [])), "service"),
        _plural(len(decl.get("routes", [])), "route"),
        _plural(len(decl.get("consumers", [])), "consumer"),
        _plural(len(decl.get("plugins", [])), "plugin")
        + (f" ({', '.join(plugins)})" if plugins else ""),
    ]
    return (
        f"{_plural(len(names), 'file')} valid ({', '.join(names)}): {', '.join(parts)}; "
        "schemas, plugin configurations and references checked"
    )


def _answer_error(answer: AdminAnswer, files: DeckFiles | None) -> CheckFailed:
    body = answer.body if isinstance(answer.body, dict) else {}
    fields = body.get("fields")
    if body.get("code") == 14 and isinstance(fields, dict) and fields:
        mapped = {(files.origin(path) if files else path): value for path, value in fields.items()}
        return CheckFailed(flat_lines(mapped))
    return CheckFailed([f"the Admin API answered {answer.status}: {answer.message()}"])


async def _send(
    document: dict[str, Any], files: DeckFiles | None, url: str, *, mode: str, dry_run: bool
) -> AdminAnswer:
    params = {"mode": mode}
    if dry_run:
        params["dry_run"] = "true"
    async with AdminClient(url) as client:
        answer = await client.request("POST", "/config", params=params, json=document)
    if not answer.ok or not isinstance(answer.body, dict):
        raise _answer_error(answer, files)
    return answer


def _shown(path: str, value: Any, console: Console) -> str:
    step = path.rpartition(".")[2].partition("[")[0]
    if is_secret_field(step):
        return orjson.dumps(MASK).decode()
    return orjson.dumps(mask_values(mask_fields(value), console.secrets)).decode()


def _print_changes(changes: list[dict[str, Any]], console: Console) -> None:
    out = console.stdout
    for change in changes:
        verb = _VERBS.get(change["action"], change["action"])
        print(console.mask(f"{verb} {change['type']} {change['label']}"), file=out)
        for diff in change.get("fields", []):
            path = str(diff["field"])
            if diff.get("old") is not None:
                print(f"  - {path}: {_shown(path, diff['old'], console)}", file=out)
            if diff.get("new") is not None:
                print(f"  + {path}: {_shown(path, diff['new'], console)}", file=out)
    counts = Counter(change["action"] for change in changes)
    print("Summary:", file=out)
    print(f"  Created: {counts['create']}", file=out)
    print(f"  Updated: {counts['update']}", file=out)
    print(f"  Deleted: {counts['delete']}", file=out)


async def _current(url: str) -> dict[str, Any]:
    async with AdminClient(url) as client:
        answer = await client.request("GET", "/config")
    if (
        not answer.ok
        or not isinstance(answer.body, dict)
        or not isinstance(answer.body.get("config"), dict)
    ):
        raise _answer_error(answer, None)
    config: dict[str, Any] = answer.body["config"]
    return config


async def _state_warnings(url: str) -> list[str]:
    """Warnings about the gateway's configuration as it now is (none when it
    cannot be read: the change itself succeeded)."""
    try:
        document = await _current(url)
    except (CheckFailed, AdminUnreachable):
        return []
    try:
        async with AdminClient(url) as client:
            info = await client.request("GET", "/")
    except AdminUnreachable:
        return []
    listeners: list[Any] = []
    if isinstance(info.body, dict) and isinstance(info.body.get("configuration"), dict):
        listeners = info.body["configuration"].get("proxy_listeners") or []
    hosts = [str(item.get("ip")) for item in listeners if isinstance(item, dict)]
    return config_warnings(document, hosts)


async def _dump(args: argparse.Namespace, console: Console) -> None:
    document = await _current(args.admin_url)
    if args.sanitize:
        document = Sanitizer().document(document)
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


def _confirmed(console: Console, url: str) -> bool | None:
    """The user's answer on a terminal; None when there is no terminal to ask."""
    isatty = getattr(console.stdin, "isatty", None)
    if not callable(isatty) or not isatty():
        return None
    console.stderr.write(
        f"This will delete all configuration from the gateway at {url}.\n> Are you sure? [y/N] "
    )
    console.stderr.flush()
    return console.stdin.readline().strip().lower() in ("y", "yes")


def _kept_consumers(document: dict[str, Any]) -> dict[str, Any]:
    """What ``reset --skip-consumers`` keeps: consumers with their key-auth
    credentials and the plugins scoped to a consumer alone."""
    consumers = [dict(c) for c in document.get("consumers") or []]
    by_key = {
        str(c.get(k)): c for c in consumers for k in ("username", "id", "custom_id") if c.get(k)
    }
    for cred in document.get("keyauth_credentials") or []:
        ref = cred.get("consumer") or {}
        owner = by_key.get(str(ref.get("username") or ref.get("id")))
        if owner is not None:
            item = {k: v for k, v in cred.items() if k != "consumer"}
            owner.setdefault("keyauth_credentials", []).append(item)
    plugins = [
        p
        for p in document.get("plugins") or []
        if p.get("consumer") and not p.get("route") and not p.get("service")
    ]
    out: dict[str, Any] = {"_format_version": "3.0"}
    if consumers:
        out["consumers"] = consumers
    if plugins:
        out["plugins"] = plugins
    return out


async def _reset(args: argparse.Namespace, console: Console) -> int:
    url = args.admin_url
    if not args.force:
        confirmed = _confirmed(console, url)
        if confirmed is None:
            console.error(
                "reset deletes the whole configuration and stdin is not a terminal to "
                "confirm it: run `lockgate gateway reset --force`"
            )
            return 1
        if not confirmed:
            print("Nothing deleted.", file=console.stdout)
            return 0
    document: dict[str, Any] = {"_format_version": "3.0"}
    if args.skip_consumers:
        document = _kept_consumers(await _current(url))
    answer = await _send(document, None, url, mode="sync", dry_run=False)
    _print_changes(answer.body.get("changes", []), console)
    return 0
