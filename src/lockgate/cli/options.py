"""Command-line options that say what they do, their default and their
environment variable, in one shape: ``what it does (default: X; env: NAME)``.

An option declared with :func:`add_option` and an ``env`` name takes its
default from that variable when it is set and not empty; the action carries
the name as ``env_var`` so that tests can check every option's help.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

__all__ = ["add_flag", "add_option"]


def add_option(
    parser: argparse.ArgumentParser,
    *flags: str,
    help: str,
    default: Any,
    environ: Mapping[str, str],
    env: str | None = None,
    shown_default: str | None = None,
    **kwargs: Any,
) -> argparse.Action:
    """A value-taking option; ``shown_default`` describes a default computed at run time."""
    value = default
    if env is not None and environ.get(env):
        value = environ[env]
    shown = shown_default if shown_default is not None else str(default)
    suffix = f"default: {shown}" + (f"; env: {env}" if env else "")
    action = parser.add_argument(*flags, default=value, help=f"{help} ({suffix})", **kwargs)
    action.env_var = env  # type: ignore[attr-defined]
    return action


def add_flag(parser: argparse.ArgumentParser, *flags: str, help: str) -> argparse.Action:
    """An on/off switch (off by default; no environment variable)."""
    action = parser.add_argument(*flags, action="store_true", help=f"{help} (default: off)")
    action.env_var = None  # type: ignore[attr-defined]
    return action
