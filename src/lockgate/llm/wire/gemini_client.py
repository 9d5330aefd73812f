"""The Gemini ``generateContent`` format as a client format (``llm_format:
gemini``): its codec against the conversation model (Anthropic Messages
dicts, docs/translation.md).

- :func:`gemini_to_anthropic_request` decodes a GenerateContentRequest
  (``contents``, ``systemInstruction``, ``tools``, ``toolConfig``,
  ``generationConfig``) into an Anthropic Messages request;
- :func:`anthropic_to_gemini_response` encodes an Anthropic message into a
  GenerateContentResponse (the stream side is in ``gemini_client_stream``).

Both accept what Google's JSON mapping accepts on input (camelCase or
snake_case field names) and never raise on malformed input: what cannot be
read is left out, and the upstream's validation has the last word.

Function call ids: Gemini's ``functionCall.id`` / ``functionResponse.id``
are optional. Present, they are the tool_use ids (made safe for Anthropic's
character set, the same way on both sides so they still pair); absent, an id
is minted from the call's place in the history (stable across the turns of
a conversation, since history only grows) and a ``functionResponse`` without
id answers the first unanswered call of the previous model turn with its
name, as Gemini pairs them.

Thinking: Anthropic's thinking blocks are signed, and a tool-use loop with
thinking on must send them back unchanged. Gemini clients keep
``thoughtSignature`` on function calls (Gemini CLI and the SDKs do; Gemini 3
requires it) but may drop thought parts from their history, and merge
streamed text parts (losing their signatures). So the thinking blocks before
a call travel, packed, in the ``thoughtSignature`` of the next function call
(:func:`pack_thinking`; with no call after them, of a last empty thought
part), and the thought parts the client sees are for display. Unpacked,
they go first in the assistant turn, where Anthropic wants them. Thought parts that come back with a raw signature (not
a pack) become signed thinking blocks; unsigned ones are dropped, since no
provider accepts an unsigned thinking block.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import Any

import orjson

from lockgate.llm.usage import Usage
from lockgate.llm.wire.anthropic_schema import anthropic_output_schema
from lockgate.llm.wire.tool_identifiers import anthropic_tool_id

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "anthropic_to_gemini_response",
    "count_request",
    "field",
    "finish_reason",
    "gemini_request_problem",
    "gemini_to_anthropic_request",
    "gemini_usage_metadata",
    "json_schema_from_openapi",
    "pack_thinking",
    "unpack_thinking",
]

#: Output limit when the client sets none (Gemini's default is the model's
#: maximum; Anthropic requires one, and the provider clamps it to the model's).
DEFAULT_MAX_TOKENS = 8192
#: Smallest thinking budget Anthropic takes.
_MIN_BUDGET = 1024
#: Budgets for Gemini 3's thinking levels and for a dynamic budget (-1).
_LEVEL_BUDGETS = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 16384}
_DYNAMIC_BUDGET = 8192
#: What a packed thoughtSignature decodes to first. The value itself is plain
#: base64: Google's SDKs hold signatures as bytes (Python's decodes them and
#: sends them back URL-safe), so anything else would not survive a round trip.
_PACK_MAGIC = b"lgthk1:"
_URL_SAFE = str.maketrans("-_", "+/")
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
_IMAGE_TYPES = frozenset(("image/jpeg", "image/png", "image/gif", "image/webp"))

_FINISH_BY_STOP = {
    "end_turn": "STOP",
    "stop_sequence": "STOP",
    "tool_use": "STOP",
    "pause_turn": "STOP",
    "max_tokens": "MAX_TOKENS",
    "model_context_window_exceeded": "MAX_TOKENS",
    "refusal": "SAFETY",
}


#: camelCase field name -> its snake_case spelling, filled as names are asked for.
_SNAKE: dict[str, str] = {}


def field(obj: Any, camel: str) -> Any:
    """``obj[camel]``, or its snake_case spelling (Google's JSON mapping takes both)."""
    if not isinstance(obj, dict):
        return None
    value = obj.get(camel)
    if value is None:
        snake = _SNAKE.get(camel)
        if snake is None:
            snake = _SNAKE[camel] = _CAMEL.sub("_", camel).lower()
        if snake != camel:
            value = obj.get(snake)
    return value


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _json_text(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return str(value)


# -- checks -------------------------------------------------------------------


def gemini_request_problem(body: dict[str, Any], counting: bool = False) -> str | None:
    """The 400 Google gives a malformed GenerateContentRequest, before any
    translation could turn it into a provider's puzzling answer."""
    inner = field(body, "generateContentRequest")
    if counting and isinstance(inner, dict):
        body = inner
    contents = body.get("contents")
    if contents is None:
        return None if counting else "contents is not specified"
    if not isinstance(contents, list):
        return "Invalid value at 'contents': expected a list of Content"
    if not contents and not counting:
        return "contents is not specified"
    for i, content in enumerate(contents):
        if not isinstance(content, dict):
            return f"Invalid value at 'contents[{i}]': expected a Content object"
        parts = content.get("parts")
        if parts is not None and not isinstance(parts, list):
            return f"Invalid value at 'contents[{i}].parts': expected a list of Part"
    return None


# -- schemas ------------------------------------------------------------------

_SCHEMA_KEEP = (
    "format", "description", "enum", "required", "minItems", "maxItems", "minimum", "maximum",
    "minLength", "maxLength", "pattern", "title", "default", "minProperties", "maxProperties",
)  # fmt: skip


def json_schema_from_openapi(schema: Any, depth: int = 0) -> dict[str, Any]:
    """Gemini's ``Schema`` (an OpenAPI 3.0 subset: upper-case types,
    ``nullable``) -> JSON Schema."""
    if not isinstance(schema, dict) or depth > 40:
        return {}
    out: dict[str, Any] = {}
    kind = schema.get("type")
    if isinstance(kind, str) and kind and kind.upper() != "TYPE_UNSPECIFIED":
        out["type"] = kind.lower()
    for key in _SCHEMA_KEEP:
        value = field(schema, key)
        if value is not None:
            out[key] = value
    properties = schema.get("properties")
    if isinstance(properties, dict):
        out["properties"] = {
            str(k): json_schema_from_openapi(v, depth + 1) for k, v in properties.items()
        }
    items = schema.get("items")
    if isinstance(items, dict):
        out["items"] = json_schema_from_openapi(items, depth + 1)
    any_of = field(schema, "anyOf")
    if isinstance(any_of, list):
        out["anyOf"] = [json_schema_from_openapi(s, depth + 1) for s in any_of]
    if schema.get("nullable") is True:
        if "type" in out:
            out["type"] = [out["type"], "null"]
        elif "anyOf" in out:
            out["anyOf"].append({"type": "null"})
    if "enum" in out and "type" not in out:
        out["type"] = "string"
    return out


def _tool_schema(declaration: dict[str, Any]) -> dict[str, Any]:
    schema = field(declaration, "parametersJsonSchema")
    if isinstance(schema, dict):
        out = dict(schema)
    else:
        out = json_schema_from_openapi(field(declaration, "parameters"))
    if out.get("type") != "object":
        # Anthropic requires an object schema; a function without parameters takes none.
        out = (
            {**out, "type": "object"}
            if "properties" in out
            else {"type": "object", "properties": {}}
        )
    return out


# -- requests -----------------------------------------------------------------


def _system(body: dict[str, Any]) -> list[dict[str, Any]]:
    instruction = field(body, "systemInstruction")
    if isinstance(instruction, str):
        return [{"type": "text", "text": instruction}] if instruction.strip() else []
    parts = _dicts(instruction.get("parts")) if isinstance(instruction, dict) else []
    return [
        {"type": "text", "text": p["text"]}
        for p in parts
        if isinstance(p.get("text"), str) and p["text"].strip() and p.get("thought") is not True
    ]


def _media(mime: str, data: Any, url: Any) -> list[dict[str, Any]]:
    """inlineData (base64 ``data``) or fileData (``url``) -> blocks."""
    mime = mime.split(";")[0].strip().lower()
    if isinstance(data, str):
        if mime in _IMAGE_TYPES:
            return [
                {"type": "image", "source": {"type": "base64", "media_type": mime, "data": data}}
            ]
        if mime == "application/pdf":
            return [
                {
                    "type": "document",
                    "source": {"type": "base64", "media_type": mime, "data": data},
                }
            ]
        if mime.startswith("text/") or mime in ("application/json", "application/xml"):
            try:
                text = base64.b64decode(data, validate=False).decode("utf-8", "replace")
            except (binascii.Error, ValueError):
                text = ""
            return [{"type": "text", "text": text}] if text else []
        return [
            {"type": "text", "text": f"[an attachment of type {mime or 'unknown'} was left out]"}
        ]
    if isinstance(url, str) and url:
        if url.startswith(("http://", "https://")):
            if mime in _IMAGE_TYPES or (
                not mime and url.lower().endswith((".png", ".jpg", ".jpeg", ".gif", ".webp"))
            ):
                return [{"type": "image", "source": {"type": "url", "url": url}}]
            if mime == "application/pdf":
                return [{"type": "document", "source": {"type": "url", "url": url}}]
        return [{"type": "text", "text": f"[file {url} ({mime or 'unknown type'})]"}]
    return []


def _minted_id(turn: int, index: int, name: str) -> str:
    digest = hashlib.blake2b(f"{turn}:{index}:{name}".encode(), digest_size=12).hexdigest()
    return f"call_{digest}"


def _response_content(response: Any, parts: list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    """functionResponse.response (and its multimodal parts) -> tool_result content."""
    if isinstance(response, dict) and len(response) == 1:
        ((key, value),) = response.items()
        text = value if key in ("output", "content", "result") and isinstance(value, str) else None
    else:
        text = None
    if text is None:
        text = _json_text(response if response is not None else {})
    extra: list[dict[str, Any]] = []
    for part in parts:
        inline = field(part, "inlineData")
        if isinstance(inline, dict):
            extra += _media(str(field(inline, "mimeType") or ""), inline.get("data"), None)
        file = field(part, "fileData")
        if isinstance(file, dict):
            extra += _media(str(field(file, "mimeType") or ""), None, field(file, "fileUri"))
    if not extra:
        return text
    return [{"type": "text", "text": text}, *extra] if text else extra


class _Turns:
    """Gemini contents -> Anthropic messages, pairing calls and responses."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        #: The calls of the last model turn not answered yet: [id, name].
        self.pending: list[list[str]] = []
        #: Every tool_use id so far: Anthropic refuses a conversation that repeats one.
        self.used: set[str] = set()

    def add(self, role: str, blocks: list[dict[str, Any]]) -> None:
        if not blocks:
            return
        if self.messages and self.messages[-1]["role"] == role:
            self.messages[-1]["content"].extend(blocks)
        else:
            self.messages.append({"role": role, "content": blocks})

    def model_turn(self, turn: int, parts: list[dict[str, Any]]) -> None:
        thinking: list[dict[str, Any]] = []
        blocks: list[dict[str, Any]] = []
        signatures: set[str] = set()
        self._close_calls()
        for index, part in enumerate(parts):
            signature = field(part, "thoughtSignature")
            packed = unpack_thinking(signature)
            if packed is not None:
                for block in packed:
                    key = block.get("signature") or block.get("data") or ""
                    if key not in signatures:
                        signatures.add(key)
                        thinking.append(block)
            if part.get("thought") is True:
                text = part.get("text")
                if packed is None and isinstance(signature, str) and signature:
                    # Anthropic signatures are standard base64; an SDK may have
                    # sent it back URL-safe.
                    signature = signature.translate(_URL_SAFE)
                    if signature not in signatures:
                        signatures.add(signature)
                        thinking.append(
                            {
                                "type": "thinking",
                                "thinking": text if isinstance(text, str) else "",
                                "signature": signature,
                            }
                        )
                continue
            text = part.get("text")
            if isinstance(text, str):
                if text.strip():  # Anthropic refuses whitespace-only text blocks
                    blocks.append({"type": "text", "text": text})
                continue
            call = field(part, "functionCall")
            if isinstance(call, dict):
                name = str(call.get("name") or "")
                given = call.get("id")
                call_id = (
                    anthropic_tool_id(given)
                    if isinstance(given, str) and given
                    else _minted_id(turn, index, name)
                )
                if call_id in self.used:
                    call_id = _minted_id(turn, index, name + "#again")
                self.used.add(call_id)
                args = call.get("args")
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": call_id,
                        "name": name,
                        "input": args if isinstance(args, dict) else {},
                    }
                )
                self.pending.append([call_id, name])
                continue
            blocks += _other_part(part)
        self.add("assistant", thinking + blocks)

    def user_turn(self, parts: list[dict[str, Any]]) -> None:
        results: list[dict[str, Any]] = []
        others: list[dict[str, Any]] = []
        for part in parts:
            response = field(part, "functionResponse")
            if isinstance(response, dict):
                block = self._result(response)
                (results if block["type"] == "tool_result" else others).append(block)
                continue
            if part.get("thought") is True:
                continue
            text = part.get("text")
            if isinstance(text, str):
                if text.strip():  # Anthropic refuses whitespace-only text blocks
                    others.append({"type": "text", "text": text})
                continue
            others += _other_part(part)
        results += self._missing_results()
        self.add("user", results + others)

    def _result(self, response: dict[str, Any]) -> dict[str, Any]:
        name = str(response.get("name") or "")
        given = response.get("id")
        found = None
        if isinstance(given, str) and given:
            safe = anthropic_tool_id(given)
            found = next((p for p in self.pending if p[0] == safe), None)
        if found is None:
            found = next((p for p in self.pending if p[1] == name), None)
        content = _response_content(response.get("response"), _dicts(response.get("parts")))
        if found is None:
            text = content if isinstance(content, str) else _json_text(content)
            return {"type": "text", "text": f"Result of {name or 'a function'}: {text}"}
        self.pending.remove(found)
        block: dict[str, Any] = {"type": "tool_result", "tool_use_id": found[0], "content": content}
        payload = response.get("response")
        if isinstance(payload, dict) and set(payload) == {"error"}:
            block["is_error"] = True
        return block

    def _missing_results(self) -> list[dict[str, Any]]:
        """A call the client did not answer still needs a result (Anthropic refuses otherwise)."""
        out = [
            {
                "type": "tool_result",
                "tool_use_id": call_id,
                "content": "No result was provided for this function call.",
                "is_error": True,
            }
            for call_id, _ in self.pending
        ]
        self.pending = []
        return out

    def _close_calls(self) -> None:
        if self.pending:
            self.add("user", self._missing_results())

    def finish(self) -> list[dict[str, Any]]:
        self._close_calls()
        if self.messages and self.messages[0]["role"] != "user":
            self.messages.insert(0, {"role": "user", "content": [{"type": "text", "text": "."}]})
        return self.messages


def _other_part(part: dict[str, Any]) -> list[dict[str, Any]]:
    inline = field(part, "inlineData")
    if isinstance(inline, dict):
        return _media(str(field(inline, "mimeType") or ""), inline.get("data"), None)
    file = field(part, "fileData")
    if isinstance(file, dict):
        return _media(str(field(file, "mimeType") or ""), None, field(file, "fileUri"))
    code = field(part, "executableCode")
    if isinstance(code, dict) and isinstance(code.get("code"), str):
        return [{"type": "text", "text": code["code"]}]
    result = field(part, "codeExecutionResult")
    if isinstance(result, dict) and isinstance(result.get("output"), str):
        return [{"type": "text", "text": result["output"]}]
    return []


def _tools(body: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for tool in _dicts(body.get("tools")):
        for declaration in _dicts(field(tool, "functionDeclarations")):
            name = declaration.get("name")
            if not isinstance(name, str) or not name or name in seen:
                continue
            seen.add(name)
            entry: dict[str, Any] = {"name": name, "input_schema": _tool_schema(declaration)}
            if isinstance(declaration.get("description"), str) and declaration["description"]:
                entry["description"] = declaration["description"]
            out.append(entry)
    return out


def _tool_choice(body: dict[str, Any], names: set[str]) -> dict[str, Any] | None:
    config = field(field(body, "toolConfig"), "functionCallingConfig")
    if not isinstance(config, dict):
        return None
    mode = str(config.get("mode") or "").upper()
    allowed = field(config, "allowedFunctionNames")
    if mode == "NONE":
        return {"type": "none"}
    if mode == "ANY":
        if (
            isinstance(allowed, list)
            and len(allowed) == 1
            and isinstance(allowed[0], str)
            and allowed[0] in names
        ):
            return {"type": "tool", "name": allowed[0]}
        return {"type": "any"}
    if mode in ("AUTO", "VALIDATED"):
        return {"type": "auto"}
    return None


def _thinking(config: dict[str, Any], max_tokens: int | None) -> dict[str, Any] | None:
    """thinkingConfig -> Anthropic ``thinking``. Only when the client asked
    to see thoughts (``includeThoughts``): otherwise the thinking blocks could
    not reach it, and the next turn of a tool loop could not send them back."""
    thinking = field(config, "thinkingConfig")
    if not isinstance(thinking, dict) or field(thinking, "includeThoughts") is not True:
        return None
    budget = _int(field(thinking, "thinkingBudget"))
    level = field(thinking, "thinkingLevel")
    if budget is None and isinstance(level, str):
        budget = _LEVEL_BUDGETS.get(level.lower(), _DYNAMIC_BUDGET)
    if budget is None or budget < 0:
        budget = _DYNAMIC_BUDGET
    if max_tokens is not None:
        budget = min(budget, max_tokens - 1)  # Anthropic counts thinking in max_tokens
    if budget < _MIN_BUDGET:
        return None
    return {"type": "enabled", "budget_tokens": budget}


def _loop_without_thinking(messages: list[dict[str, Any]]) -> bool:
    """Whether the last assistant turn called a tool without a thinking block
    first: Anthropic refuses thinking on for such a continuation."""
    for message in reversed(messages):
        if message["role"] != "assistant":
            continue
        content = message["content"]
        if not any(b.get("type") == "tool_use" for b in content):
            return False
        return content[0].get("type") not in ("thinking", "redacted_thinking")
    return False


def _output_format(config: dict[str, Any]) -> dict[str, Any] | None:
    mime = field(config, "responseMimeType")
    schema = field(config, "responseJsonSchema")
    if not isinstance(schema, dict):
        openapi = field(config, "responseSchema")
        schema = json_schema_from_openapi(openapi) if isinstance(openapi, dict) else None
    if mime != "application/json" or not schema:
        return None
    # Reduced to what Anthropic compiles (objects closed, bounds into descriptions).
    return {"type": "json_schema", "schema": anthropic_output_schema(schema)}


def gemini_to_anthropic_request(body: dict[str, Any], model: str) -> dict[str, Any]:
    """A GenerateContentRequest -> an Anthropic Messages request for ``model``.

    ``body["stream"]`` (which the gateway sets from the method called) asks
    for a streamed answer. ``candidateCount`` above 1 is answered with one
    candidate."""
    turns = _Turns()
    for turn, content in enumerate(_dicts(body.get("contents"))):
        parts = _dicts(content.get("parts"))
        if content.get("role") == "model":
            turns.model_turn(turn, parts)
        else:
            turns.user_turn(parts)
    messages = turns.finish()
    config = field(body, "generationConfig")
    config = config if isinstance(config, dict) else {}
    requested = _int(field(config, "maxOutputTokens"))
    if requested is not None and requested <= 0:
        requested = None
    max_tokens = requested or DEFAULT_MAX_TOKENS
    out: dict[str, Any] = {"model": model, "max_tokens": max_tokens, "messages": messages}
    system = _system(body)
    if system:
        out["system"] = system
    for src, dst in (("temperature", "temperature"), ("topP", "top_p"), ("topK", "top_k")):
        value = field(config, src)
        if _number(value):
            out[dst] = value
    if "temperature" in out:
        # Gemini takes 0..2, Anthropic 0..1; Claude 4.1 and later refuse
        # temperature and top_p together (Gemini CLI sends both): temperature wins.
        out["temperature"] = min(max(out["temperature"], 0), 1)
        out.pop("top_p", None)
    stops = field(config, "stopSequences")
    if isinstance(stops, list):
        kept = [s for s in stops if isinstance(s, str) and s.strip()]
        if kept:
            out["stop_sequences"] = kept
    tools = _tools(body)
    if tools:
        out["tools"] = tools
        choice = _tool_choice(body, {t["name"] for t in tools})
        if choice is not None:
            out["tool_choice"] = choice
    thinking = _thinking(config, max_tokens if requested else None)
    # Anthropic refuses thinking beside a forced tool: the forced tool wins.
    forced = out.get("tool_choice", {}).get("type") in ("any", "tool")
    if thinking is not None and not forced and not _loop_without_thinking(messages):
        out["thinking"] = thinking
        if not requested:
            out["max_tokens"] = thinking["budget_tokens"] + DEFAULT_MAX_TOKENS
        # Anthropic's rules with thinking on: no temperature or top_k, top_p from 0.95.
        out.pop("temperature", None)
        out.pop("top_k", None)
        top_p = field(config, "topP")
        if _number(top_p) and 0.95 <= top_p <= 1:
            out["top_p"] = top_p
    fmt = _output_format(config)
    if fmt is not None:
        out["output_config"] = {"format": fmt}
    if body.get("stream") is True:
        out["stream"] = True
    return out


def count_request(body: dict[str, Any], model: str) -> dict[str, Any]:
    """A countTokens body (``contents``... or ``generateContentRequest``) -> an
    Anthropic ``count_tokens`` body (messages, system, tools, thinking)."""
    inner = field(body, "generateContentRequest")
    source = inner if isinstance(inner, dict) else body
    decoded = gemini_to_anthropic_request(source, model)
    return {
        k: v
        for k, v in decoded.items()
        if k in ("model", "messages", "system", "tools", "tool_choice", "thinking")
    }


# -- thinking packed in thought signatures ------------------------------------


def pack_thinking(blocks: list[dict[str, Any]]) -> str:
    """Anthropic thinking / redacted_thinking blocks -> one thoughtSignature value."""
    entries = [
        ["r", b.get("data") or ""]
        if b.get("type") == "redacted_thinking"
        else ["t", b.get("thinking") or "", b.get("signature") or ""]
        for b in blocks
    ]
    return base64.b64encode(_PACK_MAGIC + orjson.dumps(entries)).decode()


def unpack_thinking(signature: Any) -> list[dict[str, Any]] | None:
    """The blocks of :func:`pack_thinking` (None: not a pack of ours)."""
    if not isinstance(signature, str) or not signature.startswith("bGd0aGsxO"):
        return None  # (the base64 of the magic's first six bytes)
    encoded = signature.translate(_URL_SAFE).rstrip("=")
    try:
        raw = base64.b64decode(encoded + "=" * (-len(encoded) % 4))
        entries = orjson.loads(raw[len(_PACK_MAGIC) :]) if raw.startswith(_PACK_MAGIC) else None
    except (binascii.Error, ValueError):
        return None
    if entries is None:
        return None
    blocks: list[dict[str, Any]] = []
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, list) or not entry:
            continue
        if entry[0] == "r" and len(entry) == 2 and isinstance(entry[1], str):
            blocks.append({"type": "redacted_thinking", "data": entry[1]})
        elif entry[0] == "t" and len(entry) == 3 and all(isinstance(e, str) for e in entry[1:]):
            if entry[2]:  # unsigned thinking is refused upstream
                blocks.append({"type": "thinking", "thinking": entry[1], "signature": entry[2]})
    return blocks


# -- responses ----------------------------------------------------------------


def finish_reason(stop_reason: Any) -> str:
    return _FINISH_BY_STOP.get(stop_reason, "STOP") if isinstance(stop_reason, str) else "STOP"


def gemini_usage_metadata(usage: Usage) -> dict[str, Any]:
    """Usage -> ``usageMetadata``: the prompt count includes its cached part,
    and thought tokens are reported apart from the candidates' (Gemini's way)."""
    thoughts = min(usage.reasoning_tokens, usage.completion_tokens)
    out: dict[str, Any] = {
        "promptTokenCount": usage.prompt_tokens,
        "candidatesTokenCount": usage.completion_tokens - thoughts,
        "totalTokenCount": usage.prompt_tokens + usage.completion_tokens,
    }
    if thoughts:
        out["thoughtsTokenCount"] = thoughts
    if usage.cached_tokens:
        out["cachedContentTokenCount"] = usage.cached_tokens
    return out


def message_parts(content: Any) -> list[dict[str, Any]]:
    """Anthropic content blocks -> Gemini parts, thinking packed into the
    signature of the function call that follows it (else of a last thought part)."""
    parts: list[dict[str, Any]] = []
    thinking: list[dict[str, Any]] = []
    for block in _dicts(content):
        kind = block.get("type")
        if kind in ("thinking", "redacted_thinking"):
            thinking.append(block)
            text = block.get("thinking")
            if kind == "thinking" and isinstance(text, str) and text:
                parts.append({"text": text, "thought": True})
            continue
        part: dict[str, Any] | None = None
        if kind == "text" and isinstance(block.get("text"), str):
            part = {"text": block["text"]}
        elif kind == "tool_use":
            call: dict[str, Any] = {
                "name": str(block.get("name") or ""),
                "args": block.get("input") if isinstance(block.get("input"), dict) else {},
            }
            if isinstance(block.get("id"), str) and block["id"]:
                call["id"] = block["id"]
            part = {"functionCall": call}
        if part is None:
            continue
        if thinking and "functionCall" in part:
            part["thoughtSignature"] = pack_thinking(thinking)
            thinking = []
        parts.append(part)
    if thinking:
        parts.append({"text": "", "thought": True, "thoughtSignature": pack_thinking(thinking)})
    return parts


def anthropic_to_gemini_response(
    message: dict[str, Any], model: str, usage: Usage
) -> dict[str, Any]:
    """An Anthropic message (and its usage) -> a GenerateContentResponse."""
    parts = message_parts(message.get("content"))
    stop = message.get("stop_reason")
    candidate: dict[str, Any] = {
        "content": {"role": "model", "parts": parts},
        "finishReason": finish_reason(stop),
        "index": 0,
    }
    response_model = message.get("model")
    out: dict[str, Any] = {
        "candidates": [candidate],
        "usageMetadata": gemini_usage_metadata(usage),
        "modelVersion": response_model
        if isinstance(response_model, str) and response_model
        else model,
    }
    if isinstance(message.get("id"), str) and message["id"]:
        out["responseId"] = message["id"]
    return out
