"""OpenAI embeddings requests served by Bedrock's InvokeModel.

Bedrock has no common embeddings API: each model family takes its own body
at ``/model/{modelId}/invoke`` (AWS's "Amazon Titan Embeddings Text" and
"Cohere Embed" model-parameter pages). Two families are served:

- **Titan Text Embeddings V2** (``amazon.titan-embed-text-v2:0``):
  ``{"inputText", "dimensions", "normalize"}``, one text per call, answered
  ``{"embedding", "inputTextTokenCount"}``. OpenAI's ``dimensions`` passes
  through (Titan takes 256, 512 or 1024 and refuses others itself); Kong's
  ``model.options.bedrock.embeddings_normalize`` sets ``normalize`` (unset:
  not sent, and Titan normalizes by default). A list of texts becomes one
  call per text (at most :data:`TITAN_MAX_TEXTS`), answered together.
- **Cohere Embed** (``cohere.embed-*``): ``{"texts", "input_type"}`` for up
  to 96 texts in one call, answered ``{"embeddings": [[...]]}`` (or, for
  Embed v4, ``{"embeddings": {"float": [[...]]}}``). OpenAI has no input
  type: a client's own ``input_type`` field (the SDK's ``extra_body``) is
  passed on when it is one of Cohere's, else ``search_document`` is sent,
  the right one for texts being indexed.
  Cohere's body has no token count; Bedrock's
  ``X-Amzn-Bedrock-Input-Token-Count`` response header gives it.

OpenAI's ``encoding_format: base64`` (the ``openai`` SDK's default) is
honoured: the floats are packed little-endian float32, as OpenAI does.
Token-array inputs have no text to send and are refused.
"""

from __future__ import annotations

import array
import base64
import sys
from typing import Any

from lockgate.llm.usage import Usage
from lockgate.llm.wire.errors import UntranslatableRequest

__all__ = ["embeddings_family", "invoke_to_openai_embeddings", "openai_to_invoke_embeddings"]

#: Cohere Embed on Bedrock takes at most this many texts per call.
COHERE_MAX_TEXTS = 96
COHERE_INPUT_TYPES = ("search_document", "search_query", "classification", "clustering")
#: Titan takes one text per call: a longer list than this is refused rather
#: than turned into a burst of calls that Bedrock would throttle.
TITAN_MAX_TEXTS = 128
_SERVED = "amazon.titan-embed-text-v2:0 and cohere.embed-* models"


def embeddings_family(model: str) -> str | None:
    """``titan`` or ``cohere`` for a model this module serves, else None."""
    if "amazon.titan-embed-text-v2" in model:
        return "titan"
    if "cohere.embed-" in model:
        return "cohere"
    return None


def _texts(body: dict[str, Any]) -> list[str]:
    value = body.get("input")
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise UntranslatableRequest("'input' must be a string or a non-empty list of strings")
    if not all(isinstance(item, str) for item in items):
        raise UntranslatableRequest(
            "'input' as token arrays cannot be sent to Bedrock, whose embedding models "
            "take text: send the input as strings"
        )
    return items


def openai_to_invoke_embeddings(
    body: dict[str, Any], model: str, normalize: bool | None
) -> list[dict[str, Any]]:
    """An OpenAI embeddings body -> the InvokeModel bodies for ``model``, one per call."""
    family = embeddings_family(model)
    if family is None:
        raise UntranslatableRequest(
            f"model {model!r}: lockgate serves Bedrock embeddings for {_SERVED}"
        )
    texts = _texts(body)
    fmt = body.get("encoding_format")
    if fmt not in (None, "float", "base64"):
        raise UntranslatableRequest(
            f"Invalid value: {fmt!r}. Supported values are: 'float' and 'base64'."
        )
    if family == "titan":
        if len(texts) > TITAN_MAX_TEXTS:
            raise UntranslatableRequest(
                f"{model} embeds one text per call, and lockgate makes at most "
                f"{TITAN_MAX_TEXTS} calls for one request; this one has {len(texts)} texts"
            )
        options: dict[str, Any] = {}
        if body.get("dimensions") is not None:
            options["dimensions"] = body["dimensions"]
        if normalize is not None:
            options["normalize"] = normalize
        return [{"inputText": text, **options} for text in texts]
    if len(texts) > COHERE_MAX_TEXTS:
        raise UntranslatableRequest(
            f"{model} takes at most {COHERE_MAX_TEXTS} texts per request; this one has {len(texts)}"
        )
    kind = body.get("input_type")
    return [
        {"texts": texts, "input_type": kind if kind in COHERE_INPUT_TYPES else "search_document"}
    ]


def invoke_to_openai_embeddings(
    answers: list[tuple[dict[str, Any], Any]], model: str, body: dict[str, Any]
) -> tuple[dict[str, Any], Usage]:
    """InvokeModel embeddings answers, in the order of the calls, each with
    Bedrock's response headers (for the token count Cohere's body lacks) ->
    (one OpenAI embeddings response, its usage). ``body`` is the client's
    request (for its encoding format)."""
    vectors: list[Any] = []
    tokens = 0
    for resp, headers in answers:
        if "embedding" in resp:
            vectors.append(resp["embedding"])
        else:
            found = resp.get("embeddings")
            vectors += found.get("float", []) if isinstance(found, dict) else found or []
        counted = resp.get("inputTextTokenCount")
        if not isinstance(counted, int):
            header = headers.get("X-Amzn-Bedrock-Input-Token-Count") if headers else None
            counted = int(header) if header and header.isdigit() else 0
        tokens += counted
    base64_out = body.get("encoding_format") == "base64"
    data = [
        {
            "object": "embedding",
            "index": i,
            "embedding": _base64(vector) if base64_out else vector,
        }
        for i, vector in enumerate(vectors)
    ]
    answer = {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
    return answer, Usage(prompt_tokens=tokens, completion_tokens=0)


def _base64(vector: list[float]) -> str:
    packed = array.array("f", vector)
    if sys.byteorder != "little":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode()
