"""Validation of Gemini requests, as Google's proto JSON parser and the model
service report it.

Google parses the body against protobuf messages: every unknown field, at any
depth, is an error ("Invalid JSON payload received. Unknown name ... Cannot
find field."), reported all at once with snake_case paths, map entries as
``properties[i].value``. That is what makes JSON Schema keywords such as
``additionalProperties`` or ``$schema`` fatal inside function declarations.
The semantic rules (roles, function call/response turns, thinking support)
follow; they differ slightly in wording between Vertex AI and the public API.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from lockgate.llm.providers.models import model_facts

from .responses import ApiError

__all__ = ["DUMMY_SIGNATURES", "google_error", "validate_generate"]

# Field specs: "str", "int", "num", "bool", "any" (a google.protobuf.Value),
# ("msg", NAME), ("list", spec), ("map", spec), ("enum", NAME).
Spec = Any
MESSAGES: dict[str, dict[str, Spec]] = {
    "GenerateContentRequest": {
        "contents": ("list", ("msg", "Content")),
        "systemInstruction": ("msg", "Content"),
        "tools": ("list", ("msg", "Tool")),
        "toolConfig": ("msg", "ToolConfig"),
        "safetySettings": ("list", ("msg", "SafetySetting")),
        "generationConfig": ("msg", "GenerationConfig"),
        "cachedContent": "str",
        "labels": ("map", "str"),
    },
    "Content": {"role": "str", "parts": ("list", ("msg", "Part"))},
    "Part": {
        "text": "str",
        "inlineData": ("msg", "Blob"),
        "fileData": ("msg", "FileData"),
        "functionCall": ("msg", "FunctionCall"),
        "functionResponse": ("msg", "FunctionResponse"),
        "executableCode": "any",
        "codeExecutionResult": "any",
        "thought": "bool",
        "thoughtSignature": "str",
        "videoMetadata": "any",
        "mediaResolution": "any",
        "partMetadata": "any",
    },
    "Blob": {"mimeType": "str", "data": "str", "displayName": "str"},
    "FileData": {"mimeType": "str", "fileUri": "str", "displayName": "str"},
    "FunctionCall": {
        "id": "str",
        "name": "str",
        "args": "any",
        "partialArgs": "any",
        "willContinue": "bool",
    },
    "FunctionResponse": {
        "id": "str",
        "name": "str",
        "response": "any",
        "parts": "any",
        "willContinue": "bool",
        "scheduling": "str",
    },
    "Tool": {
        "functionDeclarations": ("list", ("msg", "FunctionDeclaration")),
        "googleSearch": "any",
        "googleSearchRetrieval": "any",
        "codeExecution": "any",
        "urlContext": "any",
        "retrieval": "any",
        "computerUse": "any",
        "fileSearch": "any",
        "googleMaps": "any",
        "enterpriseWebSearch": "any",
    },
    "FunctionDeclaration": {
        "name": "str",
        "description": "str",
        "parameters": ("msg", "Schema"),
        "parametersJsonSchema": "any",
        "response": ("msg", "Schema"),
        "responseJsonSchema": "any",
        "behavior": "str",
    },
    "Schema": {
        "type": ("enum", "Type"),
        "format": "str",
        "title": "str",
        "description": "str",
        "nullable": "bool",
        "enum": ("list", "str"),
        "maxItems": "int",
        "minItems": "int",
        "properties": ("map", ("msg", "Schema")),
        "required": ("list", "str"),
        "minProperties": "int",
        "maxProperties": "int",
        "minLength": "int",
        "maxLength": "int",
        "pattern": "str",
        "example": "any",
        "anyOf": ("list", ("msg", "Schema")),
        "propertyOrdering": ("list", "str"),
        "default": "any",
        "items": ("msg", "Schema"),
        "minimum": "num",
        "maximum": "num",
    },
    "ToolConfig": {
        "functionCallingConfig": ("msg", "FunctionCallingConfig"),
        "retrievalConfig": "any",
    },
    "FunctionCallingConfig": {"mode": ("enum", "Mode"), "allowedFunctionNames": ("list", "str")},
    "SafetySetting": {"category": "str", "threshold": "str", "method": "str"},
    "GenerationConfig": {
        "stopSequences": ("list", "str"),
        "responseMimeType": "str",
        "responseSchema": ("msg", "Schema"),
        "responseJsonSchema": "any",
        "_responseJsonSchema": "any",
        "responseModalities": ("list", "str"),
        "candidateCount": "int",
        "maxOutputTokens": "int",
        "temperature": "num",
        "topP": "num",
        "topK": "num",
        "seed": "int",
        "presencePenalty": "num",
        "frequencyPenalty": "num",
        "responseLogprobs": "bool",
        "logprobs": "int",
        "enableEnhancedCivicAnswers": "bool",
        "speechConfig": "any",
        "thinkingConfig": ("msg", "ThinkingConfig"),
        "mediaResolution": "str",
        "routingConfig": "any",
        "audioTimestamp": "bool",
        "imageConfig": "any",
        "enableAffectiveDialog": "bool",
        "modelSelectionConfig": "any",
    },
    "ThinkingConfig": {"includeThoughts": "bool", "thinkingBudget": "int", "thinkingLevel": "str"},
}
ENUMS = {
    "Type": (
        "TYPE_UNSPECIFIED",
        "STRING",
        "NUMBER",
        "INTEGER",
        "BOOLEAN",
        "ARRAY",
        "OBJECT",
        "NULL",
    ),
    "Mode": ("MODE_UNSPECIFIED", "AUTO", "ANY", "NONE", "VALIDATED"),
}
_SCALAR_KIND = {"str": "TYPE_STRING", "int": "TYPE_INT32", "num": "TYPE_FLOAT", "bool": "TYPE_BOOL"}
_FORMATS = {
    "STRING": ("enum", "date-time"),
    "NUMBER": ("float", "double"),
    "INTEGER": ("int32", "int64"),
}
_FUNCTION_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_.:\-]{0,63}$")
_LEARN = "Learn more: https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/gemini"
#: Google's documented values that skip signature validation.
DUMMY_SIGNATURES = frozenset(
    {"skip_thought_signature_validator", "context_engineering_is_the_way_to_go"}
)


def google_error(
    code: int,
    status: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> ApiError:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        error["details"] = details
    return ApiError(code, {"error": error}, headers)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower().lstrip("_")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


class _Parser:
    """Walks a body against the message specs, collecting every violation."""

    def __init__(self, type_prefix: str) -> None:
        self.type_prefix = type_prefix
        self.violations: list[tuple[str, str]] = []

    def fail(self, field: str, message: str) -> None:
        self.violations.append((field, message))

    def message(self, value: Any, name: str, path: str) -> None:
        if not isinstance(value, dict):
            self.fail(
                path,
                f"Invalid value at '{path}' ({self.type_prefix}.{name}), {orjson.dumps(value).decode()}",
            )
            return
        spec = MESSAGES[name]
        for key, item in value.items():
            camel = key if key in spec else _camel(key)
            if camel not in spec:
                at = f" at '{path}'" if path else ""
                self.fail(
                    path,
                    f'Invalid JSON payload received. Unknown name "{key}"{at}: Cannot find field.',
                )
                continue
            self.field(item, spec[camel], key, _join(path, _snake(camel)), path)

    def field(self, value: Any, spec: Spec, key: str, path: str, parent: str) -> None:
        if value is None or spec == "any":
            return
        if isinstance(spec, tuple) and spec[0] == "list":
            if not isinstance(value, list):
                self.fail(
                    path,
                    f"Invalid value at '{path}' ({_describe(spec[1], self.type_prefix)}), {orjson.dumps(value).decode()}",
                )
                return
            for i, item in enumerate(value):
                if item is None:
                    self.fail(
                        f"{path}[{i}]",
                        f"Invalid value at '{path}[{i}]' ({_describe(spec[1], self.type_prefix)}), null",
                    )
                    continue
                self.field(item, spec[1], key, f"{path}[{i}]", parent)
            return
        if isinstance(value, list):
            at = f" at '{parent}'" if parent else ""
            self.fail(
                parent,
                f'Invalid JSON payload received. Unknown name "{key}"{at}: Proto field is not repeating, cannot start list.',
            )
            return
        if isinstance(spec, tuple) and spec[0] == "map":
            if not isinstance(value, dict):
                self.fail(path, f"Invalid value at '{path}', {orjson.dumps(value).decode()}")
                return
            for i, item in enumerate(value.values()):
                self.field(item, spec[1], key, f"{path}[{i}].value", f"{path}[{i}].value")
            return
        if isinstance(spec, tuple) and spec[0] == "msg":
            self.message(value, spec[1], path)
            return
        if isinstance(spec, tuple) and spec[0] == "enum":
            if not isinstance(value, str) or value.upper() not in ENUMS[spec[1]]:
                self.fail(
                    path,
                    f"Invalid value at '{path}' ({self.type_prefix}.{spec[1]}), {orjson.dumps(value).decode()}",
                )
            return
        ok = {
            "str": isinstance(value, str),
            "bool": isinstance(value, bool),
            "int": (isinstance(value, int) and not isinstance(value, bool))
            or (isinstance(value, str) and value.lstrip("-").isdigit()),
            "num": isinstance(value, int | float) and not isinstance(value, bool),
        }[spec]
        if not ok:
            self.fail(
                path,
                f"Invalid value at '{path}' ({_SCALAR_KIND[spec]}), {orjson.dumps(value).decode()}",
            )


def _describe(spec: Spec, prefix: str) -> str:
    return f"{prefix}.{spec[1]}" if isinstance(spec, tuple) else _SCALAR_KIND.get(spec, "value")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _get(obj: dict[str, Any], camel: str) -> Any:
    return obj.get(camel, obj.get(_snake(camel)))


class _Semantics:
    """Rules checked after the body parsed; the first failure is reported."""

    def __init__(self, vertex: bool) -> None:
        self.vertex = vertex

    def invalid(self, message: str) -> ApiError:
        return google_error(400, "INVALID_ARGUMENT", message)

    def contents(self, body: dict[str, Any]) -> None:
        contents = _get(body, "contents") or []
        if not contents:
            raise self.invalid(
                f"Unable to submit request because it has an empty contents field. {_LEARN}"
                if self.vertex
                else "* GenerateContentRequest.contents: contents is not specified\n"
            )
        for i, content in enumerate(contents):
            role = content.get("role")
            if (role is not None or len(contents) > 1) and role not in ("user", "model"):
                raise self.invalid("Please use a valid role: user, model.")
            parts = content.get("parts") or []
            if not parts:
                raise self.invalid(
                    "Unable to submit request because it must include at least one parts field, which "
                    f"describes the prompt input. {_LEARN}"
                    if self.vertex
                    else f"* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty.\n"
                )
            for j, part in enumerate(parts):
                data = [
                    k
                    for k in part
                    if _camel(k)
                    not in (
                        "thought",
                        "thoughtSignature",
                        "videoMetadata",
                        "mediaResolution",
                        "partMetadata",
                    )
                ]
                if not data or (data in (["text"],) and part["text"] == ""):
                    raise self.invalid(
                        "Unable to submit request because it has an empty text parameter. Add a value to the "
                        f"parameter and try again. {_LEARN}"
                        if self.vertex
                        else f"* GenerateContentRequest.contents[{i}].parts[{j}].data: required oneof field 'data' must have one initialized field\n"
                    )
        self.turns(contents)

    def turns(self, contents: list[dict[str, Any]]) -> None:
        previous: dict[str, Any] | None = None
        for content in contents:
            parts = content.get("parts") or []
            calls = [_get(p, "functionCall") for p in parts if _get(p, "functionCall")]
            responses = [_get(p, "functionResponse") for p in parts if _get(p, "functionResponse")]
            prev_parts = (previous or {}).get("parts") or []
            prev_calls = [_get(p, "functionCall") for p in prev_parts if _get(p, "functionCall")]
            if calls and (previous is None or previous.get("role") == "model"):
                raise self.invalid(
                    "Please ensure that function call turn comes immediately after a user turn or after a function response turn."
                )
            if responses:
                if not prev_calls or (previous or {}).get("role") != "model":
                    raise self.invalid(
                        "Please ensure that function response turn comes immediately after a function call turn."
                    )
                if len(responses) != len(prev_calls):
                    raise self.invalid(
                        "Please ensure that the number of function response parts is equal to the number of "
                        "function call parts of the function call turn."
                    )
                names = sorted(str(c.get("name")) for c in prev_calls)
                if sorted(str(r.get("name")) for r in responses) != names:
                    raise self.invalid(
                        "Please ensure that the name of each function response part matches a function call "
                        "part of the function call turn."
                    )
            previous = content

    def signatures(self, contents: list[dict[str, Any]]) -> None:
        """Gemini 3 needs the thought signature of the first function call of
        every model turn since the last user text (the "current turn")."""
        start = 0
        for i, content in enumerate(contents):
            if content.get("role", "user") == "user" and any(
                "text" in p for p in content.get("parts") or []
            ):
                start = i
        for i in range(start, len(contents)):
            content = contents[i]
            if content.get("role") != "model":
                continue
            calls = [p for p in content.get("parts") or [] if _get(p, "functionCall")]
            if calls and not _get(calls[0], "thoughtSignature"):
                name = _get(calls[0], "functionCall").get("name")
                if self.vertex:  # Vertex AI words it its own way
                    raise self.invalid(
                        f"Unable to submit request because function call `{name}` in the {i + 1}. "
                        "content block is missing a `thought_signature`. Learn more: "
                        "https://docs.cloud.google.com/vertex-ai/generative-ai/docs/thought-signatures"
                    )
                raise self.invalid(
                    "Function call is missing a thought_signature in functionCall parts. This is required for "
                    "tools to work correctly, and missing thought_signature may lead to degraded model "
                    f"performance. Additional data, function call `default_api:{name}` , position {i + 1}. "
                    "Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
                )

    def tools(self, body: dict[str, Any]) -> set[str]:
        """Function declarations; every schema problem is reported at once,
        one ``* path: problem`` line each, as the model service does."""
        names: set[str] = set()
        problems: list[str] = []
        for i, tool in enumerate(_get(body, "tools") or []):
            for j, decl in enumerate(_get(tool, "functionDeclarations") or []):
                path = f"tools[{i}].function_declarations[{j}]"
                name = str(decl.get("name", ""))
                if not _FUNCTION_NAME.match(name):
                    problems.append(
                        f"{path}.name: Invalid function name. Must start with a letter or an underscore. "
                        "Must be alphameric (a-z, A-Z, 0-9), underscores (_), dots (.), colons (:), or "
                        "dashes (-), with a maximum length of 64."
                    )
                params = decl.get("parameters")
                if params is not None and str(params.get("type", "")).upper() != "OBJECT":
                    raise self.invalid(
                        f"Unable to submit request because `{name}` functionDeclaration parameters "
                        "schema should be of type OBJECT. Learn more: "
                        "https://cloud.google.com/vertex-ai/generative-ai/docs/multimodal/function-calling"
                    )
                if params is not None:
                    self.schema(params, f"{path}.parameters", problems)
                names.add(name)
        if problems:
            raise self.invalid("".join(f"* GenerateContentRequest.{p}\n" for p in problems))
        return names

    def schema(self, schema: dict[str, Any], path: str, problems: list[str]) -> None:
        kind = str(schema.get("type", "")).upper()
        props = schema.get("properties")
        if props is not None and kind != "OBJECT":
            problems.append(f"{path}.properties: only allowed for OBJECT type")
        if schema.get("enum") is not None and kind not in ("STRING", ""):
            problems.append(f"{path}.enum: only allowed for STRING type")
        fmt = schema.get("format")
        if fmt is not None and kind in _FORMATS and fmt not in _FORMATS[kind]:
            allowed = " and ".join(f"'{f}'" for f in _FORMATS[kind])
            problems.append(f"{path}.format: only {allowed} are supported for {kind} type")
        for k, req in enumerate(schema.get("required") or []):
            if req not in (props or {}):
                problems.append(f"{path}.required[{k}]: property is not defined")
        for key, sub in (props or {}).items():
            if isinstance(sub, dict):
                self.schema(sub, f"{path}.properties[{key}]", problems)
        if isinstance(schema.get("items"), dict):
            self.schema(schema["items"], f"{path}.items", problems)
        for k, sub in enumerate(_get(schema, "anyOf") or []):
            if isinstance(sub, dict):
                self.schema(sub, f"{path}.any_of[{k}]", problems)

    def response_format(self, body: dict[str, Any], model: str) -> None:
        """JSON mode: its schema follows the function-declaration rules, and
        before Gemini 3 it cannot be combined with function calling."""
        config = _get(body, "generationConfig") or {}
        schema = _get(config, "responseSchema")
        if isinstance(schema, dict):
            problems: list[str] = []
            self.schema(schema, "generation_config.response_schema", problems)
            if problems:
                raise self.invalid("".join(f"* GenerateContentRequest.{p}\n" for p in problems))
        functions = any(_get(t, "functionDeclarations") for t in _get(body, "tools") or [])
        json_mode = _get(config, "responseMimeType") == "application/json"
        if json_mode and functions and not re.match(r"^gemini-([3-9]|\d{2})", model):
            raise self.invalid(
                "Function calling with a response mime type: 'application/json' is unsupported"
            )

    def thinking(self, body: dict[str, Any], model: str) -> None:
        config = _get(_get(body, "generationConfig") or {}, "thinkingConfig")
        if not config:
            return
        budget = _get(config, "thinkingBudget")
        budget = int(budget) if budget is not None else None
        wants = (
            bool(_get(config, "includeThoughts"))
            or bool(_get(config, "thinkingLevel"))
            or (budget not in (None, 0))
        )
        if not thinking_model(model):
            if wants:
                raise self.invalid(
                    f"Unable to submit request because thinking is not supported by this model. {_LEARN}"
                )
            return
        if budget is None or budget == -1:
            return
        lo, hi = budget_range(model)
        if budget == 0 and lo > 0:
            raise self.invalid("Budget 0 is invalid. This model only works in thinking mode.")
        if budget != 0 and not lo <= budget <= hi:
            raise self.invalid(
                f"The thinking budget {budget} is invalid. Please choose a value between {lo} and {hi}."
            )

    def output_limit(self, body: dict[str, Any], model: str) -> None:
        """Vertex AI refuses more output than the model gives (the public API
        lowers the value instead). Limits from the gateway's table of model facts."""
        if not self.vertex:
            return
        value = _get(_get(body, "generationConfig") or {}, "maxOutputTokens")
        facts = model_facts("vertex", model)
        limit = facts.max_output if facts is not None else None
        if limit is None or not isinstance(value, int | str):
            return
        if int(value) > limit:
            raise self.invalid(
                f"Unable to submit request because it has a maxOutputTokens value of {value} "
                f"but the supported range is from 1 (inclusive) to {limit + 1} (exclusive). "
                "Update the value and try again."
            )


def thinking_model(model: str) -> bool:
    """From the table of model facts; by name for models it does not know."""
    facts = model_facts("gemini", model)
    if facts is not None:
        return facts.reasoning != "none"
    return not re.match(r"^gemini-(1\.|2\.0)", model)


def budget_range(model: str) -> tuple[int, int]:
    if "pro" in model:
        return (128, 32768)
    if "lite" in model:
        return (512, 24576)
    return (0, 24576)


def validate_generate(body: Any, model: str, vertex: bool, counting: bool = False) -> set[str]:
    """Raises Google's 400 (all parse errors at once, then the first semantic
    one); returns the declared function names."""
    prefix = (
        "type.googleapis.com/google.cloud.aiplatform.v1"
        if vertex
        else "type.googleapis.com/google.ai.generativelanguage.v1beta"
    )
    if not isinstance(body, dict):
        raise google_error(
            400, "INVALID_ARGUMENT", "Invalid JSON payload received. Expected an object."
        )
    parser = _Parser(prefix)
    parser.message(body, "GenerateContentRequest", "")
    if parser.violations:
        details = [
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": f, "description": d} for f, d in parser.violations],
            }
        ]
        raise google_error(
            400, "INVALID_ARGUMENT", "\n".join(d for _, d in parser.violations), details
        )
    rules = _Semantics(vertex)
    rules.contents(body)
    names = rules.tools(body)
    rules.thinking(body, model)
    if not counting:
        rules.output_limit(body, model)
        rules.response_format(body, model)
    if not counting and model.startswith("gemini-3"):
        rules.signatures(_get(body, "contents") or [])
    return names
