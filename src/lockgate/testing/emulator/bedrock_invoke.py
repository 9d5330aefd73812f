"""Bedrock's InvokeModel for embedding models: ``/model/{modelId}/invoke``
(also under the ``/bedrock`` prefix), signed with SigV4 as Converse is.

Two families, each with its own body, checked the way Bedrock checks them
(a JSON schema whose violations it reports in a ValidationException,
"Malformed input request: #/field: ..."):

- Titan Text Embeddings V2 (``amazon.titan-embed-text-v2:0``):
  ``inputText`` (required, 1 to 50,000 characters and at most 8,192 tokens),
  ``dimensions`` (1024, 512 or 256), ``normalize`` (default true),
  ``embeddingTypes`` (``float``, ``binary``). Answers ``embedding``,
  ``inputTextTokenCount`` and ``embeddingsByType``.
- Cohere Embed (``cohere.embed-english-v3``, ``cohere.embed-multilingual-v3``,
  ``cohere.embed-v4:0``): ``texts`` (1 to 96, each at most 2,048
  characters) and ``input_type`` (required), ``truncate``,
  ``embedding_types``. Answers ``embeddings``, ``id``, ``response_type``
  and ``texts``; its token count is only in the
  ``X-Amzn-Bedrock-Input-Token-Count`` header (sent for both families).

Vectors are deterministic in the text, so tests can compare them. A
``[[fail N]]`` directive in the (first) text answers Bedrock's error for N.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from typing import Any

import orjson
from aiohttp import web

from .bedrock import failure, verify_signature
from .bedrock_validate import aws_error
from .responses import ApiError, json_response
from .script import parse_script
from .state import STATE
from .tokens import count_tokens

__all__ = ["invoke_handler"]

NAME = "bedrock"
TITAN_DIMENSIONS = (1024, 512, 256)
TITAN_MAX_CHARS = 50_000
TITAN_MAX_TOKENS = 8192
COHERE_MAX_TEXTS = 96
COHERE_MAX_CHARS = 2048
COHERE_INPUT_TYPES = ("search_document", "search_query", "classification", "clustering")
#: Embedding model -> its vector's size (Cohere Embed v4: its default).
MODELS = {
    "amazon.titan-embed-text-v2:0": 1024,
    "cohere.embed-english-v3": 1024,
    "cohere.embed-multilingual-v3": 1024,
    "cohere.embed-v4:0": 1536,
}
_TYPES = {bool: "Boolean", int: "Integer", float: "Number", str: "String", list: "JSONArray"}


def _malformed(violations: list[str]) -> ApiError:
    return aws_error(
        400,
        "ValidationException",
        f"Malformed input request: {''.join(violations)}, please reformat your input and try again.",
    )


def _type_name(value: Any) -> str:
    if value is None:
        return "Null"
    if isinstance(value, dict):
        return "JSONObject"
    return _TYPES.get(type(value), type(value).__name__)


def _check_keys(body: dict[str, Any], required: tuple[str, ...], allowed: set[str]) -> list[str]:
    found = [f"#: required key [{k}] not found" for k in required if k not in body]
    found += [f"#: extraneous key [{k}] is not permitted" for k in body if k not in allowed]
    return found


def _vector(text: str, dims: int, normalize: bool) -> list[float]:
    digest = hashlib.shake_256(text.encode()).digest(dims * 2)
    raw = [
        int.from_bytes(digest[i : i + 2], "little") / 32767.5 - 1.0 for i in range(0, dims * 2, 2)
    ]
    if not normalize:
        return raw
    norm = math.sqrt(sum(v * v for v in raw)) or 1.0
    return [v / norm for v in raw]


def _titan(body: dict[str, Any], dims: int) -> tuple[dict[str, Any], int, str]:
    problems = _check_keys(
        body, ("inputText",), {"inputText", "dimensions", "normalize", "embeddingTypes"}
    )
    text = body.get("inputText")
    if "inputText" in body and not isinstance(text, str):
        problems.append(f"#/inputText: expected type: String, found: {_type_name(text)}")
    elif isinstance(text, str) and not 1 <= len(text) <= TITAN_MAX_CHARS:
        limit = "minLength: 1" if not text else f"maxLength: {TITAN_MAX_CHARS}"
        problems.append(f"#/inputText: expected {limit}, actual: {len(text)}")
    dimensions = body.get("dimensions", dims)
    if dimensions not in TITAN_DIMENSIONS or isinstance(dimensions, bool):
        problems.append(f"#/dimensions: {dimensions} is not a valid enum value")
    normalize = body.get("normalize", True)
    if not isinstance(normalize, bool):
        problems.append(f"#/normalize: expected type: Boolean, found: {_type_name(normalize)}")
    types = body.get("embeddingTypes", ["float"])
    if not isinstance(types, list) or not all(t in ("float", "binary") for t in types):
        problems.append("#/embeddingTypes: expected a list of 'float' and 'binary'")
    if problems:
        raise _malformed(problems)
    assert isinstance(text, str)
    tokens = count_tokens(text)
    if tokens > TITAN_MAX_TOKENS:
        raise aws_error(
            400,
            "ValidationException",
            f"400 Bad Request: Too many input tokens. Max input tokens: {TITAN_MAX_TOKENS}, "
            f"request input token count: {tokens}",
        )
    vector = _vector(text, dimensions, normalize)
    by_type: dict[str, Any] = {"float": vector}
    if "binary" in types:
        by_type["binary"] = [1 if v > 0 else 0 for v in vector]
    answer = {"embedding": vector, "inputTextTokenCount": tokens, "embeddingsByType": by_type}
    return answer, tokens, text


def _cohere(body: dict[str, Any], dims: int, v4: bool) -> tuple[dict[str, Any], int, str]:
    allowed = {"texts", "input_type", "truncate", "embedding_types"}
    if v4:
        allowed |= {"images", "inputs", "output_dimension", "max_tokens"}
    problems = _check_keys(body, ("texts", "input_type"), allowed)
    texts = body.get("texts")
    if "texts" in body:
        if not isinstance(texts, list):
            problems.append(f"#/texts: expected type: JSONArray, found: {_type_name(texts)}")
        elif not 1 <= len(texts) <= COHERE_MAX_TEXTS:
            limit = "minItems: 1" if not texts else f"maxItems: {COHERE_MAX_TEXTS}"
            problems.append(f"#/texts: expected {limit}, actual: {len(texts)}")
        else:
            for i, text in enumerate(texts):
                if not isinstance(text, str):
                    problems.append(
                        f"#/texts/{i}: expected type: String, found: {_type_name(text)}"
                    )
                elif len(text) > COHERE_MAX_CHARS:
                    problems.append(
                        f"#/texts/{i}: expected maxLength: {COHERE_MAX_CHARS}, actual: {len(text)}"
                    )
    kind = body.get("input_type")
    if "input_type" in body and kind not in COHERE_INPUT_TYPES:
        problems.append(f"#/input_type: {kind} is not a valid enum value")
    if body.get("truncate", "NONE") not in ("NONE", "START", "END"):
        problems.append(f"#/truncate: {body['truncate']} is not a valid enum value")
    if problems:
        raise _malformed(problems)
    assert isinstance(texts, list)
    vectors = [_vector(text, dims, True) for text in texts]
    answer: dict[str, Any] = {
        "id": secrets.token_hex(16),
        "texts": texts,
        "response_type": "embeddings_by_type" if v4 else "embeddings_floats",
        "embeddings": {"float": vectors} if v4 else vectors,
    }
    return answer, sum(count_tokens(t) for t in texts), texts[0]


async def invoke_handler(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    model = request.match_info["model_id"]
    raw = await request.read()
    try:
        verify_signature(request, raw, state)
        dims = MODELS.get(model)
        if dims is None:
            raise aws_error(400, "ValidationException", "The provided model identifier is invalid.")
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            body = None
        if not isinstance(body, dict):
            raise aws_error(
                400,
                "ValidationException",
                "Malformed input request, please reformat your input and try again.",
            )
        if model.startswith("amazon."):
            answer, tokens, first = _titan(body, dims)
        else:
            answer, tokens, first = _cohere(body, dims, model.startswith("cohere.embed-v4"))
        script = parse_script(first, NAME, model)
        if script.fail is not None:
            raise failure(script.fail)
    except ApiError as err:
        return err.response()
    headers = {
        "x-amzn-RequestId": secrets.token_hex(16),
        "X-Amzn-Bedrock-Input-Token-Count": str(tokens),
        "X-Amzn-Bedrock-Invocation-Latency": "12",
    }
    return json_response(answer, headers=headers)
