"""Provider emulators: OpenAI, Anthropic, HuggingFace, DashScope, Mistral,
DeepSeek, Gemini (Vertex AI and public) and Google's OAuth token endpoint, on
one port."""

from .app import KEYED_PROVIDERS, ROUTES, Emulator, build_app, parse_key_specs, run_emulator
from .records import RecordedRequest
from .script import Script, parse_script

__all__ = [
    "KEYED_PROVIDERS",
    "ROUTES",
    "Emulator",
    "RecordedRequest",
    "Script",
    "build_app",
    "parse_key_specs",
    "parse_script",
    "run_emulator",
]
