"""YAML read the way decK reads it: the YAML 1.2 core schema.

PyYAML implements YAML 1.1, where ``2023-06-01`` is a date and ``yes``/``on``
are booleans. decK (Go, YAML 1.2) keeps them as strings, and the tutorials
depend on it: their ``echo '...'`` strips the quotes around
``anthropic_version: '2023-06-01'``.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

__all__ = ["CoreLoader", "load_yaml"]


class CoreLoader(yaml.SafeLoader):
    """SafeLoader with only the YAML 1.2 core schema's implicit types."""


CoreLoader.yaml_implicit_resolvers = {}
CoreLoader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
CoreLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
CoreLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"),
)
CoreLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def _construct_int(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    value = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    if value.startswith("0o"):
        return int(value[2:], 8)
    if value.startswith("0x"):
        return int(value[2:], 16)
    return int(value)


CoreLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=CoreLoader)
