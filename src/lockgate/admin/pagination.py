"""List answers: ``size``, ``offset`` and ``tags`` as Kong reads them.

``{"data": [...], "next": "/services?offset=...", "offset": "..."}``; on the
last page ``next`` is null and ``offset`` absent. Entities are listed by
``created_at`` (seconds), then ``id``; the offset token is the base64url of
the last listed entity's ``[created_at, id]``, so a walk neither repeats nor
skips an entity when others are added or removed between pages.

``tags=a,b`` keeps entities carrying every tag, ``tags=a/b`` those carrying
any; a mix is invalid (Kong's own regexes, at most 5 tags).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import orjson

from lockgate.admin.responses import AdminError, invalid_options

__all__ = ["DEFAULT_SIZE", "MAX_SIZE", "page"]

DEFAULT_SIZE = 100
MAX_SIZE = 1000
_TAG_BYTES = r"[\x20-\x2B\x2D\x2E\x30-\x7E\x80-\U0010FFFF]"
_TAGS_AND = re.compile(rf"^(?:{_TAG_BYTES}+(?:,|$))+$")
_TAGS_OR = re.compile(rf"^(?:{_TAG_BYTES}+(?:/|$))+$")


def _size(query: Mapping[str, str]) -> int:
    raw = query.get("size")
    if raw is None:
        return DEFAULT_SIZE
    try:
        size = float(raw)
    except ValueError:
        size = float("nan")
    if size != size:  # NaN: not a number at all
        raise AdminError(
            400, {"code": 9, "name": "invalid size", "message": "size must be a number"}
        )
    if not 1 <= size <= MAX_SIZE or size != int(size):
        raise AdminError(
            400,
            {
                "code": 9,
                "name": "invalid size",
                "message": f"size must be an integer between 1 and {MAX_SIZE}",
            },
        )
    return int(size)


def _offset(query: Mapping[str, str]) -> tuple[int, str] | None:
    raw = query.get("offset")
    if raw is None or raw == "":
        return None

    def bad(why: str) -> AdminError:
        return AdminError(
            400,
            {
                "code": 7,
                "name": "invalid offset",
                "message": f"'{raw}' is not a valid offset: {why}",
            },
        )

    try:
        decoded = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except (binascii.Error, ValueError) as exc:
        raise bad("bad base64 encoding") from exc
    try:
        key = orjson.loads(decoded)
    except orjson.JSONDecodeError as exc:
        raise bad("bad json encoding") from exc
    if not (
        isinstance(key, list)
        and len(key) == 2
        and isinstance(key[0], int)
        and isinstance(key[1], str)
    ):
        raise bad("bad offset")
    return key[0], key[1]


def _encode_offset(entity: dict[str, Any]) -> str:
    raw = orjson.dumps([entity.get("created_at") or 0, entity["id"]])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_tags(query: Mapping[str, str]) -> tuple[str, list[str]] | None:
    raw = query.get("tags")
    if raw is None or raw == "":
        return None
    if _TAGS_AND.match(raw):
        mode, tags = "and", [t for t in raw.split(",") if t]
    elif _TAGS_OR.match(raw):
        mode, tags = "or", [t for t in raw.split("/") if t]
    else:
        raise invalid_options("tags", "invalid filter syntax")
    if len(tags) > 5:
        raise invalid_options("tags", "cannot query more than 5 tags")
    return mode, tags


def _has_tags(entity: dict[str, Any], wanted: tuple[str, list[str]]) -> bool:
    have = set(entity.get("tags") or ())
    mode, tags = wanted
    return all(t in have for t in tags) if mode == "and" else any(t in have for t in tags)


def page(
    entities: list[dict[str, Any]], query: Mapping[str, str], base_path: str
) -> dict[str, Any]:
    """One page of ``entities`` (already in list order) for a list GET.

    ``base_path`` is the listing's path (``/services``); ``next`` repeats it
    with the new offset and the caller's ``size`` and ``tags``.
    """
    size = _size(query)
    after = _offset(query)
    tags = parse_tags(query)
    if tags is not None:
        entities = [e for e in entities if _has_tags(e, tags)]
    if after is not None:
        entities = [e for e in entities if ((e.get("created_at") or 0), e["id"]) > after]
    data = entities[:size]
    body: dict[str, Any] = {"data": data, "next": None}
    if len(entities) > size:
        token = _encode_offset(data[-1])
        extra = "".join(
            f"&{name}={quote(query[name], safe='')}" for name in ("size", "tags") if query.get(name)
        )
        body["offset"] = token
        body["next"] = f"{base_path}?offset={quote(token, safe='')}{extra}"
    return body
