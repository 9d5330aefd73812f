"""The Gemini emulators (Vertex AI and the public API): framing of both stream
forms, proto-style rejection of unknown fields, turn rules, auth."""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson
import pytest

from lockgate.testing import Emulator

from .conftest import Raw

PROJECT = "lockgate-test"
VERTEX = f"/v1/projects/{PROJECT}/locations/us-central1/publishers/google/models"
TOKEN = "ya29.static-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
KEY = {"x-goog-api-key": "AIza-test"}
DECL = {
    "name": "get_weather",
    "parameters": {
        "type": "OBJECT",
        "properties": {"city": {"type": "STRING"}},
        "required": ["city"],
    },
}


@pytest.fixture(autouse=True)
def static_token(emulator: Emulator) -> None:
    emulator.state.oauth.issue_static(TOKEN, PROJECT)


def contents(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "parts": [{"text": text}]}]


def google_error(answer: Any, code: int, status: str) -> str:
    assert answer.status == code, answer.text
    error = answer.json["error"]
    assert error["code"] == code and error["status"] == status
    return str(error["message"])


async def test_generate_content(raw: Raw) -> None:
    answer = await raw.post(
        f"{VERTEX}/gemini-2.0-flash:generateContent", {"contents": contents("hi")}, AUTH
    )
    assert answer.status == 200
    data = answer.json
    candidate = data["candidates"][0]
    assert candidate["content"] == {
        "role": "model",
        "parts": [{"text": "Hello from the gemini emulator, model gemini-2.0-flash."}],
    }
    assert candidate["finishReason"] == "STOP"
    usage = data["usageMetadata"]
    assert usage["totalTokenCount"] == usage["promptTokenCount"] + usage["candidatesTokenCount"]
    assert (
        data["modelVersion"] == "gemini-2.0-flash"
        and data["responseId"]
        and data["createTime"].endswith("Z")
    )


async def test_sse_stream_framing_and_whole_function_calls(raw: Raw) -> None:
    body = {
        "contents": contents("[[chunks 3]] [[reply checking]] x"),
        "tools": [{"functionDeclarations": [DECL]}],
    }
    answer = await raw.post(f"{VERTEX}/gemini-2.5-flash:streamGenerateContent?alt=sse", body, AUTH)
    assert answer.headers["content-type"].startswith("text/event-stream")
    frames = answer.text.split("\r\n\r\n")
    assert frames[-1] == "" and all(f.startswith("data: ") for f in frames[:-1])
    chunks = [orjson.loads(f[6:]) for f in frames[:-1]]
    assert "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks) == "checking"
    assert len(chunks) == 3 and "finishReason" not in chunks[0]["candidates"][0]
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    assert "candidatesTokenCount" in chunks[-1]["usageMetadata"]
    body["contents"] = contents(
        '[[tool get_weather {"city": "Paris"}]] [[tool get_weather {"city": "Rome"}]]'
    )
    answer = await raw.post(f"{VERTEX}/gemini-2.5-flash:streamGenerateContent?alt=sse", body, AUTH)
    (frame, _) = answer.text.split("\r\n\r\n")
    parts = orjson.loads(frame[6:])["candidates"][0]["content"]["parts"]
    assert parts == [
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
        {"functionCall": {"name": "get_weather", "args": {"city": "Rome"}}},
    ]


async def test_json_array_stream(raw: Raw) -> None:
    answer = await raw.post(
        f"{VERTEX}/gemini-2.0-flash:streamGenerateContent",
        {"contents": contents("[[chunks 4]]")},
        AUTH,
    )
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.text.startswith("[{") and answer.text.endswith("]") and ",\r\n{" in answer.text
    chunks = orjson.loads(answer.text)
    assert len(chunks) == 4 and chunks[-1]["candidates"][0]["finishReason"] == "STOP"


async def test_unknown_fields_are_refused_like_google(raw: Raw) -> None:
    params = {
        "type": "object",
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "additionalProperties": False,
        "properties": {
            "a": {"type": ["string", "null"]},
            "b": {"type": "integer", "exclusiveMinimum": 0},
            "c": {"type": "object", "propertyNames": {"pattern": "x"}},
            "d": {"const": "fixed"},
            "e": {"$ref": "#/$defs/E"},
        },
        "$defs": {"E": {"type": "string"}},
    }
    body = {
        "contents": contents("hi"),
        "tools": [{"functionDeclarations": [{"name": "f", "parameters": params}]}],
    }
    message = google_error(
        await raw.post(f"{VERTEX}/gemini-2.0-flash:generateContent", body, AUTH),
        400,
        "INVALID_ARGUMENT",
    )
    at = "'tools[0].function_declarations[0].parameters"
    expected = [
        f'Invalid JSON payload received. Unknown name "$schema" at {at}\': Cannot find field.',
        f'Invalid JSON payload received. Unknown name "additionalProperties" at {at}\': Cannot find field.',
        f'Invalid JSON payload received. Unknown name "type" at {at}.properties[0].value\': Proto field is not repeating, cannot start list.',
        f'Invalid JSON payload received. Unknown name "exclusiveMinimum" at {at}.properties[1].value\': Cannot find field.',
        f'Invalid JSON payload received. Unknown name "propertyNames" at {at}.properties[2].value\': Cannot find field.',
        f'Invalid JSON payload received. Unknown name "const" at {at}.properties[3].value\': Cannot find field.',
        f'Invalid JSON payload received. Unknown name "$ref" at {at}.properties[4].value\': Cannot find field.',
        f'Invalid JSON payload received. Unknown name "$defs" at {at}\': Cannot find field.',
    ]
    assert message.split("\n") == expected
    answer = await raw.post(
        f"{VERTEX}/gemini-2.0-flash:generateContent",
        {"contents": contents("hi"), "messages": []},
        AUTH,
    )
    assert (
        google_error(answer, 400, "INVALID_ARGUMENT")
        == 'Invalid JSON payload received. Unknown name "messages": Cannot find field.'
    )
    violations = answer.json["error"]["details"][0]["fieldViolations"]
    assert violations[0]["description"].startswith("Invalid JSON payload received.")
    snake = {"contents": contents("hi"), "generation_config": {"max_output_tokens": 50, "top_k": 3}}
    assert (await raw.post(f"{VERTEX}/gemini-2.0-flash:generateContent", snake, AUTH)).status == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"contents": []},
            "Unable to submit request because it has an empty contents field. Learn more: "
            "https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/gemini",
        ),
        (
            {
                "contents": [
                    {"role": "assistant", "parts": [{"text": "a"}]},
                    {"role": "user", "parts": [{"text": "b"}]},
                ]
            },
            "Please use a valid role: user, model.",
        ),
        (
            {
                "contents": [
                    {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {}}}]}
                ]
            },
            "Please ensure that function response turn comes immediately after a function call turn.",
        ),
        (
            {
                "contents": [
                    {"role": "user", "parts": [{"text": "a"}]},
                    {
                        "role": "model",
                        "parts": [
                            {"functionCall": {"name": "f", "args": {}}},
                            {"functionCall": {"name": "f", "args": {}}},
                        ],
                    },
                    {
                        "role": "user",
                        "parts": [{"functionResponse": {"name": "f", "response": {}}}],
                    },
                ]
            },
            "Please ensure that the number of function response parts is equal to the number of function call "
            "parts of the function call turn.",
        ),
        (
            {
                "contents": [{"role": "user", "parts": [{"text": "a"}]}],
                "generationConfig": {"thinkingConfig": {"thinkingBudget": 1024}},
            },
            "Unable to submit request because thinking is not supported by this model. Learn more: "
            "https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/gemini",
        ),
    ],
)
async def test_semantic_rules(raw: Raw, body: dict[str, Any], message: str) -> None:
    answer = await raw.post(f"{VERTEX}/gemini-2.0-flash:generateContent", body, AUTH)
    assert google_error(answer, 400, "INVALID_ARGUMENT") == message


async def test_public_api_wording_and_keys() -> None:
    async with Emulator(keys={"gemini": {"AIza-good"}}) as emu, aiohttp.ClientSession() as session:
        r = Raw(session, emu.url)
        empty = await r.post(
            "/v1beta/models/gemini-2.5-flash:generateContent",
            {"contents": []},
            {"x-goog-api-key": "AIza-good"},
        )
        assert (
            google_error(empty, 400, "INVALID_ARGUMENT")
            == "* GenerateContentRequest.contents: contents is not specified\n"
        )
        missing = await r.post(
            "/v1beta/models/gemini-2.5-flash:generateContent", {"contents": contents("hi")}
        )
        assert google_error(missing, 403, "PERMISSION_DENIED").startswith(
            "Method doesn't allow unregistered callers"
        )
        bad = await r.post(
            "/v1beta/models/gemini-2.5-flash:generateContent",
            {"contents": contents("hi")},
            {"x-goog-api-key": "AIza-bad"},
        )
        assert (
            google_error(bad, 400, "INVALID_ARGUMENT")
            == "API key not valid. Please pass a valid API key."
        )
        assert bad.json["error"]["details"][0]["reason"] == "API_KEY_INVALID"
        query = await r.post(
            "/v1beta/models/gemini-2.5-flash:generateContent?key=AIza-good",
            {"contents": contents("hi")},
        )
        assert query.status == 200 and query.json["candidates"][0]["index"] == 0
        counted = await r.post(
            "/v1beta/models/gemini-2.5-flash:countTokens",
            {"contents": contents("hi")},
            {"x-goog-api-key": "AIza-good"},
        )
        assert counted.json["totalTokens"] == query.json["usageMetadata"]["promptTokenCount"]


async def test_vertex_auth(raw: Raw) -> None:
    missing = await raw.post(
        f"{VERTEX}/gemini-2.0-flash:generateContent", {"contents": contents("hi")}
    )
    assert google_error(missing, 401, "UNAUTHENTICATED").startswith(
        "Request is missing required authentication credential."
    )
    unknown = await raw.post(
        f"{VERTEX}/gemini-2.0-flash:generateContent",
        {"contents": contents("hi")},
        {"Authorization": "Bearer ya29.forged"},
    )
    assert google_error(unknown, 401, "UNAUTHENTICATED") == (
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other "
        "valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
    )
    # a service account may hold roles in other projects: no project check
    other = await raw.post(
        "/v1beta1/projects/other/locations/global/publishers/google/models/gemini-2.0-flash:generateContent",
        {"contents": contents("hi")},
        AUTH,
    )
    assert other.status == 200
    model = await raw.post(
        f"{VERTEX}/claude-sonnet-4-5:generateContent", {"contents": contents("hi")}, AUTH
    )
    assert google_error(model, 404, "NOT_FOUND").startswith(
        "Publisher Model `projects/lockgate-test/locations/us-central1"
    )


async def test_function_round_trip_and_thinking(raw: Raw) -> None:
    tools = [{"functionDeclarations": [DECL]}]
    first = await raw.post(
        f"{VERTEX}/gemini-2.5-flash:generateContent",
        {"contents": contents('[[tool get_weather {"city":"Oslo"}]]'), "tools": tools},
        AUTH,
    )
    call = first.json["candidates"][0]["content"]["parts"][0]
    assert call == {"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}}
    history = [
        *contents('[[tool get_weather {"city":"Oslo"}]]'),
        {"role": "model", "parts": [call]},
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"content": "rain\n"}}}
            ],
        },
    ]
    second = await raw.post(
        f"{VERTEX}/gemini-2.5-flash:generateContent", {"contents": history, "tools": tools}, AUTH
    )
    assert second.json["candidates"][0]["content"]["parts"] == [{"text": "Tool result: rain"}]
    config = {"thinkingConfig": {"includeThoughts": True, "thinkingBudget": 2048}}
    thought = await raw.post(
        f"{VERTEX}/gemini-2.5-flash:generateContent",
        {"contents": contents("[[think]] ponder"), "generationConfig": config},
        AUTH,
    )
    parts = thought.json["candidates"][0]["content"]["parts"]
    assert parts[0]["thought"] is True and "ponder" in parts[0]["text"]
    usage = thought.json["usageMetadata"]
    assert usage["thoughtsTokenCount"] > 0
    assert (
        usage["totalTokenCount"]
        == usage["promptTokenCount"] + usage["candidatesTokenCount"] + usage["thoughtsTokenCount"]
    )
    pro = await raw.post(
        f"{VERTEX}/gemini-2.5-pro:generateContent",
        {"contents": contents("hi"), "generationConfig": {"thinkingConfig": {"thinkingBudget": 0}}},
        AUTH,
    )
    assert (
        google_error(pro, 400, "INVALID_ARGUMENT")
        == "Budget 0 is invalid. This model only works in thinking mode."
    )


async def test_gemini_3_needs_thought_signatures(raw: Raw) -> None:
    tools = [{"functionDeclarations": [DECL]}]
    url = f"{VERTEX}/gemini-3-pro-preview:generateContent"
    first = await raw.post(
        url, {"contents": contents('[[tool get_weather {"city":"Oslo"}]]'), "tools": tools}, AUTH
    )
    call = first.json["candidates"][0]["content"]["parts"][0]
    assert call["thoughtSignature"]
    reply = {
        "role": "user",
        "parts": [{"functionResponse": {"name": "get_weather", "response": {"content": "sun"}}}],
    }
    ok = await raw.post(
        url,
        {"contents": [*contents("go"), {"role": "model", "parts": [call]}, reply], "tools": tools},
        AUTH,
    )
    assert ok.status == 200
    stripped = {"functionCall": call["functionCall"]}
    bad = await raw.post(
        url,
        {
            "contents": [*contents("go"), {"role": "model", "parts": [stripped]}, reply],
            "tools": tools,
        },
        AUTH,
    )
    assert google_error(bad, 400, "INVALID_ARGUMENT") == (
        "Unable to submit request because function call `get_weather` in the 2. content block is "
        "missing a `thought_signature`. Learn more: "
        "https://docs.cloud.google.com/vertex-ai/generative-ai/docs/thought-signatures"
    )


async def test_count_tokens_and_failures(raw: Raw) -> None:
    counted = await raw.post(
        f"{VERTEX}/gemini-2.0-flash:countTokens", {"contents": contents("hello")}, AUTH
    )
    assert counted.json["totalTokens"] > 0 and counted.json["totalBillableCharacters"] > 0
    limited = await raw.post(
        f"{VERTEX}/gemini-2.0-flash:generateContent", {"contents": contents("[[fail 429]]")}, AUTH
    )
    assert google_error(limited, 429, "RESOURCE_EXHAUSTED").startswith("Resource exhausted.")
    busy = await raw.post(
        f"{VERTEX}/gemini-2.0-flash:generateContent", {"contents": contents("[[fail 503]]")}, AUTH
    )
    google_error(busy, 503, "UNAVAILABLE")
    mid = await raw.post(
        f"{VERTEX}/gemini-2.0-flash:streamGenerateContent?alt=sse",
        {"contents": contents("[[chunks 3]] [[fail 500 after 1]]")},
        AUTH,
    )
    frames = [f for f in mid.text.split("\r\n\r\n") if f]
    assert len(frames) == 2 and orjson.loads(frames[1][6:])["error"]["status"] == "INTERNAL"


async def test_schema_semantics_are_reported_together(raw: Raw) -> None:
    links = {
        "type": "array",
        "items": {"type": "object", "properties": {"url": {"type": "string", "format": "uri"}}},
    }
    params = {
        "type": "object",
        "properties": {"links": links, "n": {"type": "integer", "enum": ["a"]}},
        "required": ["x"],
    }
    body = {
        "contents": contents("hi"),
        "tools": [{"functionDeclarations": [{"name": "f", "parameters": params}]}],
    }
    answer = await raw.post("/v1beta/models/gemini-2.5-pro:generateContent", body, KEY)
    path = "* GenerateContentRequest.tools[0].function_declarations[0].parameters"
    assert google_error(answer, 400, "INVALID_ARGUMENT") == (
        f"{path}.required[0]: property is not defined\n"
        f"{path}.properties[links].items.properties[url].format: only 'enum' and 'date-time' are supported for STRING type\n"
        f"{path}.properties[n].enum: only allowed for STRING type\n"
    )
    enum_ints = {"type": "object", "properties": {"level": {"type": "string", "enum": [1, 2]}}}
    body["tools"] = [{"functionDeclarations": [{"name": "f", "parameters": enum_ints}]}]
    answer = await raw.post("/v1beta/models/gemini-2.5-pro:generateContent", body, KEY)
    assert google_error(answer, 400, "INVALID_ARGUMENT").split("\n")[0] == (
        "Invalid value at 'tools[0].function_declarations[0].parameters.properties[0].value.enum[0]' (TYPE_STRING), 1"
    )


async def test_scoped_faults_name_gemini_or_its_model(raw: Raw) -> None:
    url = f"{VERTEX}/gemini-2.0-flash:generateContent"
    named = await raw.post(url, {"contents": contents("[[fail 429 on gemini]]")}, AUTH)
    google_error(named, 429, "RESOURCE_EXHAUSTED")
    spared = await raw.post(
        url, {"contents": contents("[[fail 429 on gemini-2.5-pro]] [[reply spared]]")}, AUTH
    )
    assert spared.status == 200
    assert spared.json["candidates"][0]["content"]["parts"] == [{"text": "spared"}]
