"""What a plugin builds on: its config base and the phase-hook contract.

The contract itself lives with the proxy that runs it (``lockgate.proxy.plugin``)
and the config base with configuration validation
(``lockgate.config.plugin_schema``); plugins import both from here.
"""

from lockgate.config.plugin_schema import PluginConfig
from lockgate.proxy.plugin import PHASES, PluginHandler

__all__ = ["PHASES", "PluginConfig", "PluginHandler"]
