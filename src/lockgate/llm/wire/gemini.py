"""Facts of Google's GenerateContent format, shared by Vertex AI and the public
Gemini API, and by both client formats translated to it.

- usage: ``usageMetadata`` -> :class:`Usage` (OpenAI's convention);
- finish reasons -> Anthropic ``stop_reason`` / OpenAI ``finish_reason``;
- error bodies and in-stream error statuses;
- the conversation rules Gemini enforces on ``contents`` (strict user/model
  alternation, each function call answered by one ``functionResponse`` in
  the next turn, same count and order) applied by :func:`finalize_contents`;
- thought signatures: Gemini 2.5+ returns an opaque ``thoughtSignature`` on
  the first function call of a step and Gemini 3 rejects the next request if
  it does not come back on that call ("Function call is missing a
  thought_signature in functionCall parts", 400). Neither client format has
  a slot for it on a tool call, so it travels inside the tool call id we mint
  (:func:`tool_call_id`). The id is the one field every client must send back
  unchanged, twice (on the call in its history and on its result), or its own
  pairing breaks; Claude Code and the OpenAI SDKs do. A ``thinking`` block
  with a signature was the alternative and is worse: Claude Code drops or
  rewrites thinking blocks (when thinking is off, after compaction, between
  models), the signature would then be lost without a trace, and an
  OpenAI-format client has no thinking block at all. Calls that come back
  without one (history rebuilt by a client) get Google's documented bypass
  value (:data:`SKIP_SIGNATURE`) in the current turn;
- per-model limits (output tokens, thinking support and budgets) that turn a
  request Claude Code sends into one the model accepts.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any

import orjson

from lockgate.llm.usage import Usage

__all__ = [
    "REFUSAL_FINISH_REASONS",
    "SKIP_SIGNATURE",
    "anthropic_error_type",
    "anthropic_stop_reason",
    "candidate_parts",
    "finalize_contents",
    "first_candidate",
    "function_declaration",
    "gemini_error_body",
    "gemini_status",
    "json_output_with_tools",
    "openai_error_type",
    "openai_finish_reason",
    "response_seed",
    "supports_thinking",
    "thinking_budget",
    "tool_call_id",
    "tool_call_signature",
    "usage_from_gemini",
]

#: Google's documented value that skips thought-signature validation for a
#: function call the model did not produce in this form (history rebuilt by a
#: client that dropped the signature).
SKIP_SIGNATURE = "skip_thought_signature_validator"

#: finishReason values meaning "the model would not (or may not) answer".
REFUSAL_FINISH_REASONS = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
    }
)

#: google.rpc status names by HTTP status (what Google puts in error bodies).
_STATUS_BY_HTTP = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

_ANTHROPIC_ERROR_BY_STATUS = {
    "INVALID_ARGUMENT": "invalid_request_error",
    "FAILED_PRECONDITION": "invalid_request_error",
    "OUT_OF_RANGE": "invalid_request_error",
    "UNAUTHENTICATED": "authentication_error",
    "PERMISSION_DENIED": "permission_error",
    "NOT_FOUND": "not_found_error",
    "RESOURCE_EXHAUSTED": "rate_limit_error",
    "UNAVAILABLE": "overloaded_error",
}

_OPENAI_ERROR_BY_STATUS = {
    "INVALID_ARGUMENT": "invalid_request_error",
    "FAILED_PRECONDITION": "invalid_request_error",
    "OUT_OF_RANGE": "invalid_request_error",
    "UNAUTHENTICATED": "authentication_error",
    "PERMISSION_DENIED": "permission_error",
    "NOT_FOUND": "not_found_error",
    "RESOURCE_EXHAUSTED": "rate_limit_exceeded",
    "UNAVAILABLE": "server_error",
}

_SIG_MARK = "_sig_"
_ID_SAFE = str.maketrans("+/", "-_")
_ID_UNSAFE = str.maketrans("-_", "+/")


# -- usage and finish reasons ---------------------------------------------------


def _count(meta: dict[str, Any], key: str) -> int:
    value = meta.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def usage_from_gemini(meta: Any) -> Usage:
    """``usageMetadata`` -> Usage.

    ``promptTokenCount`` already includes the cached part
    (``cachedContentTokenCount``); ``toolUsePromptTokenCount`` (results of
    Google-side tools fed back to the model) is input too. Thought tokens are
    billed as output, so they are part of ``completion_tokens``.
    """
    if not isinstance(meta, dict):
        return Usage()
    thoughts = _count(meta, "thoughtsTokenCount")
    return Usage(
        prompt_tokens=_count(meta, "promptTokenCount") + _count(meta, "toolUsePromptTokenCount"),
        completion_tokens=_count(meta, "candidatesTokenCount") + thoughts,
        cached_tokens=_count(meta, "cachedContentTokenCount"),
        reasoning_tokens=thoughts,
    )


def anthropic_stop_reason(finish_reason: str | None, tool_use: bool) -> str:
    """Gemini says STOP after function calls too; Anthropic says tool_use.
    Gemini reports no matched stop sequence, so stop_sequence never appears."""
    if finish_reason == "MAX_TOKENS":
        return "max_tokens"
    if finish_reason in REFUSAL_FINISH_REASONS:
        return "refusal"
    return "tool_use" if tool_use else "end_turn"


def openai_finish_reason(finish_reason: str | None, tool_calls: bool) -> str:
    if finish_reason == "MAX_TOKENS":
        return "length"
    if finish_reason in REFUSAL_FINISH_REASONS:
        return "content_filter"
    return "tool_calls" if tool_calls else "stop"


# -- errors -------------------------------------------------------------------


def gemini_status(code: int) -> str:
    """The google.rpc status name Google uses for an HTTP status."""
    if code in _STATUS_BY_HTTP:
        return _STATUS_BY_HTTP[code]
    return "INTERNAL" if code >= 500 else "INVALID_ARGUMENT" if code >= 400 else "UNKNOWN"


def gemini_error_body(code: int, message: str, status: str) -> dict[str, Any]:
    """Google's error shape, e.g. for emulators and gateway-made errors on a
    Gemini-format route."""
    return {"error": {"code": code, "message": message, "status": status}}


def anthropic_error_type(status: Any, code: Any = None) -> str:
    """An error Google reports (often in-band, inside a 200 stream) as an
    Anthropic error type, so the client retries when it should."""
    if isinstance(status, str) and status in _ANTHROPIC_ERROR_BY_STATUS:
        return _ANTHROPIC_ERROR_BY_STATUS[status]
    if code == 429:
        return "rate_limit_error"
    if code in (503, 529):
        return "overloaded_error"
    return "api_error"


def openai_error_type(status: Any) -> str:
    if isinstance(status, str) and status in _OPENAI_ERROR_BY_STATUS:
        return _OPENAI_ERROR_BY_STATUS[status]
    return "server_error"


# -- tool call ids and thought signatures -------------------------------------


def tool_call_id(prefix: str, seed: str, index: int, signature: Any = None) -> str:
    """A tool call id unique within a response (derived from the response id
    and the call's position) that carries the call's thought signature.

    Signatures are base64; they are stored URL-safe without padding so the id
    stays within ``[A-Za-z0-9_-]`` (the character set Anthropic allows)."""
    digest = hashlib.blake2b(f"{seed}:{index}".encode(), digest_size=12).hexdigest()
    base = f"{prefix}{digest}"
    if isinstance(signature, str) and signature:
        return base + _SIG_MARK + signature.translate(_ID_SAFE).rstrip("=")
    return base


def tool_call_signature(call_id: Any) -> str | None:
    """The thought signature carried by a tool call id from :func:`tool_call_id`."""
    if not isinstance(call_id, str):
        return None
    _, mark, encoded = call_id.partition(_SIG_MARK)
    if not mark or not encoded:
        return None
    signature = encoded.translate(_ID_UNSAFE)
    return signature + "=" * (-len(signature) % 4)


# -- models -------------------------------------------------------------------

_NO_THINKING = re.compile(r"^(gemini-1\.|gemini-2\.0|gemini-pro|gemini-exp|gemma|learnlm)")


def _model_name(model: str) -> str:
    return model.rsplit("/", 1)[-1].lower()


_GEMINI_MAJOR = re.compile(r"^gemini-(\d+)")


def json_output_with_tools(model: str) -> bool:
    """Whether JSON mode (``responseMimeType: application/json``) may be sent
    beside function declarations: Gemini 3 takes both; earlier models refuse
    the pair ("Function calling with a response mime type: 'application/json'
    is unsupported"), so there the format is dropped and the tools kept."""
    m = _GEMINI_MAJOR.match(_model_name(model))
    return m is not None and int(m.group(1)) >= 3


def supports_thinking(model: str) -> bool:
    """Whether ``thinkingConfig`` (and thought signatures) may be sent: older
    models reject the field with 400 ("thinking is not supported by this
    model"). Unknown names are assumed current, hence thinking."""
    return not _NO_THINKING.match(_model_name(model))


def thinking_budget(model: str, budget: int) -> int:
    """A thinking budget clamped into the range the Gemini 2.5 model accepts
    (0 turns thinking off where the model allows it; 2.5 Pro cannot). Later
    models map budgets to their thinking levels themselves."""
    name = _model_name(model)
    if name.startswith("gemini-2.5-pro"):
        return min(max(budget, 128), 32768)
    if name.startswith("gemini-2.5-flash-lite"):
        return 0 if budget <= 0 else min(max(budget, 512), 24576)
    if name.startswith("gemini-2.5-flash"):
        return min(max(budget, 0), 24576)
    return budget


# -- requests -----------------------------------------------------------------


def function_declaration(
    name: str, description: Any, parameters: dict[str, Any] | None
) -> dict[str, Any]:
    """One ``functionDeclarations`` entry; ``parameters`` already sanitized
    (None: the function takes no arguments, so the field is omitted)."""
    out: dict[str, Any] = {"name": name}
    if isinstance(description, str) and description:
        out["description"] = description
    if parameters is not None:
        out["parameters"] = parameters
    return out


def finalize_contents(
    turns: list[tuple[str, list[dict[str, Any]]]], *, thought_signatures: bool
) -> list[dict[str, Any]]:
    """Draft turns (role ``user``/``model``, parts in order) -> ``contents``
    Gemini accepts.

    Drafts may put an ``id`` inside ``functionCall`` and ``functionResponse``
    to pair them; ids are removed from the result (older API versions reject
    them). Rules applied, in order:

    - turns with no parts are dropped, then consecutive same-role turns merge;
    - a conversation that opens with a model turn gets a one-character user
      turn before it (Gemini requires the first turn to be the user's; an
      OpenAI client may open with an assistant greeting);
    - the turn after a model turn with function calls starts with exactly one
      ``functionResponse`` per call, in call order, named like the call
      (matched by id, else by name); a missing result becomes an error
      response, a result that answers nothing becomes a text part;
    - with ``thought_signatures``, the first call of each model turn in the
      current exchange (after the last user turn without function responses)
      gets :data:`SKIP_SIGNATURE` when it carries no signature.
    """
    contents: list[dict[str, Any]] = []
    for role, parts in turns:
        if not parts:
            continue
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": list(parts)})
    if contents and contents[0]["role"] == "model":
        contents.insert(0, {"role": "user", "parts": [{"text": "."}]})

    calls: list[dict[str, Any]] = []
    for content in contents:
        if content["role"] == "model":
            calls = [p["functionCall"] for p in content["parts"] if "functionCall" in p]
        else:
            content["parts"] = _answer_calls(calls, content["parts"])
            calls = []

    if thought_signatures:
        start = 0
        for i, content in enumerate(contents):
            if content["role"] == "user" and not any(
                "functionResponse" in p for p in content["parts"]
            ):
                start = i
        for content in contents[start:]:
            if content["role"] != "model":
                continue
            for part in content["parts"]:
                if "functionCall" in part:
                    part.setdefault("thoughtSignature", SKIP_SIGNATURE)
                    break

    for content in contents:
        for part in content["parts"]:
            inner = part.get("functionCall") or part.get("functionResponse")
            if isinstance(inner, dict):
                inner.pop("id", None)
    return contents


def _answer_calls(calls: list[dict[str, Any]], parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    responses = [p["functionResponse"] for p in parts if "functionResponse" in p]
    others = [p for p in parts if "functionResponse" not in p]
    if not calls and not responses:
        return parts
    pending = list(responses)
    answered: list[dict[str, Any]] = []
    for call in calls:
        found = None
        call_id = call.get("id")
        if call_id is not None:
            for i, resp in enumerate(pending):
                if resp.get("id") == call_id:
                    found = pending.pop(i)
                    break
        if found is None:
            for i, resp in enumerate(pending):
                if resp.get("id") is None and resp.get("name") == call.get("name"):
                    found = pending.pop(i)
                    break
        response = (
            found.get("response")
            if found is not None and isinstance(found.get("response"), dict)
            else {"error": "No result was provided for this function call."}
        )
        answered.append({"functionResponse": {"name": call.get("name", ""), "response": response}})
    strays = [
        {"text": f"Result of {r.get('name') or 'a tool'}: {_json_text(r.get('response'))}"}
        for r in pending
    ]
    return answered + others + strays


def _json_text(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return str(value)


# -- responses ----------------------------------------------------------------


def response_seed(resp: dict[str, Any]) -> str:
    """What tool-call and message ids are derived from: the response id, else random."""
    rid = resp.get("responseId")
    return rid if isinstance(rid, str) and rid else secrets.token_hex(12)


def first_candidate(resp: Any) -> dict[str, Any] | None:
    """``candidates[0]`` (we never ask for more than one)."""
    if not isinstance(resp, dict):
        return None
    candidates = resp.get("candidates")
    if isinstance(candidates, list) and candidates and isinstance(candidates[0], dict):
        return candidates[0]
    return None


def candidate_parts(candidate: dict[str, Any] | None) -> list[dict[str, Any]]:
    if candidate is None:
        return []
    content = candidate.get("content")
    parts = content.get("parts") if isinstance(content, dict) else None
    if not isinstance(parts, list):
        return []
    return [p for p in parts if isinstance(p, dict)]
