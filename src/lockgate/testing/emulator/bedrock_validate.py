"""Converse's request rules, enforced the way Bedrock words its refusals.

Every refusal is a ``ValidationException`` (400, ``{"message"}``), as the
runtime answers; the messages follow Bedrock's. What is checked: the known
top-level fields, a conversation that starts with a user turn and alternates,
content blocks of one known kind each and no blank text, ``toolResult``
blocks answering the ``toolUse`` blocks of the turn before (and a
``toolConfig`` whenever the history holds either), ``cachePoint`` only for
models that cache, ``inferenceConfig`` ranges and the model's output limit,
Claude's thinking budget and signatures, and its ``anthropic_beta`` list
(Bedrock refuses any beta it does not offer, as "invalid beta flag").
"""

from __future__ import annotations

import hmac
from typing import Any

from .anthropic_validate import sign_thinking
from .responses import ApiError

__all__ = ["MODELS", "aws_error", "model_limits", "validate_converse"]

#: Model families the emulator serves: (id fragment, output limit, caches prompts).
MODELS = (
    ("anthropic.claude-opus-4", 32000, True),
    ("anthropic.claude-sonnet-4", 64000, True),
    ("anthropic.claude-haiku-4", 64000, True),
    ("anthropic.claude-3-7-sonnet", 64000, True),
    ("anthropic.claude-3-5-haiku", 8192, True),
    ("anthropic.claude-3-haiku", 4096, False),
    ("amazon.nova-pro", 10000, True),
    ("amazon.nova-lite", 10000, True),
    ("meta.llama3", 8192, False),
)
_FIELDS = frozenset(
    {
        "messages",
        "system",
        "inferenceConfig",
        "toolConfig",
        "guardrailConfig",
        "additionalModelRequestFields",
        "promptVariables",
        "additionalModelResponseFieldPaths",
        "requestMetadata",
        "performanceConfig",
    }
)
_BLOCKS = frozenset(
    {
        "text",
        "image",
        "document",
        "video",
        "toolUse",
        "toolResult",
        "reasoningContent",
        "cachePoint",
    }
)

#: The betas Claude on Bedrock offers (AWS's "Anthropic Claude Messages API,
#: Request and Response" page); any other is refused. Kept apart from the
#: gateway's copy on purpose: the emulator is the check on it.
ACCEPTED_BETAS = frozenset(
    {
        "computer-use-2024-10-22",
        "computer-use-2025-01-24",
        "computer-use-2025-11-24",
        "token-efficient-tools-2025-02-19",
        "interleaved-thinking-2025-05-14",
        "output-128k-2025-02-19",
        "dev-full-thinking-2025-05-14",
        "context-1m-2025-08-07",
        "context-management-2025-06-27",
        "effort-2025-11-24",
        "tool-search-tool-2025-10-19",
        "tool-examples-2025-10-29",
    }
)


def aws_error(status: int, exception: str, message: str) -> ApiError:
    """An AWS JSON-protocol error: ``{"message"}`` and the exception named in a header."""
    return ApiError(
        status,
        {"message": message},
        {"x-amzn-ErrorType": f"{exception}:http://internal.amazon.com/coral/com.amazon.bedrock/"},
    )


def _invalid(message: str) -> ApiError:
    return aws_error(400, "ValidationException", message)


def model_limits(model_id: str) -> tuple[int, bool]:
    """(output limit, caches prompts) of a served model; 400 for any other id."""
    for fragment, limit, caches in MODELS:
        if fragment in model_id:
            return limit, caches
    raise _invalid("The provided model identifier is invalid.")


def validate_converse(body: Any, model_id: str, secret: bytes) -> None:
    if not isinstance(body, dict):
        raise _invalid("Malformed input request, please reformat your input and try again.")
    for key in body:
        if key not in _FIELDS:
            raise _invalid(
                f"Malformed input request: extraneous key [{key}] is not permitted, "
                "please reformat your input and try again."
            )
    limit, caches = model_limits(model_id)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _invalid(
            "A conversation must start with a user message. Try again with a conversation that starts with a user message."
        )
    tools = _tool_config(body.get("toolConfig"), caches)
    system = body.get("system") or []
    if not isinstance(system, list):
        raise _invalid("Malformed input request: system must be an array.")
    for i, block in enumerate(system):
        if (
            not isinstance(block, dict)
            or len(block) != 1
            or not ("text" in block or "cachePoint" in block)
        ):
            raise _invalid(
                f"The system field at system.{i} must hold one text or cachePoint member."
            )
        _check_cache_point(block, caches)
        if "text" in block and not str(block["text"]).strip():
            raise _invalid(
                f"The text field in the SystemContentBlock object at system.{i} is blank. Add text to the text field, and try again."
            )
    thinking = _thinking(body, limit)
    _betas(body, model_id)
    pending: list[str] = []
    uses_tools = False
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            raise _invalid(f"messages.{i}.role: must be one of user, assistant.")
        expected = "user" if i % 2 == 0 else "assistant"
        if message["role"] != expected:
            if i == 0:
                raise _invalid(
                    "A conversation must start with a user message. Try again with a conversation that starts with a user message."
                )
            raise _invalid(
                "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again."
            )
        content = message.get("content")
        if not isinstance(content, list) or not content:
            raise _invalid(
                f"The content field in the Message object at messages.{i} is empty. Add a ContentBlock object to the content field and try again."
            )
        results: list[str] = []
        uses: list[str] = []
        for j, block in enumerate(content):
            where = f"messages.{i}.content.{j}"
            if not isinstance(block, dict) or len(block) != 1 or next(iter(block)) not in _BLOCKS:
                raise _invalid(
                    f"The ContentBlock object at {where} must set exactly one of the following keys: {', '.join(sorted(_BLOCKS))}."
                )
            _check_cache_point(block, caches)
            if "text" in block and not str(block["text"]).strip():
                raise _invalid(
                    f"The text field in the ContentBlock object at {where} is blank. Add text to the text field, and try again."
                )
            if "toolUse" in block:
                if message["role"] != "assistant":
                    raise _invalid(f"The toolUse block at {where} must be in an assistant message.")
                uses.append(str(block["toolUse"].get("toolUseId")))
            if "toolResult" in block:
                if message["role"] != "user":
                    raise _invalid(f"The toolResult block at {where} must be in a user message.")
                results.append(str(block["toolResult"].get("toolUseId")))
            if "reasoningContent" in block and thinking:
                _check_reasoning(block["reasoningContent"], where, secret)
        uses_tools = uses_tools or bool(uses or results)
        if message["role"] == "user":
            if len(results) > len(pending):
                raise _invalid(
                    f"The number of toolResult blocks at messages.{i}.content exceeds the number of toolUse blocks of previous turn."
                )
            missing = [u for u in pending if u not in results]
            if missing:
                raise _invalid(
                    f"Expected toolResult blocks at messages.{i}.content for the following Ids: {', '.join(missing)}"
                )
        pending = uses
    if uses_tools and tools is None:
        raise _invalid(
            "The toolConfig field must be defined when using toolUse and toolResult content blocks."
        )
    _inference(body.get("inferenceConfig"), limit, thinking)


def _check_cache_point(block: dict[str, Any], caches: bool) -> None:
    if "cachePoint" in block and not caches:
        raise _invalid(
            "You invoked an unsupported model or your request did not allow prompt caching. See the documentation for more information."
        )


def _tool_config(config: Any, caches: bool) -> list[str] | None:
    if config is None:
        return None
    tools = config.get("tools") if isinstance(config, dict) else None
    if not isinstance(tools, list) or not tools:
        raise _invalid("The toolConfig field must have at least one tool in tools.")
    names = []
    for i, tool in enumerate(tools):
        if isinstance(tool, dict) and "cachePoint" in tool:
            _check_cache_point(tool, caches)
            continue
        spec = tool.get("toolSpec") if isinstance(tool, dict) else None
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise _invalid(f"The tool at toolConfig.tools.{i} must have a toolSpec with a name.")
        if not isinstance((spec.get("inputSchema") or {}).get("json"), dict):
            raise _invalid(
                f"The toolSpec at toolConfig.tools.{i} must have an inputSchema with json."
            )
        names.append(spec["name"])
    choice = config.get("toolChoice")
    if isinstance(choice, dict) and "tool" in choice and choice["tool"].get("name") not in names:
        raise _invalid("The tool named in toolChoice is not in toolConfig.tools.")
    return names


def _thinking(body: dict[str, Any], limit: int) -> dict[str, Any] | None:
    extra = body.get("additionalModelRequestFields") or {}
    thinking = extra.get("thinking") if isinstance(extra, dict) else None
    if not isinstance(thinking, dict) or thinking.get("type") != "enabled":
        return None
    budget = thinking.get("budget_tokens")
    max_tokens = (body.get("inferenceConfig") or {}).get("maxTokens")
    if not isinstance(budget, int) or budget < 1024:
        raise _invalid(
            "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
        )
    if isinstance(max_tokens, int) and budget >= max_tokens:
        raise _invalid(
            "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size"
        )
    return thinking


def _betas(body: dict[str, Any], model_id: str) -> None:
    extra = body.get("additionalModelRequestFields") or {}
    betas = extra.get("anthropic_beta") if isinstance(extra, dict) else None
    if betas is None:
        return
    if "anthropic." not in model_id:
        raise _invalid(
            "Malformed input request: extraneous key [anthropic_beta] is not permitted, "
            "please reformat your input and try again."
        )
    # Claude answers this one itself; Bedrock passes its words through.
    if not isinstance(betas, list) or not all(isinstance(b, str) for b in betas):
        raise _invalid(
            "The model returned the following errors: anthropic_beta: Input should be a valid list"
        )
    if any(b not in ACCEPTED_BETAS for b in betas):
        raise _invalid("The model returned the following errors: invalid beta flag")


def _check_reasoning(reasoning: Any, where: str, secret: bytes) -> None:
    text = reasoning.get("reasoningText") if isinstance(reasoning, dict) else None
    if isinstance(text, dict):
        expected = sign_thinking(secret, str(text.get("text") or ""))
        if not hmac.compare_digest(str(text.get("signature") or ""), expected):
            raise _invalid(f"{where}.reasoningContent: Invalid `signature` in `thinking` block")


def _inference(config: Any, limit: int, thinking: dict[str, Any] | None) -> None:
    if config is None:
        return
    if not isinstance(config, dict):
        raise _invalid("Malformed input request: inferenceConfig must be an object.")
    max_tokens = config.get("maxTokens")
    if max_tokens is not None:
        if not isinstance(max_tokens, int) or max_tokens < 1:
            raise _invalid(
                "1 validation error detected: Value at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must have value greater than or equal to 1"
            )
        if max_tokens > limit:
            raise _invalid(
                f"The maximum tokens you requested exceeds the model limit of {limit}. Try again with a maximum tokens value that is lower than {limit}."
            )
    temperature = config.get("temperature")
    if temperature is not None and not (
        isinstance(temperature, int | float) and 0 <= temperature <= 1
    ):
        raise _invalid(
            "1 validation error detected: Value at 'inferenceConfig.temperature' failed to satisfy constraint: Member must have value less than or equal to 1"
        )
    top_p = config.get("topP")
    if top_p is not None and not (isinstance(top_p, int | float) and 0 <= top_p <= 1):
        raise _invalid(
            "1 validation error detected: Value at 'inferenceConfig.topP' failed to satisfy constraint: Member must have value less than or equal to 1"
        )
    stops = config.get("stopSequences")
    if stops is not None and (not isinstance(stops, list) or len(stops) > 2500):
        raise _invalid("inferenceConfig.stopSequences must be a list of strings.")
    if thinking and temperature not in (None, 1, 1.0):
        raise _invalid(
            "`temperature` may only be set to 1 when thinking is enabled. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#feature-compatibility"
        )
