"""The one list of plugins lockgate knows.

Lower layers never import this: the configuration layer is handed
:func:`plugin_schemas` to validate with, and the proxy's workers are handed
:func:`plugin_classes` at start-up to build their plugin chains from.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from lockgate.config.plugin_schema import PluginSchemas, unknown_plugin_text, validate_plugin_config
from lockgate.plugins.base import PluginHandler

__all__ = [
    "plugin_class",
    "plugin_classes",
    "plugin_names",
    "plugin_schemas",
    "unknown_plugin_message",
    "validate",
]


@cache
def plugin_classes() -> dict[str, type[PluginHandler]]:
    from lockgate.plugins.ai_proxy.handler import AIProxy
    from lockgate.plugins.ai_proxy_advanced.handler import AIProxyAdvanced
    from lockgate.plugins.ai_rate_limiting_advanced.handler import AIRateLimitingAdvanced
    from lockgate.plugins.file_log.handler import FileLog
    from lockgate.plugins.key_auth.handler import KeyAuth
    from lockgate.plugins.pre_function.handler import PostFunction, PreFunction
    from lockgate.plugins.prometheus.handler import Prometheus
    from lockgate.plugins.rate_limiting.handler import RateLimiting

    classes: list[type[PluginHandler]] = [
        AIProxy,
        AIProxyAdvanced,
        AIRateLimitingAdvanced,
        FileLog,
        KeyAuth,
        PreFunction,
        PostFunction,
        Prometheus,
        RateLimiting,
    ]
    return {c.name: c for c in classes}


def plugin_schemas() -> PluginSchemas:
    """Every plugin's schema, for configuration validation."""
    return plugin_classes()  # a handler class carries its Config and check()


def plugin_names() -> list[str]:
    return sorted(plugin_classes())


def plugin_class(name: str) -> type[PluginHandler] | None:
    return plugin_classes().get(name)


def validate(name: str, config: dict[str, Any] | None) -> dict[str, Any]:
    """One plugin's config, validated, with every default filled in."""
    return validate_plugin_config(plugin_schemas(), name, config)


def unknown_plugin_message(name: str) -> str:
    """Names the plugins lockgate has, and the closest one."""
    return unknown_plugin_text(name, plugin_names())
