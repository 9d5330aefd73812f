"""Plugin configuration: the base of every plugin's schema, and validation
against the schemas that the plugin registry hands down.

The configuration layer knows no plugin by name: whoever builds a
:class:`~lockgate.config.state.GatewayState` that may hold plugins gives it
the registry's schemas (``lockgate.plugins.registry.plugin_schemas()``), so
the arrows keep pointing down (plugins -> config, never config -> plugins).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from lockgate.config.entities import pydantic_fields
from lockgate.config.errors import SchemaError

__all__ = [
    "PluginConfig",
    "PluginSchema",
    "PluginSchemas",
    "unknown_plugin_text",
    "validate_plugin_config",
]


class PluginConfig(BaseModel):
    """Base of every plugin's config schema: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid", validate_default=True)


class PluginSchema(Protocol):
    """What validation needs of a plugin (its handler class satisfies this)."""

    Config: type[PluginConfig]

    def check(self, config: Any) -> list[str]: ...

    def check_scope(self, config: Any, entity: Mapping[str, Any]) -> list[str]: ...


#: Schemas by plugin name, as the plugin registry hands them down.
PluginSchemas = Mapping[str, PluginSchema]


def unknown_plugin_text(name: str, known: list[str]) -> str:
    """Names the plugins lockgate has, and the closest one (Kong's advice about
    its ``plugins`` property would not help: lockgate has no such setting)."""
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"plugin '{name}' is not supported by lockgate (supported: {', '.join(known)}){hint}"


def validate_plugin_config(
    schemas: PluginSchemas,
    name: str,
    config: dict[str, Any] | None,
    entity: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Validate a plugin's config (and, given the plugin ``entity``, the config
    against where it is scoped); return it with every default filled in."""
    schema = schemas.get(name)
    if schema is None:
        message = unknown_plugin_text(name, sorted(schemas))
        raise SchemaError(f"schema violation (name: {message})", {"name": message})
    try:
        model = schema.Config.model_validate(config or {})
    except ValidationError as exc:
        fields = {"config": pydantic_fields(exc)}
        raise SchemaError(
            "schema violation (" + ", ".join(SchemaError("", fields).flat()) + ")", fields
        ) from exc
    problems = schema.check(model)
    if entity is not None:
        problems += schema.check_scope(model, entity)
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
