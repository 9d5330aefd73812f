"""OpenAI embeddings requests and answers to and from Bedrock's InvokeModel
bodies (Titan Text Embeddings V2, Cohere Embed v3 and v4)."""

from __future__ import annotations

import array
import base64
from typing import Any

import pytest

from lockgate.llm.wire.bedrock_embeddings import (
    embeddings_family,
    invoke_to_openai_embeddings,
    openai_to_invoke_embeddings,
)
from lockgate.llm.wire.errors import UntranslatableRequest

TITAN = "amazon.titan-embed-text-v2:0"


@pytest.mark.parametrize(
    ("body", "normalize", "expected"),
    [
        ({"input": "hi"}, None, [{"inputText": "hi"}]),
        (
            {"input": ["hi"], "dimensions": 512},
            False,
            [{"inputText": "hi", "dimensions": 512, "normalize": False}],
        ),
        (
            {"input": "hi", "encoding_format": "base64", "user": "u"},
            True,
            [{"inputText": "hi", "normalize": True}],
        ),
        # One call per text: Titan embeds one at a time.
        (
            {"input": ["a", "b"], "dimensions": 256},
            None,
            [{"inputText": "a", "dimensions": 256}, {"inputText": "b", "dimensions": 256}],
        ),
    ],
)
def test_titan_request(
    body: dict[str, Any], normalize: bool | None, expected: list[dict[str, Any]]
) -> None:
    assert openai_to_invoke_embeddings(body, TITAN, normalize) == expected


def test_cohere_request_sends_every_text_as_documents() -> None:
    body = {"input": ["a", "b"], "model": "x"}
    assert openai_to_invoke_embeddings(body, "cohere.embed-english-v3", True) == [
        {"texts": ["a", "b"], "input_type": "search_document"}
    ]


@pytest.mark.parametrize(
    ("body", "model", "said"),
    [
        ({"input": ["a"] * 129}, TITAN, "at most 128 calls for one request; this one has 129"),
        ({"input": [[1, 2]]}, TITAN, "token arrays"),
        ({"input": []}, TITAN, "non-empty list of strings"),
        ({"input": "a", "encoding_format": "int8"}, TITAN, "Supported values are"),
        ({"input": ["a"] * 97}, "cohere.embed-v4:0", "at most 96 texts"),
        ({"input": "a"}, "amazon.titan-embed-image-v1", "lockgate serves Bedrock embeddings for"),
    ],
)
def test_refused_requests(body: dict[str, Any], model: str, said: str) -> None:
    with pytest.raises(UntranslatableRequest, match=said):
        openai_to_invoke_embeddings(body, model, None)


def test_titan_answer_in_base64_as_openai_packs_it() -> None:
    vector = [0.5, -0.25, 1.0]
    other = [0.125, 0.0, -1.0]
    answer, usage = invoke_to_openai_embeddings(
        [
            ({"embedding": vector, "inputTextTokenCount": 7}, {}),
            ({"embedding": other, "inputTextTokenCount": 2}, {}),
        ],
        TITAN,
        {"input": ["x", "y"], "encoding_format": "base64"},
    )
    unpacked = [array.array("f", base64.b64decode(d["embedding"])).tolist() for d in answer["data"]]
    assert unpacked == [vector, other]
    assert [d["index"] for d in answer["data"]] == [0, 1]
    assert answer["usage"] == {"prompt_tokens": 9, "total_tokens": 9}
    assert (usage.prompt_tokens, usage.completion_tokens) == (9, 0)


@pytest.mark.parametrize(
    "embeddings",
    [[[0.1], [0.2]], {"float": [[0.1], [0.2]]}],
    ids=["cohere-v3", "cohere-v4"],
)
def test_cohere_answer_counts_tokens_from_the_header(embeddings: Any) -> None:
    answer, usage = invoke_to_openai_embeddings(
        [
            (
                {"embeddings": embeddings, "id": "x", "texts": ["a", "b"]},
                {"X-Amzn-Bedrock-Input-Token-Count": "12"},
            )
        ],
        "cohere.embed-english-v3",
        {"input": ["a", "b"]},
    )
    assert [d["embedding"] for d in answer["data"]] == [[0.1], [0.2]]
    assert [d["index"] for d in answer["data"]] == [0, 1]
    assert usage.prompt_tokens == 12


def test_families() -> None:
    assert embeddings_family(TITAN) == "titan"
    assert embeddings_family("cohere.embed-multilingual-v3") == "cohere"
    assert embeddings_family("amazon.titan-embed-text-v1") is None


def test_cohere_input_type_from_the_client() -> None:
    body = {"input": ["q"], "input_type": "search_query"}
    (sent,) = openai_to_invoke_embeddings(body, "cohere.embed-english-v3", None)
    assert sent == {"texts": ["q"], "input_type": "search_query"}
    odd = {"input": ["q"], "input_type": "poetry"}
    assert openai_to_invoke_embeddings(odd, "cohere.embed-english-v3", None)[0]["input_type"] == (
        "search_document"
    )
