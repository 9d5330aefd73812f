"""What a declarative change does, described the way decK prints it.

Each change is ``{"action": "create"|"update"|"delete", "kind", "type", "id",
"name", "label"}`` (``type`` and ``label`` as decK prints them:
``plugin ai-proxy (global)``, ``plugin key-auth for service s1 and route
r1``); an update also lists its changed leaves as ``fields``:
``[{"field": "config.model.name", "old": ..., "new": ...}]``. Lists of
records are compared item by item (``config.targets[1].model.name``), so a
changed target never prints the whole list; a credential field is shown as
``[masked]`` on both sides (:mod:`lockgate.config.secrets`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lockgate.admin.config_check import ENTITY_TYPES
from lockgate.config.secrets import MASK, is_secret_field, mask_fields
from lockgate.config.state import KINDS, GatewayState

__all__ = ["describe_changes", "entity_label", "keep_unchanged"]

_STAMPS = ("created_at", "updated_at")
_NAMES = {"services": "name", "routes": "name", "consumers": "username", "consumer_groups": "name"}


def _comparable(entity: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entity.items() if k not in _STAMPS}


def keep_unchanged(old: GatewayState, new: GatewayState) -> None:
    """Put ``old``'s dict back into ``new`` for every entity that did not
    change, so that re-applying a file keeps their ``updated_at``."""
    for kind in KINDS:
        mine = old.entities[kind]
        theirs = new.entities[kind]
        for eid, entity in list(theirs.items()):
            if eid in mine and _comparable(mine[eid]) == _comparable(entity):
                theirs[eid] = mine[eid]


def _ref_name(state: GatewayState, kind: str, ref: Any) -> str | None:
    if not isinstance(ref, dict) or not ref.get("id"):
        return None
    entity = state.entities[kind].get(ref["id"])
    if entity is None:
        return str(ref["id"])
    if kind == "consumers":
        return str(entity.get("username") or entity.get("custom_id") or entity["id"])
    if kind == "consumer_group_consumers":
        group = _ref_name(state, "consumer_groups", entity.get("consumer_group"))
        consumer = _ref_name(state, "consumers", entity.get("consumer"))
        return f"{consumer} in {group}"
    return str(entity.get("name") or entity["id"])


def entity_label(state: GatewayState, kind: str, entity: dict[str, Any]) -> str:
    """decK's console name of an entity."""
    if kind == "plugins":
        parts = [
            f"{field} {name}"
            for field, target in (
                ("service", "services"),
                ("route", "routes"),
                ("consumer", "consumers"),
                ("consumer_group", "consumer_groups"),
            )
            if (name := _ref_name(state, target, entity.get(field))) is not None
        ]
        scope = "for " + " and ".join(parts) if parts else "(global)"
        instance = f" ({entity['instance_name']})" if entity.get("instance_name") else ""
        return f"{entity.get('name')}{instance} {scope}"
    if kind == "keyauth_credentials":
        key = str(entity.get("key") or "")
        owner = _ref_name(state, "consumers", entity.get("consumer"))
        return f"{key[:4]}..." + (f" for consumer {owner}" if owner else "")
    if kind == "consumers":
        return str(entity.get("username") or entity.get("custom_id") or entity["id"])
    if kind == "consumer_group_consumers":
        group = _ref_name(state, "consumer_groups", entity.get("consumer_group"))
        consumer = _ref_name(state, "consumers", entity.get("consumer"))
        return f"{consumer} in {group}"
    return str(entity.get(_NAMES.get(kind, "name")) or entity["id"])


def _leaves(node: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict) and node:
        for key, value in node.items():
            yield from _leaves(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(node, list) and node and all(isinstance(item, dict) for item in node):
        for index, item in enumerate(node):
            yield from _leaves(item, f"{prefix}[{index}]")
    else:
        yield prefix, node


def _last_step(field: str) -> str:
    return field.rpartition(".")[2].partition("[")[0]


def _shown(field: str, value: Any, kind: str) -> Any:
    if value is None:
        return None
    if is_secret_field(_last_step(field), kind):
        return MASK
    return mask_fields(value, kind)


def _field_changes(
    before: dict[str, Any], after: dict[str, Any], kind: str
) -> list[dict[str, Any]]:
    old = dict(_leaves(_comparable(before), ""))
    new = dict(_leaves(_comparable(after), ""))
    return [
        {
            "field": field,
            "old": _shown(field, old.get(field), kind),
            "new": _shown(field, new.get(field), kind),
        }
        for field in sorted(old.keys() | new.keys())
        if old.get(field) != new.get(field)
    ]


def describe_changes(old: GatewayState, new: GatewayState) -> list[dict[str, Any]]:
    """The changes that turn ``old`` into ``new``: deletions first, as decK
    orders them (children before parents), then creations and updates."""
    out: list[dict[str, Any]] = []
    for change in old.diff(new):
        kind, eid, action = change["kind"], change["id"], change["action"]
        state = old if action == "delete" else new
        entity = state.entities[kind][eid]
        item = {
            "action": action,
            "kind": kind,
            "type": ENTITY_TYPES[kind],
            "id": eid,
            "name": change.get("name"),
            "label": entity_label(state, kind, entity),
        }
        if action == "update":
            item["fields"] = _field_changes(old.entities[kind][eid], entity, kind)
        out.append(item)
    order = {kind: i for i, kind in enumerate(KINDS)}
    deletes = sorted((c for c in out if c["action"] == "delete"), key=lambda c: -order[c["kind"]])
    return deletes + [c for c in out if c["action"] != "delete"]
