"""Test helpers for lockgate and its users: provider emulators that stand in
for the real LLM APIs (no network needed)."""

from .emulator import Emulator, RecordedRequest, parse_key_specs, run_emulator

__all__ = ["Emulator", "RecordedRequest", "parse_key_specs", "run_emulator"]
