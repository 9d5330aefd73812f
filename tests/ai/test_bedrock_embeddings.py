"""``route_type: llm/v1/embeddings`` with ``provider: bedrock``: the official
``openai`` SDK's ``embeddings.create`` through the real gateway to the
Bedrock emulator's InvokeModel, which checks the SigV4 signature and each
model's own body (Titan Text Embeddings V2, Cohere Embed) as Bedrock does."""

from __future__ import annotations

import math
from typing import Any

import openai
import pytest
import yaml

from lockgate.testing.emulator.bedrock import DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY
from tests.ai.conftest import Stack

TITAN = "amazon.titan-embed-text-v2:0"
COHERE = "cohere.embed-english-v3"


def _plugin(emulator: str, model: str, normalize: bool | None) -> dict[str, Any]:
    bedrock: dict[str, Any] = {"aws_region": "eu-west-1"}
    if normalize is not None:
        bedrock["embeddings_normalize"] = normalize
    return {
        "name": "ai-proxy",
        "config": {
            "route_type": "llm/v1/embeddings",
            "llm_format": "openai",
            "logging": {"log_statistics": True, "log_payloads": False},
            "auth": {
                "aws_access_key_id": DEFAULT_ACCESS_KEY_ID,
                "aws_secret_access_key": DEFAULT_SECRET_ACCESS_KEY,
            },
            "model": {
                "provider": "bedrock",
                "name": model,
                "options": {"upstream_url": emulator + "/bedrock", "bedrock": bedrock},
            },
        },
    }


@pytest.fixture(scope="module")
def embeddings(stack: Stack) -> Stack:
    routes = [
        ("titan", TITAN, None),
        ("titan-raw", TITAN, False),
        ("cohere", COHERE, None),
        ("llama-embed", "meta.llama3-1-70b-instruct-v1:0", None),
    ]
    config = {
        "_format_version": "3.0",
        "services": [
            {
                "name": "bedrock-embeddings",
                "url": stack.emulator,
                "routes": [
                    {
                        "name": name,
                        "paths": [f"/{name}"],
                        "plugins": [_plugin(stack.emulator, model, normalize)],
                    }
                    for name, model, normalize in routes
                ],
            }
        ],
    }
    stack.apply(yaml.safe_dump(config, sort_keys=False))
    return stack


def _upstream(stack: Stack) -> list[dict[str, Any]]:
    return stack.upstream("/invoke")


def _norm(vector: list[float]) -> float:
    return math.sqrt(sum(v * v for v in vector))


def test_titan_through_the_openai_sdk(embeddings: Stack, tag: str) -> None:
    """The SDK asks for base64 by default and decodes it: the vector must
    equal the float answer, and Titan's token count reaches usage and the log."""
    embeddings.clear_upstream()
    client = embeddings.openai("titan", tag)
    packed = client.embeddings.create(model=TITAN, input="a lighthouse", dimensions=256)
    floats = client.embeddings.create(
        model=TITAN, input=["a lighthouse"], dimensions=256, encoding_format="float"
    )
    vector = packed.data[0].embedding
    assert len(vector) == 256
    assert vector == pytest.approx(floats.data[0].embedding, abs=1e-6)
    assert _norm(vector) == pytest.approx(1.0, abs=1e-4)  # Titan normalizes by default
    assert packed.model == TITAN
    assert packed.usage.prompt_tokens > 0
    assert packed.usage.total_tokens == packed.usage.prompt_tokens
    first, _ = _upstream(embeddings)
    assert first["path"].endswith("/invoke")
    assert first["body"] == {"inputText": "a lighthouse", "dimensions": 256}
    headers = {k.lower(): v for k, v in first["headers"].items()}
    assert headers["authorization"].startswith(
        f"AWS4-HMAC-SHA256 Credential={DEFAULT_ACCESS_KEY_ID}/"
    )
    log = embeddings.log_records(tag, 2)[0]["ai"]["proxy"]
    assert log["meta"]["provider_name"] == "bedrock"
    assert log["usage"]["prompt_tokens"] == packed.usage.prompt_tokens
    assert log["usage"]["completion_tokens"] == 0
    assert not log["usage"].get("estimated")


def test_embeddings_normalize_option(embeddings: Stack, tag: str) -> None:
    """Kong's ``embeddings_normalize: false`` reaches Titan as ``normalize``."""
    embeddings.clear_upstream()
    answer = embeddings.openai("titan-raw", tag).embeddings.create(
        model=TITAN, input="a lighthouse", encoding_format="float"
    )
    assert len(answer.data[0].embedding) == 1024
    assert _norm(answer.data[0].embedding) > 1.5
    assert _upstream(embeddings)[0]["body"] == {"inputText": "a lighthouse", "normalize": False}


def test_titan_refusals_reach_the_client(embeddings: Stack, tag: str) -> None:
    client = embeddings.openai("titan", tag)
    # Titan's own check (only 256, 512 and 1024), in OpenAI's error shape.
    with pytest.raises(openai.BadRequestError) as caught:
        client.embeddings.create(model=TITAN, input="x", dimensions=300)
    assert "#/dimensions: 300 is not a valid enum value" in caught.value.message
    embeddings.clear_upstream()
    with pytest.raises(openai.BadRequestError) as several:
        client.embeddings.create(model=TITAN, input=["text"] * 129)
    assert "at most 128 calls for one request" in several.value.message
    with pytest.raises(openai.BadRequestError) as tokens:
        client.embeddings.create(model=TITAN, input=[[1, 2, 3]])
    assert "token arrays" in tokens.value.message
    assert _upstream(embeddings) == []


def test_titan_embeds_a_list_one_call_each(embeddings: Stack, tag: str) -> None:
    """Titan takes one text per call: each text is its own signed call, and
    the answers come back together, in order, with their tokens summed."""
    embeddings.clear_upstream()
    client = embeddings.openai("titan", tag)
    texts = [f"text number {i}" for i in range(6)]
    together = client.embeddings.create(model=TITAN, input=texts, dimensions=256)
    assert [d.index for d in together.data] == list(range(6))
    records = _upstream(embeddings)
    assert sorted(r["body"]["inputText"] for r in records) == sorted(texts)
    # Each call is signed over its own body.
    signatures = {{k.lower(): v for k, v in r["headers"].items()}["authorization"] for r in records}
    assert len(signatures) == 6
    for text, item in zip(texts, together.data, strict=True):
        alone = client.embeddings.create(model=TITAN, input=text, dimensions=256)
        assert item.embedding == pytest.approx(alone.data[0].embedding, abs=1e-6)
    log = embeddings.log_records(tag, 7)[0]["ai"]["proxy"]
    assert log["usage"]["prompt_tokens"] == together.usage.prompt_tokens
    assert together.usage.prompt_tokens >= 6 * 4


def test_one_failed_call_fails_the_request(embeddings: Stack, tag: str) -> None:
    with pytest.raises(openai.RateLimitError):
        embeddings.openai("titan", tag).embeddings.create(
            model=TITAN, input=["fine", "[[fail 429]]", "fine too"]
        )


def test_cohere_takes_a_list(embeddings: Stack, tag: str) -> None:
    """Cohere's body has no token count: the gateway reads Bedrock's header."""
    embeddings.clear_upstream()
    answer = embeddings.openai("cohere", tag).embeddings.create(
        model=COHERE, input=["first text", "second text"], encoding_format="float"
    )
    assert [d.index for d in answer.data] == [0, 1]
    assert all(len(d.embedding) == 1024 for d in answer.data)
    assert answer.data[0].embedding != answer.data[1].embedding
    assert answer.usage.prompt_tokens > 0
    (record,) = _upstream(embeddings)
    assert record["body"] == {
        "texts": ["first text", "second text"],
        "input_type": "search_document",
    }
    log = embeddings.log_record(tag)["ai"]["proxy"]
    assert log["usage"]["prompt_tokens"] == answer.usage.prompt_tokens
    embeddings.clear_upstream()
    embeddings.openai("cohere", tag).embeddings.create(
        model=COHERE, input="a query", extra_body={"input_type": "search_query"}
    )
    assert _upstream(embeddings)[0]["body"] == {"texts": ["a query"], "input_type": "search_query"}


def test_a_model_without_embeddings_is_named(embeddings: Stack, tag: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        embeddings.openai("llama-embed", tag).embeddings.create(
            model="meta.llama3-1-70b-instruct-v1:0", input="x"
        )
    assert "amazon.titan-embed-text-v2:0 and cohere.embed-* models" in caught.value.message


def test_bedrock_errors_in_openai_shape(embeddings: Stack, tag: str) -> None:
    with pytest.raises(openai.RateLimitError):
        embeddings.openai("titan", tag).embeddings.create(model=TITAN, input="[[fail 429]]")
