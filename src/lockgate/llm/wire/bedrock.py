"""Amazon Bedrock's Converse API, as a codec of the conversation model.

The conversation model is Anthropic's Messages shape (``docs/translation.md``).
This module encodes it into a Converse / ConverseStream request and decodes
Converse answers (a response body, or ConverseStream events one at a time)
into it; :mod:`lockgate.llm.wire.bedrock_stream` turns decoded events into a
client's bytes.

Mapping decisions:

- ``model`` and ``stream`` are not in the body: they select the URL
  (``/model/{modelId}/converse`` or ``/converse-stream``).
- ``system`` text blocks -> ``system`` ``[{"text"}]``; ``cache_control`` on a
  system block, a message block or a tool -> a ``cachePoint`` block after it,
  only for models that support prompt caching on Bedrock (Bedrock answers
  ValidationException to a cache point for any other model).
- ``thinking`` / ``redacted_thinking`` -> ``reasoningContent``
  (``reasoningText`` with its signature, or ``redactedContent``), kept for
  Claude models, which need them back with tool results; dropped for others.
- Images and PDF documents travel as base64 ``bytes`` (the JSON form of
  Converse's blob). Converse takes no URL (only bytes or an S3 location),
  and the gateway does not fetch URLs for a client: a fetch from inside the
  network could be pointed at internal addresses (SSRF). An image or
  document by URL, or an image type Converse does not take, is refused with
  :class:`~lockgate.llm.wire.errors.UntranslatableRequest` (400 to the client).
- ``tool_choice`` ``auto``/``any``/``tool`` -> ``toolChoice``. Converse has
  no ``none``: the tools are left out, unless the history holds toolUse or
  toolResult blocks, for which Converse requires a ``toolConfig``
  (ValidationException otherwise); then the tools stay, with no choice that
  forces their use, and the model may still call one. Server tools
  (``{"type": "web_search_..."}``) are dropped.
- ``thinking`` and ``top_k`` go to Claude models in
  ``additionalModelRequestFields`` (Bedrock hands those to the model as-is);
  other models get neither. So do the client's ``anthropic-beta`` header
  values Bedrock accepts, as ``anthropic_beta`` (:func:`bedrock_betas`).
- Consecutive messages of one role are merged (Converse requires turns to
  alternate; Anthropic merges them itself); blank text blocks are dropped
  (Converse refuses them).
"""

from __future__ import annotations

import base64
import re
import secrets
from typing import Any

from lockgate.llm.usage import Usage
from lockgate.llm.wire.anthropic import usage_from_anthropic
from lockgate.llm.wire.errors import UntranslatableRequest

__all__ = [
    "ERROR_TYPES",
    "anthropic_stop_reason",
    "anthropic_to_converse_request",
    "anthropic_to_count_tokens_request",
    "bedrock_betas",
    "converse_error",
    "converse_to_anthropic_response",
    "converse_usage",
    "is_claude",
    "supports_cache_points",
]

_IMAGE_FORMATS = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}
_TOOL_CHOICE = {"auto": "auto", "any": "any", "tool": "tool"}
_STOP_REASONS = {
    "end_turn": "end_turn",
    "tool_use": "tool_use",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    "guardrail_intervened": "refusal",
    "content_filtered": "refusal",
    "model_context_window_exceeded": "model_context_window_exceeded",
}
#: Bedrock's exception name -> (HTTP status for the client, Anthropic error type).
#: A bad or unknown AWS key is an authentication failure (401) for the client,
#: though AWS answers 403 for it; a missing permission stays 403.
ERROR_TYPES: dict[str, tuple[int, str]] = {
    "ValidationException": (400, "invalid_request_error"),
    "SerializationException": (400, "invalid_request_error"),
    "UnrecognizedClientException": (401, "authentication_error"),
    "InvalidSignatureException": (401, "authentication_error"),
    "IncompleteSignatureException": (401, "authentication_error"),
    "MissingAuthenticationTokenException": (401, "authentication_error"),
    "ExpiredTokenException": (401, "authentication_error"),
    "AccessDeniedException": (403, "permission_error"),
    "ResourceNotFoundException": (404, "not_found_error"),
    "ModelTimeoutException": (504, "timeout_error"),
    "ThrottlingException": (429, "rate_limit_error"),
    "ServiceQuotaExceededException": (429, "rate_limit_error"),
    "ModelNotReadyException": (529, "overloaded_error"),
    "ServiceUnavailableException": (529, "overloaded_error"),
    "ModelErrorException": (502, "api_error"),
    "ModelStreamErrorException": (502, "api_error"),
    "InternalServerException": (500, "api_error"),
}
# Claude models Bedrock caches prompts for (3.5 Haiku, 3.7 Sonnet and every
# Claude 4 model), and Amazon Nova. The id may carry a cross-region prefix
# (``us.``, ``eu.``, ``global.``) or be an inference-profile ARN.
_CACHING = re.compile(
    r"anthropic\.claude-(3-5-haiku|3-7-sonnet|(sonnet|opus|haiku)-4|4)|amazon\.nova-(micro|lite|pro|premier)"
)


#: ``anthropic-beta`` values Claude on Bedrock takes (in ``anthropic_beta``);
#: Bedrock answers ValidationException "invalid beta flag" to any other, and
#: Claude Code behind a gateway sends first-party ones (claude-code-20250219,
#: oauth-2025-04-20, fine-grained-tool-streaming-2025-05-14,
#: prompt-caching-scope-..., ...). Source: AWS's "Anthropic Claude Messages API,
#: Request and Response" page (the ``anthropic_beta`` parameter), as LiteLLM's
#: ``litellm/llms/bedrock/beta_headers_config.py`` transcribes it (read
#: 2026-12-03), with its per-model rules: the oldest Claude version, and the
#: families, each beta is offered for. A value of (0, ()) means every Claude model.
BEDROCK_BETAS: dict[str, tuple[float, tuple[str, ...]]] = {
    "computer-use-2024-10-22": (0, ()),
    "computer-use-2025-01-24": (0, ()),
    "computer-use-2025-11-24": (0, ()),
    "token-efficient-tools-2025-02-19": (0, ()),
    "output-128k-2025-02-19": (0, ()),
    "interleaved-thinking-2025-05-14": (4.0, ()),
    "dev-full-thinking-2025-05-14": (4.0, ()),
    "context-1m-2025-08-07": (4.0, ()),
    "context-management-2025-06-27": (4.5, ()),
    "effort-2025-11-24": (4.5, ("opus",)),
    "tool-search-tool-2025-10-19": (4.5, ("opus", "sonnet")),
    "tool-examples-2025-10-29": (4.5, ("opus", "sonnet")),
}
#: Claude Opus 4.7 on Bedrock refuses betas that earlier models took (Claude
#: Code's reports: anthropics/claude-code#49370, #49490, #49648), and later
#: models' betas are unknown: none is sent to them. A beta left out loses a
#: feature (interleaved thinking is part of adaptive thinking there); a beta
#: refused loses the request.
NEWEST_WITH_BETAS = 4.6
# "claude-sonnet-4-5-2025..." -> 4.5, "claude-3-7-sonnet-..." -> 3.7,
# "claude-sonnet-4-2025..." -> 4.0 (a date's digits are no minor version).
_CLAUDE_VERSION = re.compile(r"claude-(?:[a-z]+-)?(\d+)(?:-(\d)\b)?")
_CLAUDE_FAMILY = re.compile(r"opus|sonnet|haiku")


def is_claude(model: str) -> bool:
    return "anthropic.claude" in model


def supports_cache_points(model: str) -> bool:
    return _CACHING.search(model) is not None


# -- request ------------------------------------------------------------------


def anthropic_to_converse_request(body: dict[str, Any], model: str) -> dict[str, Any]:
    """An Anthropic Messages body -> a Converse body for ``model`` (a Bedrock model id)."""
    caching = supports_cache_points(model)
    claude = is_claude(model)
    out: dict[str, Any] = {}
    system = _system(body.get("system"), caching)
    if system:
        out["system"] = system
    out["messages"] = _messages(body.get("messages"), caching, claude)
    config: dict[str, Any] = {}
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, int) and not isinstance(max_tokens, bool) and max_tokens > 0:
        config["maxTokens"] = max_tokens
    for src, dst in (("temperature", "temperature"), ("top_p", "topP")):
        value = body.get(src)
        if isinstance(value, int | float) and not isinstance(value, bool):
            config[dst] = value
    stops = body.get("stop_sequences")
    if isinstance(stops, list):
        kept = [s for s in stops if isinstance(s, str) and s]
        if kept:
            config["stopSequences"] = kept
    if config:
        out["inferenceConfig"] = config
    tools = _tools(body.get("tools"), caching)
    choice = body.get("tool_choice")
    kind = choice.get("type") if isinstance(choice, dict) else None
    if kind == "none" and not _has_tool_blocks(out["messages"]):
        tools = []
    if tools:
        tool_config: dict[str, Any] = {"tools": tools}
        if kind == "tool" and isinstance(choice, dict) and isinstance(choice.get("name"), str):
            tool_config["toolChoice"] = {"tool": {"name": choice["name"]}}
        elif kind in ("auto", "any"):
            tool_config["toolChoice"] = {kind: {}}
        out["toolConfig"] = tool_config
    extra: dict[str, Any] = {}
    if claude:
        thinking = body.get("thinking")
        if isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive"):
            extra["thinking"] = {
                k: v for k, v in thinking.items() if k in ("type", "budget_tokens", "display")
            }
        top_k = body.get("top_k")
        if _is_int(top_k):
            extra["top_k"] = top_k
    if extra:
        out["additionalModelRequestFields"] = extra
    return out


def bedrock_betas(header: str, model: str) -> list[str]:
    """The client's ``anthropic-beta`` values (comma-separated) that Bedrock
    takes for ``model``, in order, once each; none for a model that is not
    Claude (or whose version the id does not tell, as an application
    inference profile's ARN)."""
    if not header or not is_claude(model):
        return []
    version_match = _CLAUDE_VERSION.search(model)
    if version_match is None:
        return []
    major, minor = version_match.groups()
    version = float(f"{major}.{minor or 0}")
    if version > NEWEST_WITH_BETAS:
        return []
    family_match = _CLAUDE_FAMILY.search(model)
    family = family_match.group(0) if family_match else ""
    kept: list[str] = []
    for value in header.split(","):
        beta = value.strip()
        rule = BEDROCK_BETAS.get(beta)
        if rule is None or beta in kept:
            continue
        oldest, families = rule
        if version >= oldest and (not families or family in families):
            kept.append(beta)
    return kept


def anthropic_to_count_tokens_request(body: dict[str, Any], model: str) -> dict[str, Any]:
    """An Anthropic count_tokens body -> a CountTokens body (the Converse
    request's conversation part, wrapped as ``input.converse``)."""
    converse = anthropic_to_converse_request(body, model)
    keep = ("messages", "system", "toolConfig", "additionalModelRequestFields")
    return {"input": {"converse": {k: converse[k] for k in keep if k in converse}}}


def _has_tool_blocks(messages: list[dict[str, Any]]) -> bool:
    return any(
        "toolUse" in block or "toolResult" in block
        for message in messages
        for block in message["content"]
    )


def _system(system: Any, caching: bool) -> list[dict[str, Any]]:
    if isinstance(system, str):
        return [{"text": system}] if system.strip() else []
    out: list[dict[str, Any]] = []
    if isinstance(system, list):
        for block in system:
            if isinstance(block, dict) and block.get("type") == "text":
                text = block.get("text")
                if isinstance(text, str) and text.strip():
                    out.append({"text": text})
                    if caching and block.get("cache_control"):
                        out.append(_CACHE_POINT)
    return out


_CACHE_POINT: dict[str, Any] = {"cachePoint": {"type": "default"}}


def _messages(messages: Any, caching: bool, claude: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if not isinstance(messages, list):
        return out
    for message in messages:
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        if role not in ("user", "assistant"):
            continue
        content = _content(message.get("content"), caching, claude)
        if not content:
            continue
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(content)
        else:
            out.append({"role": role, "content": content})
    return out


def _content(content: Any, caching: bool, claude: bool) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}] if content.strip() else []
    out: list[dict[str, Any]] = []
    if not isinstance(content, list):
        return out
    for index, block in enumerate(content):
        if not isinstance(block, dict):
            continue
        converted = _block(block, claude, index)
        if converted is None:
            continue
        out.append(converted)
        if caching and block.get("cache_control"):
            out.append(_CACHE_POINT)
    return out


def _block(block: dict[str, Any], claude: bool, index: int) -> dict[str, Any] | None:
    kind = block.get("type")
    if kind == "text":
        text = block.get("text")
        return {"text": text} if isinstance(text, str) and text.strip() else None
    if kind == "image":
        return _image(block)
    if kind == "document":
        return _document(block, index)
    if kind == "tool_use":
        return {
            "toolUse": {
                "toolUseId": str(block.get("id") or ""),
                "name": str(block.get("name") or ""),
                "input": block.get("input") if isinstance(block.get("input"), dict) else {},
            }
        }
    if kind == "tool_result":
        return {"toolResult": _tool_result(block)}
    if kind == "thinking" and claude:
        reasoning: dict[str, Any] = {"text": str(block.get("thinking") or "")}
        if block.get("signature"):
            reasoning["signature"] = block["signature"]
        return {"reasoningContent": {"reasoningText": reasoning}}
    if kind == "redacted_thinking" and claude and isinstance(block.get("data"), str):
        return {"reasoningContent": {"redactedContent": block["data"]}}
    return None


_NO_URLS = (
    "Bedrock's Converse API takes {what} only as bytes (or from S3), not by URL, and "
    "the gateway does not fetch URLs for clients; send the {what} as base64 data instead"
)


def _image(block: dict[str, Any]) -> dict[str, Any]:
    source = block.get("source") or {}
    if source.get("type") == "url":
        raise UntranslatableRequest(_NO_URLS.format(what="images"))
    media_type = str(source.get("media_type") or "")
    fmt = _IMAGE_FORMATS.get(media_type)
    if source.get("type") != "base64" or not isinstance(source.get("data"), str):
        raise UntranslatableRequest(
            f"an image source of type {str(source.get('type'))!r} cannot be sent to Bedrock: "
            "send the image as base64 data"
        )
    if fmt is None:
        raise UntranslatableRequest(
            f"image media type {media_type!r} cannot be sent to Bedrock, which takes "
            "image/png, image/jpeg, image/gif and image/webp"
        )
    return {"image": {"format": fmt, "source": {"bytes": source["data"]}}}


def _document(block: dict[str, Any], index: int) -> dict[str, Any] | None:
    source = block.get("source") or {}
    # Converse wants a name of letters, digits, spaces, hyphens and brackets.
    name = re.sub(r"[^A-Za-z0-9 \-()\[\]]", " ", str(block.get("title") or f"document {index}"))
    name = " ".join(name.split())[:200] or f"document {index}"
    if source.get("type") == "base64" and source.get("media_type") == "application/pdf":
        return {"document": {"format": "pdf", "name": name, "source": {"bytes": source["data"]}}}
    if source.get("type") == "text" and isinstance(source.get("data"), str):
        data = base64.b64encode(source["data"].encode()).decode()
        return {"document": {"format": "txt", "name": name, "source": {"bytes": data}}}
    if source.get("type") == "url":
        raise UntranslatableRequest(_NO_URLS.format(what="documents"))
    return None


def _tool_result(block: dict[str, Any]) -> dict[str, Any]:
    content = block.get("content")
    parts: list[dict[str, Any]] = []
    if isinstance(content, str):
        parts.append({"text": content})
    elif isinstance(content, list):
        for index, item in enumerate(content):
            if not isinstance(item, dict):
                continue
            if item.get("type") == "text" and isinstance(item.get("text"), str):
                parts.append({"text": item["text"]})
            elif item.get("type") == "image":
                parts.append(_image(item))
            elif item.get("type") == "document":
                document = _document(item, index)
                if document is not None:
                    parts.append(document)
    if not parts:
        # Converse refuses an empty tool result; Anthropic takes one.
        parts.append({"text": ""})
    result: dict[str, Any] = {"toolUseId": str(block.get("tool_use_id") or ""), "content": parts}
    if block.get("is_error"):
        result["status"] = "error"
    return result


def _tools(tools: Any, caching: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if not isinstance(tools, list):
        return out
    for tool in tools:
        if not isinstance(tool, dict) or "input_schema" not in tool:
            continue  # server tools have no Converse form
        spec: dict[str, Any] = {
            "name": tool.get("name"),
            "inputSchema": {"json": tool["input_schema"]},
        }
        if tool.get("description"):
            spec["description"] = tool["description"]
        out.append({"toolSpec": spec})
        if caching and tool.get("cache_control"):
            out.append(_CACHE_POINT)
    return out


# -- response -----------------------------------------------------------------


def converse_usage(usage: Any) -> dict[str, int]:
    """Converse ``usage`` -> Anthropic ``usage`` (Bedrock's ``inputTokens`` excludes cached input)."""
    usage = usage if isinstance(usage, dict) else {}
    return {
        "input_tokens": _int(usage.get("inputTokens")),
        "cache_creation_input_tokens": _int(usage.get("cacheWriteInputTokens")),
        "cache_read_input_tokens": _int(usage.get("cacheReadInputTokens")),
        "output_tokens": _int(usage.get("outputTokens")),
    }


def anthropic_stop_reason(stop_reason: Any) -> str:
    return (
        _STOP_REASONS.get(stop_reason, "end_turn") if isinstance(stop_reason, str) else "end_turn"
    )


def stop_sequence(extra: Any) -> str | None:
    """The stop sequence Claude stopped on, which Bedrock passes in ``additionalModelResponseFields``."""
    value = extra.get("stop_sequence") if isinstance(extra, dict) else None
    return value if isinstance(value, str) else None


def message_id() -> str:
    # Converse has no message id; clients (and Claude Code) expect one.
    return "msg_bdrk_" + secrets.token_hex(12)


def converse_to_anthropic_response(
    resp: dict[str, Any], model: str
) -> tuple[dict[str, Any], Usage]:
    """A Converse response -> (an Anthropic message, its usage)."""
    output = resp.get("output") if isinstance(resp.get("output"), dict) else {}
    message = output.get("message") if isinstance(output, dict) else None
    blocks: list[dict[str, Any]] = []
    for block in (message or {}).get("content") or []:
        converted = _response_block(block) if isinstance(block, dict) else None
        if converted is not None:
            blocks.append(converted)
    usage = converse_usage(resp.get("usage"))
    stop = anthropic_stop_reason(resp.get("stopReason"))
    answer = {
        "id": message_id(),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": blocks,
        "stop_reason": stop,
        "stop_sequence": stop_sequence(resp.get("additionalModelResponseFields"))
        if stop == "stop_sequence"
        else None,
        "usage": usage,
    }
    return answer, usage_from_anthropic(usage)


def _response_block(block: dict[str, Any]) -> dict[str, Any] | None:
    if isinstance(block.get("text"), str):
        return {"type": "text", "text": block["text"]}
    tool = block.get("toolUse")
    if isinstance(tool, dict):
        return {
            "type": "tool_use",
            "id": tool.get("toolUseId"),
            "name": tool.get("name"),
            "input": tool.get("input") if isinstance(tool.get("input"), dict) else {},
        }
    reasoning = block.get("reasoningContent")
    if isinstance(reasoning, dict):
        text = reasoning.get("reasoningText")
        if isinstance(text, dict):
            return {
                "type": "thinking",
                "thinking": str(text.get("text") or ""),
                "signature": str(text.get("signature") or ""),
            }
        if isinstance(reasoning.get("redactedContent"), str):
            return {"type": "redacted_thinking", "data": reasoning["redactedContent"]}
    return None


# -- errors -------------------------------------------------------------------


def converse_error(exception: str, message: str) -> tuple[int, str, str]:
    """A Bedrock exception (its name, as in ``x-amzn-ErrorType`` or an event
    stream's ``:exception-type``) -> (status, Anthropic error type, message)."""
    name = exception.split(":", 1)[0].strip()
    name = name[:1].upper() + name[1:]  # stream exceptions are named in lowerCamelCase
    status, kind = ERROR_TYPES.get(name, (502, "api_error"))
    return status, kind, f"{name}: {message}" if message else name


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int(value: Any) -> int:
    return value if _is_int(value) else 0
