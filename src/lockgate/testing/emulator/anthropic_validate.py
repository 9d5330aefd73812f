"""Validation of Messages API requests, with Anthropic's error wording.

Anthropic validates with pydantic-style messages (``path: Extra inputs are not
permitted``, ``path: Field required``) plus a few semantic rules (tool_use /
tool_result pairing, thinking budgets, cache breakpoints). Everything the
current API documents is accepted; anything else is refused, so a gateway that
invents or mangles fields is caught while Claude Code's real requests pass.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from typing import Any

from lockgate.llm.providers.models import model_facts

from .anthropic_structured import structured_schema_problem
from .responses import ApiError

__all__ = [
    "COUNT_FIELDS",
    "MESSAGE_FIELDS",
    "anthropic_error",
    "model_version",
    "sign_thinking",
    "validate_messages",
]

MESSAGE_FIELDS = frozenset(
    {
        "model", "messages", "max_tokens", "stream", "system", "metadata", "stop_sequences",
        "temperature", "top_p", "top_k", "tools", "tool_choice", "thinking", "service_tier",
        "container", "mcp_servers", "context_management", "output_config", "output_format",
        "cache_control", "inference_geo", "speed", "diagnostics", "user_profile_id",
        "workspace_id", "billing_policy", "compaction", "fallbacks", "fallback_credit_token",
        "thread",
    }
)  # fmt: skip
COUNT_FIELDS = frozenset(
    {
        "model", "messages", "system", "tools", "tool_choice", "thinking", "mcp_servers",
        "context_management", "output_config", "output_format", "cache_control", "speed",
        "user_profile_id", "workspace_id", "billing_policy", "compaction",
    }
)  # fmt: skip
BLOCK_FIELDS = {
    "text": frozenset({"type", "text", "cache_control", "citations"}),
    "image": frozenset({"type", "source", "cache_control"}),
    "document": frozenset({"type", "source", "cache_control", "citations", "context", "title"}),
    "search_result": frozenset(
        {"type", "source", "title", "content", "citations", "cache_control"}
    ),
    "thinking": frozenset({"type", "thinking", "signature"}),
    "redacted_thinking": frozenset({"type", "data"}),
    "tool_use": frozenset({"type", "id", "name", "input", "cache_control", "caller"}),
    "tool_result": frozenset({"type", "tool_use_id", "content", "is_error", "cache_control"}),
}
# Server-side blocks the API also accepts in history; their fields are not checked.
SERVER_BLOCKS = frozenset(
    {
        "server_tool_use", "web_search_tool_result", "web_fetch_tool_result",
        "code_execution_tool_result", "bash_code_execution_tool_result",
        "text_editor_code_execution_tool_result", "tool_search_tool_result", "mcp_tool_use",
        "mcp_tool_result", "container_upload", "compaction", "tool_reference",
        "advisor_tool_result",
    }
)  # fmt: skip
CUSTOM_TOOL_FIELDS = frozenset(
    {
        "name", "description", "input_schema", "cache_control", "type", "strict",
        "defer_loading", "input_examples", "eager_input_streaming", "allowed_callers",
    }
)  # fmt: skip
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
# Ids minted by other providers ("functions.get_weather:0", "call|1") are refused.
_TOOL_ID = re.compile(r"^[a-zA-Z0-9_-]+$")
_SERVER_TOOL = re.compile(r"^[a-z_]+_\d{8}$")
_VERSION = re.compile(r"^claude-(?:([a-z]+)-(\d+)(?:-(\d{1,2}))?(?=-|@|$)|(\d)-(?:(\d)-)?[a-z]+)")
_IMAGE_MAGIC = {
    b"\x89PNG": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF8": "image/gif",
    b"RIFF": "image/webp",
}
_THINKING_DOCS = "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"


def anthropic_error(
    status: int, type_: str, message: str, headers: dict[str, str] | None = None
) -> ApiError:
    request_id = "req_011C" + secrets.token_urlsafe(18).replace("-", "a").replace("_", "b")
    body = {"type": "error", "error": {"type": type_, "message": message}, "request_id": request_id}
    return ApiError(status, body, {"request-id": request_id, **(headers or {})})


def _invalid(message: str) -> ApiError:
    return anthropic_error(400, "invalid_request_error", message)


def model_version(model: str) -> tuple[int, int]:
    """(major, minor) of a Claude model id; (99, 0) when it cannot be read
    (a new family or a preview: treated as the newest)."""
    m = _VERSION.match(model)
    if not m:
        return (99, 0)
    if m.group(1):
        return (int(m.group(2)), int(m.group(3) or 0))
    return (int(m.group(4)), int(m.group(5) or 0))


def sign_thinking(secret: bytes, thinking: str) -> str:
    mac = hmac.new(secret, thinking.encode(), hashlib.sha256).digest()
    return base64.b64encode(b"EmuThinkingSig\x01" + mac * 3).decode()


def _extra(obj: dict[str, Any], allowed: frozenset[str], path: str) -> None:
    for key in obj:
        if key not in allowed:
            raise _invalid(f"{path}.{key}: Extra inputs are not permitted")


class _Validator:
    def __init__(
        self, body: dict[str, Any], betas: set[str], secret: bytes, counting: bool
    ) -> None:
        self.body = body
        self.betas = betas
        self.secret = secret
        self.counting = counting
        self.breakpoints = 0

    def cache_control(self, obj: dict[str, Any], path: str) -> None:
        cc = obj.get("cache_control")
        if cc is None:
            return
        if not isinstance(cc, dict) or cc.get("type") != "ephemeral":
            raise _invalid(f"{path}.cache_control.type: Input should be 'ephemeral'")
        _extra(cc, frozenset({"type", "ttl"}), f"{path}.cache_control")
        if cc.get("ttl") not in (None, "5m", "1h"):
            raise _invalid(f"{path}.cache_control.ttl: Input should be '5m' or '1h'")
        self.breakpoints += 1

    def text_block(self, block: dict[str, Any], path: str) -> None:
        if not isinstance(block.get("text"), str):
            raise _invalid(f"{path}.text: Field required")
        if not block["text"]:
            raise _invalid("messages: text content blocks must be non-empty")
        if not block["text"].strip():
            raise _invalid("messages: text content blocks must contain non-whitespace text")

    def image_block(self, block: dict[str, Any], path: str) -> None:
        source = block.get("source")
        if not isinstance(source, dict):
            raise _invalid(f"{path}.source: Field required")
        if source.get("type") == "base64":
            media = source.get("media_type")
            if media not in ("image/jpeg", "image/png", "image/gif", "image/webp"):
                raise _invalid(
                    f"{path}.source.base64.media_type: Input should be 'image/jpeg', 'image/png', "
                    "'image/gif' or 'image/webp'"
                )
            try:
                data = base64.b64decode(str(source.get("data", "")), validate=True)
            except (binascii.Error, ValueError) as exc:
                raise _invalid(f"{path}.source.base64.data: Invalid base64 data") from exc
            actual = next((t for magic, t in _IMAGE_MAGIC.items() if data.startswith(magic)), None)
            if actual is None:
                raise _invalid(f"{path}.source.base64.data: Could not process image")
            if actual != media:
                raise _invalid(
                    f"{path}.image.source.base64: The image was specified using the {media} media type, "
                    f"but the image appears to be a {actual} image"
                )
        elif source.get("type") not in ("url", "file"):
            raise _invalid(
                f"{path}.source: Input tag '{source.get('type')}' found using 'type' does not match any "
                "of the expected tags: 'base64', 'url', 'file'"
            )

    def block(self, block: Any, role: str, path: str) -> None:
        if not isinstance(block, dict):
            raise _invalid(
                f"{path}: Input should be a valid dictionary or object to extract fields from"
            )
        btype = block.get("type")
        if not isinstance(btype, str):
            raise _invalid(f"{path}: Unable to extract tag using discriminator 'type'")
        if btype in SERVER_BLOCKS:
            return
        if btype not in BLOCK_FIELDS:
            tags = ", ".join(f"'{t}'" for t in (*BLOCK_FIELDS, *sorted(SERVER_BLOCKS)))
            raise _invalid(
                f"{path}: Input tag '{btype}' found using 'type' does not match any of the expected tags: {tags}"
            )
        _extra(block, BLOCK_FIELDS[btype], f"{path}.{btype}")
        self.cache_control(block, path)
        if btype == "text":
            self.text_block(block, path)
        elif btype == "image":
            self.image_block(block, path)
        elif btype == "tool_use":
            if role != "assistant":
                raise _invalid(f"{path}: `tool_use` blocks can only be in `assistant` messages")
            for req in ("id", "name", "input"):
                if req not in block:
                    raise _invalid(f"{path}.tool_use.{req}: Field required")
            for req in ("id", "name"):
                if not isinstance(block[req], str):
                    raise _invalid(f"{path}.tool_use.{req}: Input should be a valid string")
            if not _TOOL_ID.match(block["id"]):
                raise _invalid(
                    f"{path}.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'"
                )
            if not isinstance(block["input"], dict):
                raise _invalid(f"{path}.tool_use.input: Input should be a valid dictionary")
        elif btype == "tool_result":
            if role != "user":
                raise _invalid(f"{path}: `tool_result` blocks can only be in `user` messages")
            if "tool_use_id" not in block:
                raise _invalid(f"{path}.tool_result.tool_use_id: Field required")
            if not isinstance(block["tool_use_id"], str):
                raise _invalid(f"{path}.tool_result.tool_use_id: Input should be a valid string")
            if not _TOOL_ID.match(block["tool_use_id"]):
                raise _invalid(
                    f"{path}.tool_result.tool_use_id: String should match pattern '^[a-zA-Z0-9_-]+$'"
                )
            content = block.get("content")
            if isinstance(content, list):
                for k, sub in enumerate(content):
                    if not isinstance(sub, dict) or sub.get("type") not in (
                        "text", "image", "document", "search_result", "tool_reference"
                    ):  # fmt: skip
                        raise _invalid(
                            f"{path}.tool_result.content.{k}: Input tag '{sub.get('type') if isinstance(sub, dict) else None}' found using "
                            "'type' does not match any of the expected tags: 'text', 'image', 'document', "
                            "'search_result', 'tool_reference'"
                        )
                    self.block(sub, "user", f"{path}.tool_result.content.{k}")
        elif btype == "thinking":
            if role != "assistant":
                raise _invalid(f"{path}: `thinking` blocks can only be in `assistant` messages")
            sig = block.get("signature")
            if not isinstance(sig, str) or not isinstance(block.get("thinking"), str):
                raise _invalid(f"{path}.thinking.signature: Field required")
            if not hmac.compare_digest(sig, sign_thinking(self.secret, block["thinking"])):
                raise _invalid(f"{path}: Invalid `signature` in `thinking` block")

    def messages(self) -> None:
        messages = self.body.get("messages")
        if messages is None:
            raise _invalid("messages: Field required")
        if not isinstance(messages, list):
            raise _invalid("messages: Input should be a valid list")
        if not messages:
            raise _invalid("messages: at least one message is required")
        roles = (
            ("user", "assistant", "system")
            if any("mid-conversation-system" in b for b in self.betas)
            else ("user", "assistant")
        )
        for i, msg in enumerate(messages):
            path = f"messages.{i}"
            if not isinstance(msg, dict):
                raise _invalid(
                    f"{path}: Input should be a valid dictionary or object to extract fields from"
                )
            _extra(msg, frozenset({"role", "content"}), path)
            role = msg.get("role")
            if role not in roles:
                allowed = (
                    " or ".join(f"'{r}'" for r in roles)
                    if len(roles) == 2
                    else "'user', 'assistant' or 'system'"
                )
                raise _invalid(f"{path}.role: Input should be {allowed}")
            if "content" not in msg:
                raise _invalid(f"{path}.content: Field required")
            content = msg["content"]
            last_assistant = i == len(messages) - 1 and role == "assistant"
            if content in ("", []) and not last_assistant:
                raise _invalid(
                    f"messages.{i}: all messages must have non-empty content except for the optional final assistant message"
                )
            if isinstance(content, list):
                for j, block in enumerate(content):
                    self.block(block, str(role), f"{path}.content.{j}")
            elif not isinstance(content, str):
                raise _invalid(f"{path}.content: Input should be a valid string")
            if last_assistant and isinstance(content, str) and content != content.rstrip():
                raise _invalid(
                    "messages: final assistant content cannot end with trailing whitespace"
                )
        self.pairing(messages)

    def pairing(self, messages: list[dict[str, Any]]) -> None:
        """Every tool_use answered by a tool_result first in the next message,
        and every tool_result answering a tool_use of the previous one."""
        for i, msg in enumerate(messages):
            blocks = msg["content"] if isinstance(msg["content"], list) else []
            if msg["role"] == "user":
                prev = messages[i - 1] if i else None
                prev_ids = (
                    {
                        b["id"]
                        for b in prev["content"]
                        if isinstance(b, dict) and b.get("type") == "tool_use"
                    }
                    if prev and prev["role"] == "assistant" and isinstance(prev["content"], list)
                    else set()
                )
                for j, b in enumerate(blocks):
                    if b.get("type") == "tool_result" and b["tool_use_id"] not in prev_ids:
                        raise _invalid(
                            f"messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: "
                            f"{b['tool_use_id']}. Each `tool_result` block must have a corresponding "
                            "`tool_use` block in the previous message."
                        )
            if msg["role"] != "assistant":
                continue
            ids = [b["id"] for b in blocks if b.get("type") == "tool_use"]
            seen: set[str] = set()
            for j, b in enumerate(blocks):
                if b.get("type") == "tool_use":
                    if b["id"] in seen:
                        raise _invalid(f"messages.{i}.content.{j}: `tool_use` ids must be unique")
                    seen.add(b["id"])
            if not ids or (i == len(messages) - 1):
                continue
            nxt = messages[i + 1]
            answered: set[str] = set()
            if nxt["role"] == "user" and isinstance(nxt["content"], list):
                for b in nxt["content"]:
                    if not isinstance(b, dict) or b.get("type") != "tool_result":
                        break  # tool results must come first in the content array
                    answered.add(b["tool_use_id"])
            missing = [x for x in ids if x not in answered]
            if missing:
                raise _invalid(
                    f"messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: "
                    f"{', '.join(missing)}. Each `tool_use` block must have a corresponding `tool_result` "
                    "block in the next message."
                )

    def system(self) -> None:
        system = self.body.get("system")
        if system is None or isinstance(system, str):
            return
        if not isinstance(system, list):
            raise _invalid("system: Input should be a valid string")
        for i, block in enumerate(system):
            if not isinstance(block, dict) or block.get("type") != "text":
                raise _invalid(f"system.{i}.type: Input should be 'text'")
            _extra(block, BLOCK_FIELDS["text"], f"system.{i}")
            self.cache_control(block, f"system.{i}")
            if not isinstance(block.get("text"), str):
                raise _invalid(f"system.{i}.text: Field required")

    def tools(self) -> set[str]:
        tools = self.body.get("tools")
        names: set[str] = set()
        if tools is None:
            return names
        if not isinstance(tools, list):
            raise _invalid("tools: Input should be a valid list")
        for i, tool in enumerate(tools):
            if not isinstance(tool, dict):
                raise _invalid(f"tools.{i}: Input should be a valid dictionary")
            kind = tool.get("type")
            if kind is not None and kind != "custom" and _SERVER_TOOL.match(str(kind)):
                names.add(str(tool.get("name", kind)))
                self.cache_control(tool, f"tools.{i}")
                continue
            if kind not in (None, "custom"):
                raise _invalid(
                    f"tools.{i}: Input tag '{kind}' found using 'type' does not match any of the expected tags"
                )
            path = f"tools.{i}.custom"
            _extra(tool, CUSTOM_TOOL_FIELDS, path)
            name = tool.get("name")
            if not isinstance(name, str):
                raise _invalid(f"{path}.name: Field required")
            if not _TOOL_NAME.match(name):
                raise _invalid(
                    f"{path}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'"
                )
            schema = tool.get("input_schema")
            if schema is None:
                raise _invalid(f"{path}.input_schema: Field required")
            if not isinstance(schema, dict) or schema.get("type") != "object":
                raise _invalid(f"{path}.input_schema.type: Input should be 'object'")
            if name in names:
                raise _invalid("tools: Tool names must be unique.")
            self.cache_control(tool, f"tools.{i}")
            names.add(name)
        return names

    def tool_choice(self, names: set[str]) -> None:
        choice = self.body.get("tool_choice")
        if choice is None:
            return
        if not isinstance(choice, dict) or choice.get("type") not in (
            "auto",
            "any",
            "tool",
            "none",
        ):
            kind = choice.get("type") if isinstance(choice, dict) else choice
            raise _invalid(
                f"tool_choice: Input tag '{kind}' found using 'type' does not match any of the expected "
                "tags: 'auto', 'any', 'tool', 'none'"
            )
        fields = {"type", "disable_parallel_tool_use"} | (
            {"name"} if choice["type"] == "tool" else set()
        )
        _extra(choice, frozenset(fields), f"tool_choice.{choice['type']}")
        if choice["type"] == "tool" and "name" not in choice:
            raise _invalid("tool_choice.tool.name: Field required")

    def thinking(self, model: str) -> None:
        thinking = self.body.get("thinking")
        if thinking is None:
            return
        kind = thinking.get("type") if isinstance(thinking, dict) else None
        if kind not in ("enabled", "disabled", "adaptive"):
            raise _invalid(
                f"thinking: Input tag '{kind}' found using 'type' does not match any of the expected tags: "
                "'adaptive', 'disabled', 'enabled'"
            )
        allowed = {
            "enabled": {"type", "budget_tokens", "display"},
            "adaptive": {"type", "display"},
        }.get(kind, {"type"})
        _extra(thinking, frozenset(allowed), f"thinking.{kind}")
        if thinking.get("display") not in (None, "summarized", "omitted"):
            raise _invalid(f"thinking.{kind}.display: Input should be 'summarized' or 'omitted'")
        if kind == "adaptive" and model_version(model) < (4, 6):
            raise _invalid(f"thinking.adaptive: adaptive thinking is not supported on {model}")
        if kind == "enabled":
            budget = thinking.get("budget_tokens")
            if not isinstance(budget, int) or isinstance(budget, bool):
                raise _invalid("thinking.enabled.budget_tokens: Field required")
            if budget < 1024:
                raise _invalid(
                    "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
                )
            max_tokens = self.body.get("max_tokens")
            if not self.counting and isinstance(max_tokens, int) and budget >= max_tokens:
                raise _invalid(
                    "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our "
                    f"documentation at {_THINKING_DOCS}#max-tokens-and-context-window-size"
                )
        if kind == "disabled":
            return
        if self.body.get("temperature") not in (None, 1):
            raise _invalid(
                "`temperature` may only be set to 1 when thinking is enabled. Please consult our "
                f"documentation at {_THINKING_DOCS}#feature-compatibility"
            )
        if self.body.get("top_k") is not None:
            raise _invalid(
                "`top_k` must be unset when thinking is enabled. Please consult our documentation at "
                f"{_THINKING_DOCS}#feature-compatibility"
            )
        top_p = self.body.get("top_p")
        if top_p is not None and top_p < 0.95:
            raise _invalid(
                "`top_p` must be unset or between 0.95 and 1 when thinking is enabled. Please consult our "
                f"documentation at {_THINKING_DOCS}#feature-compatibility"
            )
        choice = self.body.get("tool_choice") or {}
        if isinstance(choice, dict) and choice.get("type") in ("any", "tool"):
            raise _invalid("Thinking may not be enabled when tool_choice forces tool use.")

    def sampling(self, model: str) -> None:
        for name, hi in (("temperature", 1), ("top_p", 1)):
            value = self.body.get(name)
            if value is None:
                continue
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise _invalid(f"{name}: Input should be a valid number")
            if value < 0:
                raise _invalid(f"{name}: Input should be greater than or equal to 0")
            if value > hi:
                raise _invalid(f"{name}: Input should be less than or equal to {hi}")
        if (
            self.body.get("temperature") is not None
            and self.body.get("top_p") is not None
            and model_version(model) >= (4, 1)
        ):
            raise _invalid(
                "`temperature` and `top_p` cannot both be specified for this model. Please use only one."
            )
        stops = self.body.get("stop_sequences")
        if stops is not None and (
            not isinstance(stops, list) or not all(isinstance(s, str) for s in stops)
        ):
            raise _invalid("stop_sequences: Input should be a valid list")

    def small_objects(self) -> None:
        meta = self.body.get("metadata")
        if meta is not None:
            if not isinstance(meta, dict):
                raise _invalid("metadata: Input should be a valid dictionary")
            _extra(meta, frozenset({"user_id"}), "metadata")
        out = self.body.get("output_config")
        if out is not None:
            if not isinstance(out, dict):
                raise _invalid("output_config: Input should be a valid dictionary")
            _extra(out, frozenset({"effort", "format", "task_budget"}), "output_config")
            if out.get("effort") not in (None, "low", "medium", "high", "xhigh", "max"):
                raise _invalid(
                    "output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' or 'max'"
                )
            _output_format(out.get("format"), "output_config.format")
        _output_format(self.body.get("output_format"), "output_format")
        if self.body.get("service_tier") not in (None, "auto", "standard_only"):
            raise _invalid("service_tier: Input should be 'auto' or 'standard_only'")


def _output_format(fmt: Any, field: str) -> None:
    """Structured output: a JSON schema within the subset the grammar compiles."""
    if fmt is None:
        return
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema" or "schema" not in fmt:
        raise _invalid(f"{field}.schema: Field required")
    problem = structured_schema_problem(fmt["schema"], f"{field}.schema")
    if problem:
        raise _invalid(problem)


def validate_messages(
    body: Any, betas: set[str], secret: bytes, counting: bool = False
) -> set[str]:
    """Raises Anthropic's 400 for the first problem; returns the tool names.
    ``counting`` selects the count_tokens schema (no ``max_tokens``)."""
    if not isinstance(body, dict):
        raise _invalid("Input should be a valid dictionary or object to extract fields from")
    allowed = COUNT_FIELDS if counting else MESSAGE_FIELDS
    for key in body:
        if key not in allowed:
            raise _invalid(f"{key}: Extra inputs are not permitted")
    v = _Validator(body, betas, secret, counting)
    model = body.get("model")
    if model is None:
        raise _invalid("model: Field required")
    if not isinstance(model, str):
        raise _invalid("model: Input should be a valid string")
    if not counting:
        max_tokens = body.get("max_tokens")
        if max_tokens is None:
            raise _invalid("max_tokens: Field required")
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool):
            raise _invalid("max_tokens: Input should be a valid integer")
        if max_tokens < 1:
            raise _invalid("max_tokens: Input should be greater than or equal to 1")
        facts = model_facts("anthropic", model)
        ceiling = facts.max_output if facts is not None else None
        if ceiling is not None and max_tokens > ceiling:
            raise _invalid(
                f"max_tokens: {max_tokens} > {ceiling}, which is the maximum allowed number of output "
                f"tokens for {model}"
            )
        if body.get("stream") is not None and not isinstance(body["stream"], bool):
            raise _invalid("stream: Input should be a valid boolean")
    v.messages()
    v.system()
    names = v.tools()
    v.tool_choice(names)
    v.sampling(model)
    v.thinking(model)
    v.small_objects()
    if v.breakpoints > 4:
        raise _invalid(
            f"A maximum of 4 blocks with cache_control may be provided. Found {v.breakpoints}."
        )
    return names
