"""Configuration errors, shaped so that the Admin API and the CLI can both
report exactly which field is wrong.

``fields`` follows Kong's nesting (``{"config": {"model": {"provider": "..."}}}``);
:meth:`ConfigError.flat` gives the dotted form the CLI prints
(``plugins[0].config.model.provider: expected one of ...``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["ConfigError", "ForeignKeyError", "NotFoundError", "SchemaError", "UniqueError"]


class ConfigError(Exception):
    """Base class. ``code`` and ``name`` are Kong's error code and name."""

    code = 2
    name = "schema violation"

    def __init__(self, message: str, fields: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields: dict[str, Any] = fields or {}

    def flat(self, prefix: str = "") -> list[str]:
        """Dotted ``path: message`` lines, one per failing field."""
        out: list[str] = []

        def walk(node: Any, path: str) -> None:
            if isinstance(node, dict):
                for key, value in node.items():
                    sub = (
                        f"{path}[{key}]"
                        if isinstance(key, int)
                        else (f"{path}.{key}" if path else str(key))
                    )
                    walk(value, sub)
            elif isinstance(node, list):
                for item in node:
                    walk(item, path)
            else:
                out.append(f"{path}: {node}" if path else str(node))

        walk(self.fields, prefix)
        return out or ([f"{prefix}: {self.message}"] if prefix else [self.message])

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "name": self.name, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        return body


class SchemaError(ConfigError):
    code = 2
    name = "schema violation"


class UniqueError(ConfigError):
    code = 5
    name = "unique constraint violation"


class ForeignKeyError(ConfigError):
    code = 4
    name = "foreign key violation"


class NotFoundError(ConfigError):
    code = 6
    name = "not found"
