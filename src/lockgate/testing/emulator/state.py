"""What the emulators of one running instance share: keys, the request log,
issued OAuth tokens, prompt caches, the secret behind thinking signatures."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field

from aiohttp import web

from .google_oauth import GoogleOAuth
from .records import Recorder
from .tokens import PromptCache

__all__ = ["STATE", "EmulatorState"]


@dataclass(slots=True)
class EmulatorState:
    """``keys`` maps a provider name to the API keys it accepts; a provider
    missing from it accepts any non-empty key."""

    keys: dict[str, set[str]] = field(default_factory=dict)
    recorder: Recorder = field(default_factory=Recorder)
    oauth: GoogleOAuth = field(default_factory=GoogleOAuth)
    caches: dict[str, PromptCache] = field(default_factory=dict)
    # Signs emulated thinking blocks so a gateway that alters them is caught.
    thinking_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    #: AWS sessions issued by the emulated STS: access key id -> (secret, token, expiry epoch).
    aws_sessions: dict[str, tuple[str, str, float]] = field(default_factory=dict)
    #: How long those sessions last (tests shorten it to watch a renewal).
    aws_session_seconds: int = field(
        default_factory=lambda: int(os.environ.get("LOCKGATE_EMULATOR_AWS_SESSION_SECONDS", "3600"))
    )

    def key_accepted(self, provider: str, key: str) -> bool:
        allowed = self.keys.get(provider)
        return bool(key) and (allowed is None or key in allowed)

    def cache(self, provider: str, minimum: int = 1024, granularity: int = 1) -> PromptCache:
        if provider not in self.caches:
            self.caches[provider] = PromptCache(minimum=minimum, granularity=granularity)
        return self.caches[provider]


STATE = web.AppKey("lockgate_emulator_state", EmulatorState)
