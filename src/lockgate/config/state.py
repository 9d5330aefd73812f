"""The whole gateway configuration as one value.

:class:`GatewayState` holds every entity as a Kong-shaped dict, keyed by id,
and enforces Kong's constraints (unique names, keys and plugin scopes;
foreign keys). Every change works on a copy and is swapped in only when the
whole change is valid, which is what makes ``sync`` and ``POST /config``
all-or-nothing. The state serialises to one JSON document: the store keeps
it as one row per version, and workers load it whole, so a worker never sees
half of a change.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import orjson

from lockgate.config.entities import is_uuid, new_id, now, validate_entity
from lockgate.config.errors import (
    ConfigError,
    ForeignKeyError,
    NotFoundError,
    SchemaError,
    UniqueError,
)
from lockgate.config.plugin_schema import PluginSchemas, validate_plugin_config
from lockgate.config.secrets import MASK, is_secret_field

__all__ = ["KINDS", "GatewayState"]

#: Kinds in dependency order (referenced kinds first).
KINDS = (
    "services",
    "routes",
    "consumers",
    "consumer_groups",
    "consumer_group_consumers",
    "plugins",
    "keyauth_credentials",
)

_UNIQUE: dict[str, tuple[str, ...]] = {
    "services": ("name",),
    "routes": ("name",),
    "consumers": ("username", "custom_id"),
    "keyauth_credentials": ("key",),
    "plugins": ("instance_name",),
    "consumer_groups": ("name",),
}
_NAME_FIELD = {
    "services": "name",
    "routes": "name",
    "consumers": "username",
    "consumer_groups": "name",
}
_REFS: dict[str, tuple[tuple[str, str], ...]] = {
    "routes": (("service", "services"),),
    "plugins": (
        ("service", "services"),
        ("route", "routes"),
        ("consumer", "consumers"),
        ("consumer_group", "consumer_groups"),
    ),
    "keyauth_credentials": (("consumer", "consumers"),),
    "consumer_group_consumers": (("consumer_group", "consumer_groups"), ("consumer", "consumers")),
}
#: What dies with an entity (Kong's cascades): (child kind, its reference field).
_CASCADES: dict[str, tuple[tuple[str, str], ...]] = {
    "services": (("plugins", "service"),),
    "routes": (("plugins", "route"),),
    "consumers": (
        ("plugins", "consumer"),
        ("keyauth_credentials", "consumer"),
        ("consumer_group_consumers", "consumer"),
    ),
    "consumer_groups": (
        ("plugins", "consumer_group"),
        ("consumer_group_consumers", "consumer_group"),
    ),
}


class GatewayState:
    """``plugins`` are the plugin registry's schemas; a state that is only read
    (a worker's) needs none, one that takes new plugin entities must have them."""

    def __init__(
        self,
        entities: dict[str, dict[str, dict[str, Any]]] | None = None,
        *,
        plugins: PluginSchemas | None = None,
    ) -> None:
        self.plugins = plugins
        self.entities: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in KINDS}
        if entities:
            for kind in KINDS:
                self.entities[kind] = dict(entities.get(kind, {}))

    # -- serialisation -------------------------------------------------------

    def to_json(self) -> bytes:
        return orjson.dumps({k: list(v.values()) for k, v in self.entities.items()})

    @classmethod
    def from_json(cls, raw: bytes, *, plugins: PluginSchemas | None = None) -> GatewayState:
        data = orjson.loads(raw)
        return cls({k: {e["id"]: e for e in data.get(k, [])} for k in KINDS}, plugins=plugins)

    def copy(self) -> GatewayState:
        return GatewayState(copy.deepcopy(self.entities), plugins=self.plugins)

    # -- lookup --------------------------------------------------------------

    def all(self, kind: str) -> list[dict[str, Any]]:
        return sorted(
            self.entities[kind].values(), key=lambda e: (e.get("created_at") or 0, e["id"])
        )

    def find(self, kind: str, id_or_name: str) -> dict[str, Any] | None:
        found = self.entities[kind].get(id_or_name)
        if found is not None:
            return found
        field = _NAME_FIELD.get(kind)
        if field:
            for entity in self.entities[kind].values():
                if entity.get(field) == id_or_name:
                    return entity
        if kind == "consumers":
            for entity in self.entities[kind].values():
                if entity.get("custom_id") == id_or_name:
                    return entity
        return None

    def get(self, kind: str, id_or_name: str) -> dict[str, Any]:
        found = self.find(kind, id_or_name)
        if found is None:
            raise NotFoundError("Not found")
        return found

    def iter_refs(self, kind: str, ref_field: str, ref_id: str) -> Iterator[dict[str, Any]]:
        for entity in self.entities[kind].values():
            ref = entity.get(ref_field)
            if ref and ref.get("id") == ref_id:
                yield entity

    # -- changes ---------------------------------------------------------------

    def _resolve_refs(self, kind: str, entity: dict[str, Any]) -> None:
        for field, target in _REFS.get(kind, ()):
            ref = entity.get(field)
            if not ref:
                if field == "consumer_group":
                    # Kong's open-source plugin entity has no such field: shown only when set.
                    entity.pop(field, None)
                else:
                    entity[field] = None
                continue
            key = ref.get("id") or ref.get("name") or ref.get("username")
            found = self.find(target, key) if key else None
            if found is None:
                raise ForeignKeyError(
                    f"the foreign key '{{id=\"{key}\"}}' does not reference an existing '{target[:-1]}' entity.",
                    {
                        field: f"the foreign key '{{id=\"{key}\"}}' does not reference an existing '{target[:-1]}' entity."
                    },
                )
            entity[field] = {"id": found["id"]}

    def _check_unique(self, kind: str, entity: dict[str, Any]) -> None:
        for field in _UNIQUE.get(kind, ()):
            value = entity.get(field)
            if value is None:
                continue
            for other in self.entities[kind].values():
                if other["id"] != entity["id"] and other.get(field) == value:
                    if is_secret_field(field, kind):
                        value = MASK  # a key-auth key is a credential
                    raise UniqueError(
                        f"UNIQUE violation detected on '{{{field}=\"{value}\"}}'",
                        {field: f"UNIQUE violation detected on '{{{field}=\"{value}\"}}'"},
                    )
        if kind == "consumer_group_consumers":
            pair = (entity["consumer_group"]["id"], entity["consumer"]["id"])
            for other in self.entities[kind].values():
                if (
                    other["id"] != entity["id"]
                    and (
                        other["consumer_group"]["id"],
                        other["consumer"]["id"],
                    )
                    == pair
                ):
                    raise UniqueError(
                        "the consumer is already in this consumer group",
                        {"consumer": "already in this consumer group"},
                    )
        if kind == "plugins":
            scope = _plugin_scope(entity)
            for other in self.entities[kind].values():
                if other["id"] != entity["id"] and _plugin_scope(other) == scope:
                    where = (
                        ", ".join(
                            f"{k}={v}"
                            for k, v in zip(
                                ("route", "service", "consumer", "consumer_group"),
                                scope[1:5],
                                strict=True,
                            )
                            if v
                        )
                        or "global"
                    )
                    raise UniqueError(
                        f"UNIQUE violation detected on '{{consumer=null,name=\"{entity['name']}\",route=null,service=null}}'"
                        if where == "global"
                        else f"UNIQUE violation detected on plugin '{entity['name']}' ({where})",
                        {"name": f"a '{entity['name']}' plugin already exists in this scope"},
                    )

    def put(
        self, kind: str, data: dict[str, Any], *, existing: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Validate ``data`` as a whole entity and store it (create or replace)."""
        data = dict(data)
        if existing is not None:
            data["id"] = existing["id"]
        data.pop("created_at", None)
        data.pop("updated_at", None)
        entity = validate_entity(kind, data)
        if kind == "plugins":
            if self.plugins is None:
                raise RuntimeError("this GatewayState was given no plugin schemas")
            entity["config"] = validate_plugin_config(
                self.plugins, entity["name"], entity.get("config"), entity
            )
        if kind == "keyauth_credentials" and not entity.get("key"):
            entity["key"] = new_id().replace("-", "")
        entity["id"] = entity["id"] or new_id()
        stamp = now()
        entity["created_at"] = existing["created_at"] if existing else stamp
        if kind in ("services", "routes", "consumers", "plugins"):
            entity["updated_at"] = stamp
        else:
            entity.pop("updated_at", None)
        if kind == "keyauth_credentials":
            entity.pop("updated_at", None)
        self._resolve_refs(kind, entity)
        self._check_unique(kind, entity)
        self.entities[kind][entity["id"]] = entity
        return entity

    def patch(self, kind: str, id_or_name: str, changes: dict[str, Any]) -> dict[str, Any]:
        current = self.get(kind, id_or_name)
        merged = _merge(current, changes)
        if kind == "services" and "url" in changes:
            for key in ("protocol", "host", "port", "path"):
                merged.pop(key, None)
        return self.put(kind, merged, existing=current)

    def delete(self, kind: str, id_or_name: str) -> None:
        entity = self.find(kind, id_or_name)
        if entity is None:
            return
        if kind == "services" and any(self.iter_refs("routes", "service", entity["id"])):
            raise ForeignKeyError(
                "an existing 'routes' entity references this 'services' entity",
                {"@referenced_by": "routes"},
            )
        del self.entities[kind][entity["id"]]
        # Cascades Kong performs: plugins, credentials and memberships die with their parent.
        for child_kind, field in _CASCADES.get(kind, ()):
            for child in list(self.iter_refs(child_kind, field, entity["id"])):
                del self.entities[child_kind][child["id"]]

    # -- declarative ----------------------------------------------------------

    def apply(self, decl: dict[str, list[dict[str, Any]]], *, sync: bool) -> GatewayState:
        """A new state with the declarative entities applied (``sync``: and
        everything else removed). ``self`` is unchanged; errors raise
        :class:`ConfigError` with the entity's path in the file."""
        new = GatewayState(plugins=self.plugins) if sync else self.copy()
        for kind in KINDS:
            for index, raw in enumerate(decl.get(kind, [])):
                item = dict(raw)
                path = item.pop("_path", f"{kind}[{index}]")
                old = self._match(kind, item, new)
                try:
                    if old is not None:
                        item.setdefault("id", old["id"])
                        if old.get("created_at"):
                            item["created_at"] = old["created_at"]
                    entity = new.put(
                        kind,
                        item,
                        existing=old if old and old["id"] in new.entities[kind] else None,
                    )
                    if old is not None and sync:
                        entity["created_at"] = old.get("created_at", entity["created_at"])
                except ConfigError as exc:
                    exc.fields = {path: exc.fields} if exc.fields else {path: exc.message}
                    raise
        return new

    def _match(self, kind: str, item: dict[str, Any], new: GatewayState) -> dict[str, Any] | None:
        """The existing entity a declarative item stands for (by id, then natural key)."""
        if item.get("id"):
            return self.entities[kind].get(item["id"])
        if kind in _NAME_FIELD:
            key = item.get(_NAME_FIELD[kind]) or (
                item.get("custom_id") if kind == "consumers" else None
            )
            return self.find(kind, key) if key else None
        if kind == "keyauth_credentials":
            return next(
                (e for e in self.entities[kind].values() if e.get("key") == item.get("key")), None
            )
        if kind == "consumer_group_consumers":
            probe = dict(item)
            try:
                new._resolve_refs(kind, probe)
            except ConfigError:
                return None
            return next(
                (
                    e
                    for e in self.entities[kind].values()
                    if self._label_pair(e) == new._label_pair(probe)
                ),
                None,
            )
        if kind == "plugins":
            probe = dict(item)
            try:
                new._resolve_refs("plugins", probe)
            except ConfigError:
                return None
            scope = _plugin_scope(probe)
            # Scope ids in ``new`` may differ from ``self`` for entities a sync recreated: compare by name.
            for entity in self.entities[kind].values():
                if (
                    self._scope_names(entity) == new._scope_names(probe)
                    and entity["name"] == scope[0]
                ):
                    return entity
        return None

    def _label_pair(self, membership: dict[str, Any]) -> tuple[Any, Any]:
        group = self.entities["consumer_groups"].get(membership["consumer_group"]["id"]) or {}
        consumer = self.entities["consumers"].get(membership["consumer"]["id"]) or {}
        return (group.get("name"), consumer.get("username") or consumer.get("custom_id"))

    def groups_of(self, consumer_id: str) -> list[dict[str, Any]]:
        """The consumer groups a consumer belongs to, by name."""
        groups = self.entities["consumer_groups"]
        found = [
            groups[m["consumer_group"]["id"]]
            for m in self.entities["consumer_group_consumers"].values()
            if m["consumer"]["id"] == consumer_id and m["consumer_group"]["id"] in groups
        ]
        return sorted(found, key=lambda g: g["name"])

    def members_of(self, group_id: str) -> list[dict[str, Any]]:
        """The consumers in a consumer group, oldest first."""
        consumers = self.entities["consumers"]
        found = [
            consumers[m["consumer"]["id"]]
            for m in self.entities["consumer_group_consumers"].values()
            if m["consumer_group"]["id"] == group_id and m["consumer"]["id"] in consumers
        ]
        return sorted(found, key=lambda c: (c.get("created_at") or 0, c["id"]))

    def _scope_names(self, plugin: dict[str, Any]) -> tuple[Any, ...]:
        out: list[Any] = [plugin.get("name"), plugin.get("instance_name")]
        for field, target in (
            ("route", "routes"),
            ("service", "services"),
            ("consumer", "consumers"),
            ("consumer_group", "consumer_groups"),
        ):
            ref = plugin.get(field)
            if not ref:
                out.append(None)
                continue
            entity = self.entities[target].get(ref.get("id", "")) if ref.get("id") else None
            out.append((entity or {}).get(_NAME_FIELD[target]) or ref.get("id"))
        return tuple(out)

    def dump(self) -> dict[str, Any]:
        """The configuration as a decK file (``_format_version: "3.0"``)."""
        out: dict[str, Any] = {"_format_version": "3.0"}
        names = {
            kind: {
                e["id"]: e.get(_NAME_FIELD.get(kind, "id")) or e["id"]
                for e in self.entities[kind].values()
            }
            for kind in KINDS
        }
        for kind in KINDS:
            items = []
            for entity in self.all(kind):
                item = {
                    k: v
                    for k, v in entity.items()
                    if v is not None and k not in ("created_at", "updated_at")
                }
                for field, target in _REFS.get(kind, ()):
                    if item.get(field):
                        ref_name = names[target].get(item[field]["id"])
                        item[field] = (
                            {"username" if target == "consumers" else "name": ref_name}
                            if ref_name
                            else item[field]
                        )
                items.append(item)
            if items:
                out[kind] = items
        # decK nests keys and memberships under their consumer.
        consumers = {
            c["username"] if c.get("username") else c.get("custom_id"): c
            for c in out.get("consumers", [])
        }
        for kind, field in (
            ("keyauth_credentials", "keyauth_credentials"),
            ("consumer_group_consumers", "groups"),
        ):
            kept = []
            for item in out.pop(kind, []):
                ref = item.get("consumer") or {}
                owner = consumers.get(ref.get("username"))
                if owner is None:
                    kept.append(item)
                    continue
                nested = {k: v for k, v in item.items() if k != "consumer"}
                if kind == "consumer_group_consumers":
                    nested = nested["consumer_group"]
                owner.setdefault(field, []).append(nested)
            if kept:
                out[kind] = kept
        return out

    def diff(self, other: GatewayState) -> list[dict[str, Any]]:
        """What turns ``self`` into ``other``: a list of ``{action, kind, name, id}``."""
        changes: list[dict[str, Any]] = []
        for kind in KINDS:
            mine, theirs = self.entities[kind], other.entities[kind]
            for eid, entity in theirs.items():
                label = _label(kind, entity)
                if eid not in mine:
                    changes.append({"action": "create", "kind": kind, "id": eid, "name": label})
                elif _comparable(mine[eid]) != _comparable(entity):
                    changes.append({"action": "update", "kind": kind, "id": eid, "name": label})
            for eid, entity in mine.items():
                if eid not in theirs:
                    changes.append(
                        {"action": "delete", "kind": kind, "id": eid, "name": _label(kind, entity)}
                    )
        return changes

    def counts(self) -> dict[str, int]:
        return {k: len(v) for k, v in self.entities.items()}


def _plugin_scope(plugin: dict[str, Any]) -> tuple[Any, ...]:
    return (
        plugin.get("name"),
        (plugin.get("route") or {}).get("id"),
        (plugin.get("service") or {}).get("id"),
        (plugin.get("consumer") or {}).get("id"),
        (plugin.get("consumer_group") or {}).get("id"),
        plugin.get("instance_name"),
    )


def _label(kind: str, entity: dict[str, Any]) -> str:
    return str(
        entity.get(_NAME_FIELD.get(kind, "name"))
        or entity.get("name")
        or entity.get("key", "")[:4] + "..."
        if kind == "keyauth_credentials"
        else entity.get(_NAME_FIELD.get(kind, "name")) or entity.get("name") or entity["id"]
    )


def _comparable(entity: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entity.items() if k not in ("created_at", "updated_at")}


def _merge(base: dict[str, Any], changes: dict[str, Any], *, deep: bool = False) -> dict[str, Any]:
    """PATCH semantics: fields replace, except plugin ``config`` records, which merge deeply."""
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and (deep or key == "config"):
            out[key] = _merge(out[key], value, deep=True)
        else:
            out[key] = value
    return out


def check_identifier(kind: str, id_or_name: str) -> None:
    """Kong's 400 for a path segment that is neither a UUID nor a valid name."""
    if kind == "plugins" and not is_uuid(id_or_name):
        raise SchemaError(
            "schema violation (id: expected a valid UUID)", {"id": "expected a valid UUID"}
        )
