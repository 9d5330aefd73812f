"""Python functions the Lua PDK borrows: base64, digests, regular expressions.

Python's C implementations beat any pure-Lua version under an interpreter-only
LuaJIT. Each function takes and returns ``bytes`` (the Lua state runs with
``encoding=None``), never raises (an exception would reach the snippet as an
opaque error), and is only ever called through a Lua wrapper that checked the
argument types, so the sandbox never holds a Python object.

``ngx.re`` runs on Python's ``re`` over bytes, so offsets are byte offsets as
in OpenResty; PCRE's ``(?<name>...)`` and ``\\k<name>`` are translated, other
PCRE-only syntax is reported as a regex compile error. Like Lua patterns, a
pathological regex can backtrack for a long time inside C, where the
instruction budget cannot interrupt it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import zlib
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

_NAMED_GROUP = re.compile(rb"\(\?<(?![=!])")
_NAMED_BACKREF = re.compile(rb"\\k<(\w+)>")
_FLAGS = {
    ord("i"): re.IGNORECASE,
    ord("m"): re.MULTILINE,
    ord("s"): re.DOTALL,
    ord("x"): re.VERBOSE,
}


def encode_base64(data: bytes, no_padding: bool) -> bytes:
    encoded = base64.b64encode(data)
    return encoded.rstrip(b"=") if no_padding else encoded


def decode_base64(data: bytes) -> bytes | None:
    """ngx.decode_base64: nil on malformed input; padding may be omitted."""
    data = data + b"=" * (-len(data) % 4)
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None


def md5_hex(data: bytes) -> bytes:
    return hashlib.md5(data, usedforsecurity=False).hexdigest().encode()


def md5_bin(data: bytes) -> bytes:
    return hashlib.md5(data, usedforsecurity=False).digest()


def sha1_bin(data: bytes) -> bytes:
    return hashlib.sha1(data, usedforsecurity=False).digest()


def hmac_sha1(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha1).digest()


def crc32(data: bytes) -> int:
    return zlib.crc32(data)


class RegexMatcher:
    """ngx.re's engine: compiled patterns cached per runtime (snippets reuse a few)."""

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._cache: OrderedDict[tuple[bytes, bytes], re.Pattern[bytes] | bytes] = OrderedDict()

    def _compile(self, regex: bytes, options: bytes) -> re.Pattern[bytes] | bytes:
        key = (regex, options)
        pattern = self._cache.get(key)
        if pattern is not None:
            self._cache.move_to_end(key)
            return pattern
        flags = 0
        for option in options:
            flags |= _FLAGS.get(option, 0)
        source = _NAMED_BACKREF.sub(rb"(?P=\1)", _NAMED_GROUP.sub(b"(?P<", regex))
        try:
            pattern = re.compile(source, flags)
        except re.error as exc:
            pattern = f"failed to compile regex: {exc}".encode()
        self._cache[key] = pattern
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return pattern

    def match(self, subject: bytes, regex: bytes, options: bytes, init: int) -> tuple[Any, ...]:
        """(from, to, ngroups, whole, group..., group_from, group_to, ..., name, index, ...);
        (False,) for no match; (None, message) for a bad regex. Positions are
        1-based and inclusive; an unmatched group is False with span (0, -1)."""
        pattern = self._compile(regex, options)
        if isinstance(pattern, bytes):
            return (None, pattern)
        pos = max(init - 1, 0)
        found = pattern.match(subject, pos) if b"a" in options else pattern.search(subject, pos)
        if found is None:
            return (False,)
        groups = [False if g is None else g for g in found.groups()]
        spans = [
            edge for i in range(1, len(groups) + 1) for edge in (found.start(i) + 1, found.end(i))
        ]
        names = [
            item for name, index in pattern.groupindex.items() for item in (name.encode(), index)
        ]
        return (
            found.start() + 1,
            found.end(),
            len(groups),
            found.group(0),
            *groups,
            *spans,
            *names,
        )


def _guarded(fn: Callable[..., Any], on_error: Callable[[Exception], Any]) -> Callable[..., Any]:
    """A Python exception would reach Lua as a userdata wrapping it: answer instead."""

    def call(*args: Any) -> Any:
        try:
            return fn(*args)
        except Exception as exc:
            return on_error(exc)

    return call


def host_functions() -> dict[bytes, Callable[..., Any]]:
    """The table handed to the PDK, keyed by the names the Lua side uses."""
    regex = RegexMatcher()
    functions: dict[bytes, Callable[..., Any]] = {
        b"encode_base64": encode_base64,
        b"decode_base64": decode_base64,
        b"md5": md5_hex,
        b"md5_bin": md5_bin,
        b"sha1_bin": sha1_bin,
        b"hmac_sha1": hmac_sha1,
        b"crc32": crc32,
        b"pid": os.getpid,
    }
    guarded = {name: _guarded(fn, lambda exc: None) for name, fn in functions.items()}
    guarded[b"re_match"] = _guarded(regex.match, lambda exc: (None, f"regex error: {exc}".encode()))
    return guarded
