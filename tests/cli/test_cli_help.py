"""Every command-line option says what it does, its default and its
environment variable (issue 15, part 8)."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator

from tests.support.processes import run_lockgate

from lockgate.cli.main import build_parser

#: Options that choose what one run does, not how the gateway is set up: no variable.
PER_RUN = {"--output-file", "--format", "--select-tag", "--since", "--by", "--consumer"}


def commands(
    parser: argparse.ArgumentParser, path: str = "lockgate"
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, f"{path} {name}")


def options(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        yield action


def test_every_option_says_what_it_does_its_default_and_its_variable() -> None:
    parser = build_parser({})
    seen = 0
    for path, command in commands(parser):
        for action in options(command):
            seen += 1
            where = f"{path} {'/'.join(action.option_strings) or action.dest}"
            text = action.help or ""
            what = text.split(" (default: ")[0]
            assert len(what.split()) >= 2, f"{where}: help does not say what it does"
            assert re.search(r"\(default: [^)]+", text), f"{where}: help has no default"
            env = getattr(action, "env_var", None)
            takes_value = action.option_strings and action.nargs != 0
            long = max(action.option_strings, key=len) if action.option_strings else ""
            if takes_value and long not in PER_RUN:
                assert env, f"{where}: a setting without an environment variable"
            if env:
                assert text.endswith(f"; env: {env})"), f"{where}: help does not name {env}"
    assert seen > 20


def test_each_variable_sets_its_option() -> None:
    parser = build_parser({})
    for path, command in commands(parser):
        for action in options(command):
            env = getattr(action, "env_var", None)
            if not env:
                continue
            if action.choices:
                value = str(list(action.choices)[-1])
            elif action.type in (int, float):
                value = "7"
            else:
                value = "from-the-environment"
            with_env = build_parser({env: value})
            args = path.split()[1:]
            # the positional files of a gateway command are optional
            namespace = with_env.parse_args(args)
            expected = action.type(value) if action.type in (int, float) else value
            assert getattr(namespace, action.dest) == expected, f"{path}: {env}"


def test_help_shows_defaults_and_variables_on_the_terminal() -> None:
    run = run_lockgate(["start", "--help"])
    assert run.returncode == 0
    text = " ".join(run.stdout.split())
    assert "(default: 0.0.0.0:8000; env: LOCKGATE_PROXY_LISTEN)" in text
    assert "(default: 127.0.0.1:8001; env: LOCKGATE_ADMIN_LISTEN)" in text
    reset = run_lockgate(["gateway", "reset", "--help"])
    flags = " ".join(reset.stdout.split())
    assert "-f, --force delete without asking for confirmation (default: off)" in flags
