"""The one list of plugins lockgate knows, and config validation against it."""

from __future__ import annotations

import difflib
from functools import cache
from typing import Any

from pydantic import ValidationError

from lockgate.config.entities import pydantic_fields
from lockgate.config.errors import SchemaError
from lockgate.plugins.base import PluginHandler

__all__ = ["plugin_class", "plugin_names", "unknown_plugin_message", "validate_plugin_config"]


@cache
def _classes() -> dict[str, type[PluginHandler]]:
    from lockgate.plugins.ai_proxy.handler import AIProxy
    from lockgate.plugins.ai_proxy_advanced.handler import AIProxyAdvanced
    from lockgate.plugins.file_log.handler import FileLog
    from lockgate.plugins.key_auth.handler import KeyAuth
    from lockgate.plugins.pre_function.handler import PostFunction, PreFunction

    classes: list[type[PluginHandler]] = [
        AIProxy,
        AIProxyAdvanced,
        FileLog,
        KeyAuth,
        PreFunction,
        PostFunction,
    ]
    return {c.name: c for c in classes}


def plugin_names() -> list[str]:
    return sorted(_classes())


def plugin_class(name: str) -> type[PluginHandler] | None:
    return _classes().get(name)


def unknown_plugin_message(name: str) -> str:
    """Names the plugins lockgate has, and the closest one (Kong's advice about
    its ``plugins`` property would not help: lockgate has no such setting)."""
    names = plugin_names()
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"plugin '{name}' is not supported by lockgate (supported: {', '.join(names)}){hint}"


def validate_plugin_config(name: str, config: dict[str, Any] | None) -> dict[str, Any]:
    """Validate a plugin's config; return it with every default filled in."""
    cls = plugin_class(name)
    if cls is None:
        message = unknown_plugin_message(name)
        raise SchemaError(f"schema violation (name: {message})", {"name": message})
    try:
        model = cls.Config.model_validate(config or {})
    except ValidationError as exc:
        fields = {"config": pydantic_fields(exc)}
        raise SchemaError(
            "schema violation (" + ", ".join(SchemaError("", fields).flat()) + ")", fields
        ) from exc
    problems = cls.check(model)
    if problems:
        found: dict[str, Any] = {"config": {}}
        for line in problems:
            path, _, msg = line.partition(": ")
            node = found["config"]
            keys = path.split(".")[1:] if path.startswith("config.") else [path]
            for key in keys[:-1]:
                node = node.setdefault(key, {})
            node[keys[-1]] = msg
        raise SchemaError("schema violation (" + "; ".join(problems) + ")", found)
    return model.model_dump(mode="json")
