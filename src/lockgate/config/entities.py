"""Kong's core entities: services, routes, plugins, consumers, key-auth keys.

Entities are stored and served as plain dicts holding every field (``None``
where unset), exactly as Kong's Admin API answers them. The pydantic models
here only validate and fill defaults; :func:`validate_entity` turns their
errors into Kong's nested ``fields`` form.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lockgate.config.errors import SchemaError

__all__ = [
    "ENTITY_KINDS",
    "Consumer",
    "KeyAuthCredential",
    "Plugin",
    "Route",
    "Service",
    "is_uuid",
    "new_id",
    "now",
    "pydantic_fields",
    "validate_entity",
]

NAME_RE = re.compile(r"^[A-Za-z0-9.\-_~]+$")
UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
HTTP_METHOD_RE = re.compile(r"^[A-Z]+$")


def new_id() -> str:
    return str(uuid.uuid4())


def now() -> int:
    return int(time.time())


def is_uuid(value: str) -> bool:
    return bool(UUID_RE.match(value))


class Ref(BaseModel):
    """A foreign key: ``{"id": ...}`` (``name`` accepted on input, resolved by the state)."""

    model_config = ConfigDict(extra="forbid")
    id: str | None = None
    name: str | None = None
    username: str | None = None


class _Entity(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)

    @model_validator(mode="before")
    @classmethod
    def _string_refs(cls, data: Any) -> Any:
        # decK lets a reference be a bare name or id: ``service: example-service``.
        if isinstance(data, dict) and any(
            isinstance(data.get(f), str) for f in ("service", "route", "consumer", "consumer_group")
        ):
            data = dict(data)
            for f in ("service", "route", "consumer", "consumer_group"):
                value = data.get(f)
                if isinstance(value, str):
                    key = "id" if is_uuid(value) else ("username" if f == "consumer" else "name")
                    data[f] = {key: value}
        return data

    id: str | None = None
    tags: list[str] | None = None
    created_at: int | None = None
    updated_at: int | None = None

    @field_validator("id")
    @classmethod
    def _uuid(cls, v: str | None) -> str | None:
        if v is not None and not is_uuid(v):
            raise ValueError("expected a valid UUID")
        return v

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: list[str] | None) -> list[str] | None:
        if v is not None:
            for tag in v:
                if not tag or "," in tag or "/" in tag:
                    raise ValueError("invalid tag: tags cannot be empty or contain ',' or '/'")
        return v


def _check_name(v: str | None) -> str | None:
    if v is not None and not NAME_RE.match(v):
        raise ValueError(
            "invalid value '" + v + "': the only accepted ascii characters are "
            "alphanumerics or ., -, _, and ~"
        )
    return v


class Service(_Entity):
    name: str | None = None
    protocol: Literal[
        "http", "https", "grpc", "grpcs", "tcp", "tls", "tls_passthrough", "udp", "ws", "wss"
    ] = "http"
    host: str | None = None
    port: int = Field(80, ge=0, le=65535)
    path: str | None = None
    retries: int = Field(5, ge=0, le=32767)
    connect_timeout: int = Field(60000, ge=1, le=2147483646)
    write_timeout: int = Field(60000, ge=1, le=2147483646)
    read_timeout: int = Field(60000, ge=1, le=2147483646)
    enabled: bool = True
    tls_verify: bool | None = None
    tls_verify_depth: int | None = None
    ca_certificates: list[str] | None = None
    client_certificate: Ref | None = None
    url: str | None = Field(None, exclude=True)

    _name = field_validator("name")(classmethod(lambda cls, v: _check_name(v)))

    @field_validator("path")
    @classmethod
    def _path(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith("/"):
            raise ValueError("should start with: /")
        return v

    @model_validator(mode="before")
    @classmethod
    def _expand_url(cls, data: Any) -> Any:
        # A url that is not a string is left to the field's own check ("a valid string").
        if isinstance(data, dict) and isinstance(data.get("url"), str) and data["url"]:
            url = data["url"]
            if not isinstance(url, str):
                raise ValueError("url: expected a string")
            parts = urlsplit(url)
            if not parts.scheme or not parts.hostname:
                raise ValueError(f"url: invalid url '{url}'")
            data = dict(data)
            data["protocol"] = parts.scheme
            data["host"] = parts.hostname
            data["port"] = parts.port or (
                443 if parts.scheme in ("https", "grpcs", "wss", "tls") else 80
            )
            data["path"] = parts.path or None
        return data

    @model_validator(mode="after")
    def _need_host(self) -> Service:
        if not self.host:
            raise ValueError("host: required field missing")
        return self


class Route(_Entity):
    name: str | None = None
    protocols: list[
        Literal[
            "http", "https", "grpc", "grpcs", "tcp", "tls", "udp", "ws", "wss", "tls_passthrough"
        ]
    ] = ["http", "https"]
    methods: list[str] | None = None
    hosts: list[str] | None = None
    paths: list[str] | None = None
    headers: dict[str, list[str]] | None = None
    https_redirect_status_code: Literal[301, 302, 307, 308, 426] = 426
    regex_priority: int = 0
    strip_path: bool = True
    path_handling: Literal["v0", "v1"] = "v0"
    preserve_host: bool = False
    request_buffering: bool = True
    response_buffering: bool = True
    snis: list[str] | None = None
    sources: list[dict[str, Any]] | None = None
    destinations: list[dict[str, Any]] | None = None
    service: Ref | None = None

    _name = field_validator("name")(classmethod(lambda cls, v: _check_name(v)))

    @field_validator("methods")
    @classmethod
    def _methods(cls, v: list[str] | None) -> list[str] | None:
        if v is not None:
            for m in v:
                if not HTTP_METHOD_RE.match(m):
                    raise ValueError(f"invalid value '{m}': expected an uppercase HTTP method")
        return v

    @field_validator("headers", mode="before")
    @classmethod
    def _headers(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {k: ([x] if isinstance(x, str) else x) for k, x in v.items()}
        return v

    @field_validator("paths")
    @classmethod
    def _paths(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return v
        for p in v:
            if p.startswith("~"):
                try:
                    re.compile(p[1:])
                except re.error as exc:
                    raise ValueError(f"invalid regex: '{p[1:]}' ({exc})") from exc
            elif not p.startswith("/"):
                raise ValueError(
                    f"invalid path: '{p}' (should start with: / (fixed path) or ~/ (regex path))"
                )
        return v

    @model_validator(mode="after")
    def _need_matcher(self) -> Route:
        http = {"http", "https"} & set(self.protocols)
        if http and not (self.methods or self.hosts or self.paths or self.headers or self.snis):
            raise ValueError(
                "must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'http' or 'https'"
            )
        return self


class Plugin(_Entity):
    name: str
    instance_name: str | None = None
    config: dict[str, Any] | None = None
    enabled: bool = True
    protocols: list[
        Literal[
            "grpc", "grpcs", "http", "https", "tcp", "tls", "udp", "ws", "wss", "tls_passthrough"
        ]
    ] = ["grpc", "grpcs", "http", "https"]
    route: Ref | None = None
    service: Ref | None = None
    consumer: Ref | None = None
    consumer_group: Ref | None = None

    _instance = field_validator("instance_name")(classmethod(lambda cls, v: _check_name(v)))


class Consumer(_Entity):
    username: str | None = None
    custom_id: str | None = None

    @model_validator(mode="after")
    def _need_one(self) -> Consumer:
        if not self.username and not self.custom_id:
            raise ValueError(
                "at least one of these fields must be non-empty: 'custom_id', 'username'"
            )
        return self


class ConsumerGroup(_Entity):
    name: str

    _name = field_validator("name")(classmethod(lambda cls, v: _check_name(v)))


class ConsumerGroupConsumer(_Entity):
    """A consumer's membership of a group (Kong's ``consumer_group_consumers``)."""

    consumer_group: Ref
    consumer: Ref


class KeyAuthCredential(_Entity):
    key: str | None = None
    ttl: int | None = None
    consumer: Ref | None = None


ENTITY_KINDS: dict[str, type[_Entity]] = {
    "services": Service,
    "routes": Route,
    "plugins": Plugin,
    "consumers": Consumer,
    "consumer_groups": ConsumerGroup,
    "consumer_group_consumers": ConsumerGroupConsumer,
    "keyauth_credentials": KeyAuthCredential,
}


def pydantic_fields(exc: ValidationError) -> dict[str, Any]:
    """Pydantic errors -> Kong's nested ``fields`` dict."""
    fields: dict[str, Any] = {}
    for err in exc.errors():
        loc = [
            p
            for p in err["loc"]
            if not (isinstance(p, str) and p.startswith(("function-", "literal[")))
        ]
        msg = str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        elif err["type"] == "missing":
            msg = "required field missing"
        elif err["type"] == "literal_error":
            msg = "expected one of: " + str(err.get("ctx", {}).get("expected", "")).replace("'", "")
        if ":" in msg and msg.split(":", 1)[0].isidentifier():
            # model-level validators name their field as "field: message"
            key, msg = msg.split(":", 1)
            loc = [*loc, key]
            msg = msg.strip()
        node: dict[Any, Any] = fields
        if not loc:
            fields.setdefault("@entity", []).append(msg)
            continue
        for part in loc[:-1]:
            node = node.setdefault(part, {}) if isinstance(node.get(part, {}), dict) else node
        node[loc[-1]] = msg
    return fields


def validate_entity(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """Validate one entity and return it with every field present (defaults filled)."""
    model = ENTITY_KINDS[kind]
    try:
        obj = model.model_validate(data)
    except ValidationError as exc:
        fields = pydantic_fields(exc)
        count = sum(1 for _ in ConfigErrorCounter(fields))
        noun = "error" if count == 1 else "errors"
        detail = ", ".join(SchemaError("", fields).flat())
        raise SchemaError(
            f"schema violation ({detail})" if count else f"{count} schema {noun}", fields
        ) from exc
    out = obj.model_dump(exclude={"url"})
    for ref in ("service", "route", "consumer", "consumer_group", "client_certificate"):
        if isinstance(out.get(ref), dict):
            out[ref] = (
                {"id": out[ref]["id"]}
                if out[ref].get("id")
                else {k: v for k, v in out[ref].items() if v is not None}
            )
    return out


class ConfigErrorCounter:
    """Iterates over the leaf messages of a nested ``fields`` dict."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.fields = fields

    def __iter__(self):  # type: ignore[no-untyped-def]
        stack: list[Any] = [self.fields]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
            else:
                yield node
