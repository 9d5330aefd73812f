"""``lockgate gateway dump --sanitize``: decK's sanitized dump.

decK's ``--sanitize`` obfuscates a configuration while keeping its shape, so
that it can be shared (a bug report) and still be applied to a gateway:

- every string becomes a salted SHA-256 of itself, and the same string
  always the same hash within one dump, so references still resolve
  (``service: {name: <hash>}`` names the service whose name is ``<hash>``);
- numbers, booleans, ids, plugin names, route methods and every field whose
  schema allows a fixed set of values (``protocol``, ``route_type``,
  ``model.provider``, ...) are kept, since the file would not validate
  otherwise;
- strings keep the form their field needs: ``/redacted/path/<hash>`` for a
  path, ``email@<hash>.redacted`` for an address, ``redacted:<hash>`` for
  ``key:value`` text, ``scheme://<hash>.redacted/`` for a URL.

lockgate adds what its own validation needs: a service-account JSON stays a
service-account JSON (its values hashed, its private key replaced by a new
throwaway key), other PEM blocks keep their armour, and a pre-function
snippet becomes a Lua comment.
"""

from __future__ import annotations

import hashlib
import json
import re
import typing
import uuid
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel

from lockgate.config.entities import ENTITY_KINDS

__all__ = ["Sanitizer"]

_EMAIL = re.compile(r"^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}$")
_KEY_VALUE = re.compile(r"^[^:]+:.*$", re.S)
_URL = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")
_PEM = re.compile(r"^-----BEGIN ([A-Z ]+)-----")
_ALWAYS_KEPT = frozenset({"id", "_format_version"})
_KEPT_BY_KIND = {"plugins": frozenset({"name"}), "routes": frozenset({"methods"})}
_LUA_PLUGINS = ("pre-function", "post-function")
_JSON_FIELDS = frozenset({"gcp_service_account_json"})


def _has_literal(annotation: Any) -> bool:
    if typing.get_origin(annotation) is Literal:
        return True
    return any(_has_literal(arg) for arg in typing.get_args(annotation))


def _models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    out: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        out.extend(_models(arg))
    return out


def _enum_fields(model: type[BaseModel], seen: set[type[BaseModel]] | None = None) -> set[str]:
    """Names of the fields (at any depth) whose values come from a fixed set."""
    seen = set() if seen is None else seen
    if model in seen:
        return set()
    seen.add(model)
    names: set[str] = set()
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if annotation is None:
            continue
        if _has_literal(annotation):
            names.add(name)
        for sub in _models(annotation):
            names |= _enum_fields(sub, seen)
    return names


@cache
def _entity_kept(kind: str) -> frozenset[str]:
    """Top-level fields of an entity kept as they are."""
    names = set(_ALWAYS_KEPT) | _KEPT_BY_KIND.get(kind, frozenset())
    model = ENTITY_KINDS.get(kind)
    if model is not None:
        names |= _enum_fields(model)
    return frozenset(names)


@cache
def _config_kept(plugin: str) -> frozenset[str]:
    """Fields of a plugin's config (at any depth) kept as they are."""
    from lockgate.plugins.registry import plugin_class

    names = set(_ALWAYS_KEPT)
    cls = plugin_class(plugin)
    if cls is not None:
        names |= _enum_fields(cls.Config)
        # The provider decides which fields the rest of the config needs.
        names.add("provider")
    return frozenset(names)


_PRIVATE_KEYS = ("PRIVATE KEY", "RSA PRIVATE KEY")


def _throwaway_private_key() -> str:
    """A new key that signs nothing anyone trusts: the file stays valid (a
    service account must hold a loadable key) and reveals nothing."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


class Sanitizer:
    def __init__(self, salt: str | None = None) -> None:
        self.salt = salt if salt is not None else str(uuid.uuid4())
        self._seen: dict[str, str] = {}

    def _hash(self, value: str) -> str:
        return hashlib.sha256((self.salt + value).encode()).hexdigest()

    def value(self, value: str) -> str:
        """One string, as decK sanitizes it."""
        if value == "" or value.startswith("{vault://"):
            return value
        if value in self._seen:
            return self._seen[value]
        digest = self._hash(value)
        pem = _PEM.match(value)
        url = _URL.match(value)
        if pem and pem.group(1) in _PRIVATE_KEYS:
            out = _throwaway_private_key()
        elif pem:
            label = pem.group(1)
            out = f"-----BEGIN {label}-----\n{digest}\n-----END {label}-----\n"
        elif url:
            out = f"{url.group(1)}://{digest[:16]}.redacted/{digest}"
        elif _EMAIL.match(value):
            out = f"email@{digest}.redacted"
        elif _KEY_VALUE.match(value):
            out = f"redacted:{digest}"
        elif value.startswith(("/", "~/")):
            out = f"/redacted/path/{digest}"
        elif "/" in value:
            out = f"redacted/{digest}"
        else:
            out = digest
        self._seen[value] = out
        return out

    def _json_text(self, value: str) -> str:
        try:
            data = json.loads(value)
        except ValueError:
            return self.value(value)
        if not isinstance(data, dict):
            return self.value(value)
        return json.dumps(self._walk(data, frozenset({"type"}), None))

    def _walk(self, node: Any, kept: frozenset[str], plugin: str | None) -> Any:
        if isinstance(node, str):
            return self.value(node)
        if isinstance(node, list):
            return [self._walk(item, kept, plugin) for item in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in kept:
                out[key] = value
            elif key in _JSON_FIELDS and isinstance(value, str):
                out[key] = self._json_text(value)
            elif plugin in _LUA_PLUGINS and isinstance(value, list):
                out[key] = [
                    f"-- redacted:{self._hash(v)}" if isinstance(v, str) else v for v in value
                ]
            else:
                out[key] = self._walk(value, kept, plugin)
        return out

    def document(self, document: dict[str, Any]) -> dict[str, Any]:
        """A sanitized copy of a decK document as ``GET /config`` answers it."""
        out: dict[str, Any] = {}
        for kind, items in document.items():
            if kind.startswith("_") or not isinstance(items, list):
                out[kind] = items
                continue
            entities = []
            for entity in items:
                if not isinstance(entity, dict):
                    entities.append(entity)
                    continue
                plugin = str(entity.get("name")) if kind == "plugins" else None
                kept = _entity_kept(kind)
                sanitized: dict[str, Any] = {}
                for key, value in entity.items():
                    if key in kept:
                        sanitized[key] = value
                    elif key == "config" and plugin is not None:
                        sanitized[key] = self._walk(value, _config_kept(plugin), plugin)
                    else:
                        sanitized[key] = self._walk(value, _ALWAYS_KEPT, None)
                entities.append(sanitized)
            out[kind] = entities
        return out
