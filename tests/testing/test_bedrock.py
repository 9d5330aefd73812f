"""The Bedrock emulator as the real AWS SDK sees it: botocore's
``bedrock-runtime`` client (its service model, its signer, its event-stream
parser and its error parser) against ``lockgate emulate``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, EventStreamError
from botocore.session import get_session

from lockgate.testing.emulator.bedrock import DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY
from tests.support.processes import start_emulator

CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
LLAMA = "meta.llama3-1-70b-instruct-v1:0"


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    with start_emulator() as url:
        yield url


def _client(
    url: str, key_id: str = DEFAULT_ACCESS_KEY_ID, secret: str = DEFAULT_SECRET_ACCESS_KEY
) -> Any:
    return get_session().create_client(
        "bedrock-runtime",
        region_name="eu-west-1",
        endpoint_url=url,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}),
    )


def _user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"text": text}]}


def test_converse(emulator: str) -> None:
    answer = _client(emulator).converse(
        modelId=CLAUDE,
        messages=[_user("[[reply hello from the emulator]]")],
        system=[{"text": "Be brief."}],
        inferenceConfig={"maxTokens": 100},
    )
    assert answer["output"]["message"]["content"] == [{"text": "hello from the emulator"}]
    assert answer["stopReason"] == "end_turn"
    usage = answer["usage"]
    assert usage["inputTokens"] > 0 and usage["outputTokens"] > 0
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]


def test_converse_stream_frames_parse_in_the_sdk(emulator: str) -> None:
    """Under the ``/bedrock`` prefix too; a tool call, as botocore decodes it."""
    answer = _client(emulator + "/bedrock").converse_stream(
        modelId=CLAUDE,
        messages=[_user('[[tool lookup {"q": "x"}]]')],
        toolConfig={"tools": [{"toolSpec": {"name": "lookup", "inputSchema": {"json": {}}}}]},
    )
    events = list(answer["stream"])
    kinds = [next(iter(e)) for e in events]
    assert kinds[0] == "messageStart" and kinds[-2:] == ["messageStop", "metadata"]
    text = "".join(
        e["contentBlockDelta"]["delta"].get("text", "") for e in events if "contentBlockDelta" in e
    )
    assert text == ""
    (start,) = [
        e["contentBlockStart"]["start"]["toolUse"] for e in events if "contentBlockStart" in e
    ]
    assert start["name"] == "lookup" and start["toolUseId"].startswith("tooluse_")
    tool_input = "".join(
        e["contentBlockDelta"]["delta"]["toolUse"]["input"]
        for e in events
        if "toolUse" in e.get("contentBlockDelta", {}).get("delta", {})
    )
    assert orjson.loads(tool_input) == {"q": "x"}
    assert events[-2]["messageStop"]["stopReason"] == "tool_use"
    assert events[-1]["metadata"]["usage"]["outputTokens"] > 0


def test_wrong_secret_is_refused_as_aws_does(emulator: str) -> None:
    with pytest.raises(ClientError) as caught:
        _client(emulator, secret="wrong").converse(modelId=CLAUDE, messages=[_user("hi")])
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error["Error"]["Code"] == "InvalidSignatureException"
    assert error["Error"]["Message"].startswith(
        "The request signature we calculated does not match the signature you provided."
    )


def test_unknown_key_id(emulator: str) -> None:
    with pytest.raises(ClientError) as caught:
        _client(emulator, key_id="AKIAUNKNOWN").converse(modelId=CLAUDE, messages=[_user("hi")])
    assert caught.value.response["Error"]["Code"] == "UnrecognizedClientException"


def _signed(url: str, body: bytes) -> dict[str, str]:
    request = AWSRequest(
        method="POST", url=url, data=body, headers={"Content-Type": "application/json"}
    )
    credentials = Credentials(DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY)
    SigV4Auth(credentials, "bedrock", "us-east-1").add_auth(request)
    return dict(request.headers.items())


def test_a_body_changed_after_signing_is_refused(emulator: str) -> None:
    url = f"{emulator}/model/{CLAUDE.replace(':', '%3A')}/converse"
    signed_body = orjson.dumps({"messages": [_user("[[reply a]]")]})
    headers = _signed(url, signed_body)
    ok = requests.post(url, data=signed_body, headers=headers, timeout=10)
    assert ok.status_code == 200, ok.text
    changed = requests.post(
        url, data=orjson.dumps({"messages": [_user("[[reply b]]")]}), headers=headers, timeout=10
    )
    assert changed.status_code == 403
    assert changed.headers["x-amzn-ErrorType"].startswith("InvalidSignatureException")
    unsigned = requests.post(url, data=signed_body, timeout=10)
    assert unsigned.status_code == 403
    assert unsigned.json() == {"message": "Missing Authentication Token"}


@pytest.mark.parametrize(
    ("model", "kwargs", "said"),
    [
        (
            CLAUDE,
            {"messages": [{"role": "assistant", "content": [{"text": "hi"}]}]},
            "A conversation must start with a user message",
        ),
        (
            CLAUDE,
            {"messages": [_user("a"), _user("b")]},
            "A conversation must alternate between user and assistant roles",
        ),
        (
            CLAUDE,
            {"messages": [{"role": "user", "content": [{"text": " "}]}]},
            "is blank",
        ),
        (
            CLAUDE,
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"toolResult": {"toolUseId": "t1", "content": [{"text": "x"}]}}
                        ],
                    }
                ],
                "toolConfig": {"tools": [{"toolSpec": {"name": "f", "inputSchema": {"json": {}}}}]},
            },
            "exceeds the number of toolUse blocks of previous turn",
        ),
        (
            CLAUDE,
            {
                "messages": [
                    _user("go"),
                    {
                        "role": "assistant",
                        "content": [{"toolUse": {"toolUseId": "t1", "name": "f", "input": {}}}],
                    },
                    _user("no result"),
                ]
            },
            "Expected toolResult blocks at messages.2.content for the following Ids: t1",
        ),
        (
            LLAMA,
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"text": "a"}, {"cachePoint": {"type": "default"}}],
                    }
                ]
            },
            "did not allow prompt caching",
        ),
        (
            CLAUDE,
            {"messages": [_user("a")], "inferenceConfig": {"maxTokens": 200000}},
            "exceeds the model limit of 64000",
        ),
        ("anthropic.claude-unknown", {"messages": [_user("a")]}, "model identifier is invalid"),
    ],
)
def test_converse_rules(emulator: str, model: str, kwargs: dict[str, Any], said: str) -> None:
    with pytest.raises(ClientError) as caught:
        _client(emulator).converse(modelId=model, **kwargs)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert said in caught.value.response["Error"]["Message"]


def test_betas_bedrock_does_not_offer_are_refused(emulator: str) -> None:
    """Claude Code's first-party betas reach Bedrock only by mistake: refused
    as Bedrock refuses them; the ones it offers are taken."""
    client = _client(emulator)
    with pytest.raises(ClientError) as caught:
        client.converse(
            modelId=CLAUDE,
            messages=[_user("a")],
            additionalModelRequestFields={
                "anthropic_beta": ["interleaved-thinking-2025-05-14", "claude-code-20250219"]
            },
        )
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert caught.value.response["Error"]["Message"] == (
        "The model returned the following errors: invalid beta flag"
    )
    answer = client.converse(
        modelId=CLAUDE,
        messages=[_user("[[reply taken]]")],
        additionalModelRequestFields={
            "anthropic_beta": ["interleaved-thinking-2025-05-14", "context-1m-2025-08-07"]
        },
    )
    assert answer["output"]["message"]["content"] == [{"text": "taken"}]


def test_throttled_request(emulator: str) -> None:
    with pytest.raises(ClientError) as caught:
        _client(emulator).converse(modelId=CLAUDE, messages=[_user("[[fail 429]]")])
    assert caught.value.response["Error"]["Code"] == "ThrottlingException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429


def test_throttled_mid_stream(emulator: str) -> None:
    answer = _client(emulator).converse_stream(
        modelId=CLAUDE, messages=[_user("[[reply some words here]] [[fail 429 after 2]]")]
    )
    with pytest.raises(EventStreamError) as caught:
        list(answer["stream"])
    assert caught.value.response["Error"]["Code"] == "throttlingException"


def test_thinking_signature_is_checked(emulator: str) -> None:
    client = _client(emulator)
    fields = {"thinking": {"type": "enabled", "budget_tokens": 1024}}
    first = client.converse(
        modelId=CLAUDE,
        messages=[_user("[[think]] [[reply done]]")],
        inferenceConfig={"maxTokens": 2048},
        additionalModelRequestFields=fields,
    )
    reasoning = first["output"]["message"]["content"][0]["reasoningContent"]["reasoningText"]
    assert reasoning["text"] and reasoning["signature"]
    history = [
        _user("[[think]]"),
        {"role": "assistant", "content": first["output"]["message"]["content"]},
        _user("again"),
    ]
    client.converse(
        modelId=CLAUDE,
        messages=history,
        inferenceConfig={"maxTokens": 2048},
        additionalModelRequestFields=fields,
    )
    reasoning["signature"] = "forged"
    with pytest.raises(ClientError) as caught:
        client.converse(
            modelId=CLAUDE,
            messages=history,
            inferenceConfig={"maxTokens": 2048},
            additionalModelRequestFields=fields,
        )
    assert "signature" in caught.value.response["Error"]["Message"]


def test_cache_points_cache(emulator: str) -> None:
    client = _client(emulator)
    system = [{"text": "Rules of the house. " * 500}, {"cachePoint": {"type": "default"}}]
    first = client.converse(modelId=CLAUDE, system=system, messages=[_user("[[reply a]]")])
    second = client.converse(modelId=CLAUDE, system=system, messages=[_user("[[reply a]]")])
    written = first["usage"]["cacheWriteInputTokens"]
    assert written > 1024
    assert second["usage"]["cacheReadInputTokens"] == written
    assert second["usage"]["inputTokens"] < first["usage"]["inputTokens"] + written


def test_count_tokens(emulator: str) -> None:
    client = _client(emulator)
    conversation: dict[str, Any] = {
        "messages": [_user("[[reply x]] count me")],
        "system": [{"text": "s"}],
    }
    counted = client.count_tokens(modelId=CLAUDE, input={"converse": conversation})
    answer = client.converse(modelId=CLAUDE, **conversation)
    assert counted["inputTokens"] == answer["usage"]["inputTokens"] > 0
    with pytest.raises(ClientError) as caught:
        client.count_tokens(modelId=LLAMA, input={"converse": conversation})
    assert caught.value.response["Error"]["Code"] == "ValidationException"


def _invoke(url: str, model: str, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    answer = _client(url).invoke_model(
        modelId=model, body=orjson.dumps(body), contentType="application/json"
    )
    headers = answer["ResponseMetadata"]["HTTPHeaders"]
    return orjson.loads(answer["body"].read()), headers


def test_titan_embeddings(emulator: str) -> None:
    model = "amazon.titan-embed-text-v2:0"
    answer, headers = _invoke(emulator, model, {"inputText": "a lighthouse", "dimensions": 256})
    assert len(answer["embedding"]) == 256
    assert answer["embeddingsByType"]["float"] == answer["embedding"]
    assert answer["inputTextTokenCount"] > 0
    assert headers["x-amzn-bedrock-input-token-count"] == str(answer["inputTextTokenCount"])
    again, _ = _invoke(
        emulator + "/bedrock", model, {"inputText": "a lighthouse", "dimensions": 256}
    )
    assert again["embedding"] == answer["embedding"]


@pytest.mark.parametrize(
    ("model", "body", "said"),
    [
        (
            "amazon.titan-embed-text-v2:0",
            {"inputText": "x", "dimensions": 300},
            "Malformed input request: #/dimensions: 300 is not a valid enum value, "
            "please reformat your input and try again.",
        ),
        (
            "amazon.titan-embed-text-v2:0",
            {"texts": ["x"]},
            "#: required key [inputText] not found#: extraneous key [texts] is not permitted",
        ),
        (
            "amazon.titan-embed-text-v2:0",
            {"inputText": "x", "normalize": "yes"},
            "#/normalize: expected type: Boolean, found: String",
        ),
        (
            "cohere.embed-english-v3",
            {"texts": ["x"]},
            "#: required key [input_type] not found",
        ),
        (
            "cohere.embed-english-v3",
            {"texts": ["x"] * 97, "input_type": "search_query"},
            "#/texts: expected maxItems: 96, actual: 97",
        ),
        ("meta.llama3-1-70b-instruct-v1:0", {"inputText": "x"}, "model identifier is invalid"),
    ],
)
def test_embedding_bodies_are_checked(
    emulator: str, model: str, body: dict[str, Any], said: str
) -> None:
    with pytest.raises(ClientError) as caught:
        _invoke(emulator, model, body)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert said in caught.value.response["Error"]["Message"]


def test_cohere_embeddings(emulator: str) -> None:
    answer, headers = _invoke(
        emulator, "cohere.embed-english-v3", {"texts": ["a", "b"], "input_type": "search_query"}
    )
    assert answer["response_type"] == "embeddings_floats"
    assert [len(v) for v in answer["embeddings"]] == [1024, 1024]
    assert answer["texts"] == ["a", "b"]
    assert int(headers["x-amzn-bedrock-input-token-count"]) > 0
