"""Plugin configuration: the base of every plugin's schema, and validation
against the schemas that the plugin registry hands down.

The configuration layer knows no plugin by name: whoever builds a
:class:`~lockgate.config.state.GatewayState` that may hold plugins gives it
the registry's schemas (``lockgate.plugins.registry.plugin_schemas()``), so
the arrows keep pointing down (plugins -> config, never config -> plugins).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from lockgate.config.entities import pydantic_fields
from lockgate.config.errors import SchemaError

__all__ = ["PluginConfig", "PluginSchema", "PluginSchemas", "validate_plugin_config"]


class PluginConfig(BaseModel):
    """Base of every plugin's config schema: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid", validate_default=True)


class PluginSchema(Protocol):
    """What validation needs of a plugin (its handler class satisfies this)."""

    Config: type[PluginConfig]

    def check(self, config: Any) -> list[str]: ...


#: Schemas by plugin name, as the plugin registry hands them down.
PluginSchemas = Mapping[str, PluginSchema]


def validate_plugin_config(
    schemas: PluginSchemas, name: str, config: dict[str, Any] | None
) -> dict[str, Any]:
    """Validate a plugin's config; return it with every default filled in."""
    schema = schemas.get(name)
    if schema is None:
        raise SchemaError(
            f"schema violation (name: plugin '{name}' not enabled; add it to 'plugins' configuration property)",
            {"name": f"plugin '{name}' not enabled; add it to 'plugins' configuration property"},
        )
    try:
        model = schema.Config.model_validate(config or {})
    except ValidationError as exc:
        fields = {"config": pydantic_fields(exc)}
        raise SchemaError(
            "schema violation (" + ", ".join(SchemaError("", fields).flat()) + ")", fields
        ) from exc
    problems = schema.check(model)
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
