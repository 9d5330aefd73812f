"""decK files on the client side: read, substitute, check, merge, write.

``${{ env "DECK_X" }}`` is substituted here, from the user's environment
(the server never sees the placeholders). Several files merge into one
document (top-level lists concatenated in file order) for ``POST /config``;
:meth:`DeckFiles.origin` maps a path in that merged document
(``services[3].routes[0]``) back to the file it came from
(``b.yaml: services[1].routes[0]``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

import yaml

from lockgate.admin.config_check import check_declarative, flat_lines
from lockgate.config.declarative import (
    TOP_LEVEL_KINDS,
    DeclarativeError,
    flatten,
    parse_document,
)
from lockgate.config.errors import ConfigError, ForeignKeyError
from lockgate.config.state import GatewayState
from lockgate.config.yaml_core import CoreLoader
from lockgate.plugins.registry import plugin_class, plugin_schemas

__all__ = ["CheckFailed", "DeckFiles", "deck_env_values", "dump_yaml", "read_files"]

_ENV_NAME = re.compile(r"\$\{\{\s*env\s+\"(DECK_[^\"]*)\"\s*\}\}")
_MERGED_PATH = re.compile(r"^(services|routes|consumers|plugins)\[(\d+)\]")
#: Values of substituted variables shorter than this are not masked (they
#: would mask unrelated text such as ``true`` or port numbers).
_MASK_MIN = 4


def deck_env_values(env: Mapping[str, str]) -> list[str]:
    """What decK masks in its output: the value of every ``DECK_`` variable
    of the environment, used by the files or not (longest first)."""
    values = {v for k, v in env.items() if k.startswith("DECK_") and len(v) >= _MASK_MIN}
    return sorted(values, key=len, reverse=True)


class CheckFailed(Exception):
    """The files are invalid; ``lines`` name file, entity path and field."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


@dataclass
class DeckFiles:
    decl: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    document: dict[str, Any] = field(default_factory=lambda: {"_format_version": "3.0"})
    origins: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)

    def origin(self, path: str) -> str:
        """A path in the merged document -> the same path in its own file."""
        match = _MERGED_PATH.match(path)
        if not match:
            return path
        kind, index = match.group(1), int(match.group(2))
        sources = self.origins.get(kind, [])
        if index >= len(sources):
            return path
        source, own = sources[index]
        return f"{source}: {kind}[{own}]{path[match.end() :]}"

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[masked]")
        return text

    def warnings(self) -> list[str]:
        """Accepted but worth telling: each plugin's own warnings, with the entity's path."""
        out: list[str] = []
        for item in self.decl.get("plugins", []):
            cls = plugin_class(str(item.get("name")))
            config = item.get("config")
            if cls is None or not isinstance(config, dict):
                continue
            where = item.get("_path", "plugins")
            out.extend(f"{where}.{line}" for line in cls.warnings(config))
        return out

    def check(self, *, mode: str) -> None:
        """Everything that can be checked without the server.

        ``mode`` ``validate`` and ``sync``: references must resolve inside
        the files (decK's ``file validate``; a sync replaces everything);
        ``apply``: references may name entities the gateway already has.
        """
        errors = check_declarative(self.decl, check_refs=mode != "apply")
        if errors:
            raise CheckFailed(flat_lines(errors))
        try:
            GatewayState(plugins=plugin_schemas()).apply(self.decl, sync=True)
        except ForeignKeyError as exc:
            if mode != "apply":
                raise CheckFailed(flat_lines(exc.fields) if exc.fields else [exc.message]) from exc
        except ConfigError as exc:
            raise CheckFailed(flat_lines(exc.fields) if exc.fields else [exc.message]) from exc


def _read(name: str, stdin: TextIO) -> str:
    if name == "-":
        return stdin.read()
    try:
        with open(name, encoding="utf-8") as fh:
            return fh.read()
    except OSError as exc:
        raise CheckFailed([f"reading file {name}: {exc.strerror or exc}"]) from exc


def read_files(names: list[str], stdin: TextIO, env: Mapping[str, str]) -> DeckFiles:
    """Read, substitute and flatten ``names`` (``-`` is stdin); every file's
    errors are reported together."""
    files = DeckFiles()
    errors: list[str] = []
    for name in names:
        text = _read(name, stdin)
        try:
            data = parse_document(text, name, env)
            flat = flatten(data, name)
        except DeclarativeError as exc:
            errors.append(str(exc))
            continue
        for kind, items in flat.items():
            files.decl.setdefault(kind, []).extend(items)
        for key in TOP_LEVEL_KINDS:
            items = data.get(key) or []
            files.document.setdefault(key, []).extend(items)
            files.origins.setdefault(key, []).extend((name, i) for i in range(len(items)))
        for var in _ENV_NAME.findall(text):
            value = env.get(var, "")
            if len(value) >= _MASK_MIN and value not in files.secrets:
                files.secrets.append(value)
    if errors:
        raise CheckFailed(errors)
    files.secrets.sort(key=len, reverse=True)
    return files


# -- writing -------------------------------------------------------------------------


class _DeckDumper(yaml.SafeDumper):
    """Quotes every string that a YAML 1.2 core-schema reader (decK, and
    lockgate's own loader) would read as something else."""


#: Line breaks other than ``\n`` that PyYAML mangles unless they are escaped.
_ESCAPED = ("\r", "\x85", "\u2028", "\u2029")


def _core_resolves(value: str) -> bool:
    resolvers = CoreLoader.yaml_implicit_resolvers.get(value[:1], [])
    return any(regexp.match(value) for _tag, regexp in resolvers)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = None
    if any(c in value for c in _ESCAPED):
        style = '"'
    elif "\n" in value:
        style = "|"
    elif _core_resolves(value):
        style = '"'
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_DeckDumper.add_representer(str, _represent_str)


def dump_yaml(document: dict[str, Any]) -> str:
    text: str = yaml.dump(
        document, Dumper=_DeckDumper, sort_keys=False, allow_unicode=True, default_flow_style=False
    )
    return text
