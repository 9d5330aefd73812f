"""Pure converters between LLM wire formats.

Nothing in this package does I/O or reads global state. Every function takes
plain dicts (decoded JSON) and returns plain dicts or encoded bytes.

Modules, one per pair of formats (client format first, upstream format second):

- ``anthropic``: facts of the Anthropic Messages format itself (usage
  extraction, error bodies, a stream observer for byte-faithful passthrough).
- ``openai``: the same for OpenAI Chat Completions.
- ``anthropic_openai``: an Anthropic client in front of an OpenAI-compatible
  upstream (request, response, stream).
- ``openai_anthropic``: an OpenAI client in front of Anthropic (its stream:
  ``openai_anthropic_stream``).
- ``anthropic_gemini`` / ``openai_gemini``: either client in front of Gemini.
- ``gemini_schema``: JSON Schema reduced to what Gemini accepts.
- ``errors``: upstream failures mapped to the client's error format.

Stream translators share one shape (:class:`StreamTranslator`): the caller
decodes upstream SSE with :class:`lockgate.llm.sse.SSEDecoder`, parses each
event's data as JSON and feeds the dict; the translator returns the encoded
bytes to send to the client (often ``b""``). ``finish()`` is called when the
upstream stream ends; ``fail()`` when it breaks (connection error, timeout,
invalid JSON). After either, the translator emits nothing more.
"""

from __future__ import annotations

from typing import Any, Protocol

from lockgate.llm.usage import Usage

__all__ = ["StreamTranslator"]


class StreamTranslator(Protocol):
    #: Usage seen so far (the provider's numbers once reported).
    usage: Usage
    #: The model the upstream says it used, once known.
    response_model: str | None
    #: True once the upstream signalled a proper end (finish reason, message_stop, [DONE]).
    completed: bool

    def feed(self, data: dict[str, Any]) -> bytes:
        """One decoded upstream event -> bytes for the client."""
        ...

    def finish(self) -> bytes:
        """The upstream stream ended. If it never signalled completion this
        emits a client-format error event instead of a normal end."""
        ...

    def fail(self, error_type: str, message: str) -> bytes:
        """The upstream broke: a client-format error event (Anthropic: an
        ``error`` event; OpenAI: a data chunk with an ``error`` object)."""
        ...
