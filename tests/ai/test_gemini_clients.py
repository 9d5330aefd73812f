"""Gemini-format clients (Google's ``google-genai`` SDK, ``llm_format:
gemini``) through the real gateway: passthrough to Gemini (Vertex and the
public API), translation to Anthropic and to an OpenAI-compatible provider."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from google import genai
from google.genai import errors, types

from tests.ai.conftest import PROVIDERS, TAG_HEADER, Stack, http_json, plugin_config
from tests.ai.expect import log_usage, native_request

KEYS = ["gemini", "gemini-public", "anthropic", "openai", "dashscope"]
#: What the SDK sends as its API key; the gateway replaces it with the configured credential.
CLIENT_GEMINI_KEY = "AIza-client-own-key"

WEATHER = types.FunctionDeclaration(
    name="get_weather",
    description="The current weather in a city.",
    parameters=types.Schema(
        type=types.Type.OBJECT,
        properties={
            "city": types.Schema(type=types.Type.STRING),
            "days": types.Schema(type=types.Type.INTEGER),
        },
        required=["city"],
    ),
)


@pytest.fixture(scope="module")
def gem(stack: Stack) -> Stack:
    """Routes ``/gem-<key>`` with ``llm_format: gemini`` in front of each provider."""
    account = json.dumps(http_json("POST", stack.emulator + "/_emulator/service-account", {}))
    routes = [
        {
            "name": f"gem-{p.key}",
            "paths": [f"/gem-{p.key}"],
            "plugins": [
                {"name": "ai-proxy", "config": plugin_config(p, stack.emulator, account, "gemini")}
            ],
        }
        for p in PROVIDERS.values()
    ]
    import yaml

    stack.apply(
        yaml.safe_dump(
            {
                "_format_version": "3.0",
                "services": [{"name": "ai-gemini", "url": stack.emulator, "routes": routes}],
            },
            sort_keys=False,
        )
    )
    return stack


#: The SDK clients made, kept open until the end of the module (a client
#: that is garbage-collected closes its connection pool under its models).
_CLIENTS: list[genai.Client] = []


def client(stack: Stack, key: str, tag: str) -> genai.Client:
    made = genai.Client(
        api_key=CLIENT_GEMINI_KEY,
        http_options=types.HttpOptions(
            base_url=f"{stack.gw.proxy_url}/gem-{key}",
            api_version="v1beta",
            headers={TAG_HEADER: tag},
            timeout=60_000,
        ),
    )
    _CLIENTS.append(made)
    return made


def _no_client_key(stack: Stack, provider_path: str) -> list[dict[str, Any]]:
    records = stack.upstream(provider_path)
    for record in records:
        assert CLIENT_GEMINI_KEY not in json.dumps(record)
    return records


@pytest.mark.parametrize("key", KEYS)
def test_generate_content(gem: Stack, tag: str, key: str) -> None:
    gem.clear_upstream()
    provider = PROVIDERS[key]
    answer = client(gem, key, tag).models.generate_content(
        model=provider.model,
        contents=f"[[reply plain from {key}]]",
        config=types.GenerateContentConfig(system_instruction="Be brief.", max_output_tokens=200),
    )
    assert answer.text == f"plain from {key}"
    candidate = answer.candidates[0]
    assert candidate.finish_reason == types.FinishReason.STOP
    usage = answer.usage_metadata
    assert usage is not None and usage.prompt_token_count and usage.candidates_token_count
    assert usage.total_token_count >= usage.prompt_token_count + usage.candidates_token_count
    (record,) = _no_client_key(gem, provider.path)
    body = native_request(record, provider, stream=False)
    if provider.name == "gemini":
        # Passthrough: the client's body went through as it was sent.
        assert body["systemInstruction"]["parts"] == [{"text": "Be brief."}]
        assert body["generationConfig"] == {"maxOutputTokens": 200}
    elif provider.name == "anthropic":
        assert body["system"] == [{"type": "text", "text": "Be brief."}]
        assert body["max_tokens"] == 200
    else:
        assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    record = gem.log_record(tag)
    log_usage(record, provider, mode="oneshot", cost=provider.name == "openai")
    assert CLIENT_GEMINI_KEY not in json.dumps(record)  # x-goog-api-key is redacted


@pytest.mark.parametrize("key", KEYS)
def test_generate_content_stream(gem: Stack, tag: str, key: str) -> None:
    gem.clear_upstream()
    provider = PROVIDERS[key]
    chunks = list(
        client(gem, key, tag).models.generate_content_stream(
            model=provider.model, contents="[[reply red green blue white]] [[chunks 4]]"
        )
    )
    assert len(chunks) >= 2
    assert "".join(c.text or "" for c in chunks) == "red green blue white"
    last = chunks[-1]
    assert last.candidates[0].finish_reason == types.FinishReason.STOP
    assert last.usage_metadata is not None and last.usage_metadata.candidates_token_count
    (record,) = _no_client_key(gem, provider.path)
    native_request(record, provider, stream=True, usage_asked=True)
    log_usage(gem.log_record(tag), provider, mode="stream")


@pytest.mark.parametrize("key", KEYS)
def test_count_tokens(gem: Stack, tag: str, key: str) -> None:
    provider = PROVIDERS[key]
    counted = client(gem, key, tag).models.count_tokens(
        model=provider.model, contents="How many tokens is this sentence, more or less?"
    )
    assert isinstance(counted.total_tokens, int) and counted.total_tokens > 0


@pytest.mark.parametrize("key", KEYS)
def test_function_calling_round_trip(gem: Stack, tag: str, key: str) -> None:
    gem.clear_upstream()
    provider = PROVIDERS[key]
    gemini = client(gem, key, tag)
    config = types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=[WEATHER])],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    question = types.Content(
        role="user", parts=[types.Part(text='[[tool get_weather {"city": "Lima", "days": 3}]]')]
    )
    first = gemini.models.generate_content(model=provider.model, contents=[question], config=config)
    calls = first.function_calls
    assert calls is not None and len(calls) == 1
    assert calls[0].name == "get_weather" and calls[0].args == {"city": "Lima", "days": 3}
    model_turn = first.candidates[0].content
    answer = types.Part.from_function_response(
        name="get_weather", response={"output": "foggy, 14 degrees"}
    )
    if calls[0].id:
        answer.function_response.id = calls[0].id
    final = gemini.models.generate_content(
        model=provider.model,
        contents=[question, model_turn, types.Content(role="user", parts=[answer])],
        config=config,
    )
    assert "foggy, 14 degrees" in (final.text or "")
    records = _no_client_key(gem, provider.path)
    assert len(records) == 2
    body = native_request(records[1], provider, stream=False)
    if provider.name == "anthropic":
        use = body["messages"][1]["content"][0]
        result = body["messages"][2]["content"][0]
        assert use["type"] == "tool_use" and use["input"] == {"city": "Lima", "days": 3}
        assert result["type"] == "tool_result" and result["tool_use_id"] == use["id"]
        assert result["content"] == "foggy, 14 degrees"
        assert body["tools"][0]["input_schema"]["properties"]["city"] == {"type": "string"}
    elif provider.name == "gemini":
        parts = [p for c in body["contents"] for p in c["parts"]]
        assert any(p.get("functionCall", {}).get("name") == "get_weather" for p in parts)
    else:
        assert body["messages"][2]["role"] == "tool"
        assert body["messages"][2]["tool_call_id"] == body["messages"][1]["tool_calls"][0]["id"]


@pytest.mark.parametrize("key", KEYS)
def test_streamed_function_call(gem: Stack, tag: str, key: str) -> None:
    provider = PROVIDERS[key]
    chunks = list(
        client(gem, key, tag).models.generate_content_stream(
            model=provider.model,
            contents='[[tool get_weather {"city": "Quito"}]]',
            config=types.GenerateContentConfig(
                tools=[types.Tool(function_declarations=[WEATHER])],
                automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
            ),
        )
    )
    calls = [c for chunk in chunks for c in chunk.function_calls or ()]
    assert [(c.name, c.args) for c in calls] == [("get_weather", {"city": "Quito"})]
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP


@pytest.mark.parametrize("key", ["gemini-public", "anthropic", "openai"])
def test_upstream_errors_in_googles_shape(gem: Stack, tag: str, key: str) -> None:
    provider = PROVIDERS[key]
    with pytest.raises(errors.ClientError) as caught:
        client(gem, key, tag).models.generate_content(model=provider.model, contents="[[fail 429]]")
    assert caught.value.code == 429
    assert caught.value.status == "RESOURCE_EXHAUSTED"
    assert caught.value.message


def post_json(url: str, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any, str]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, resp.read(), resp.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers.get("Content-Type", "")


@pytest.mark.parametrize("key", ["gemini-public", "anthropic"])
def test_gateway_errors_in_googles_shape(gem: Stack, key: str) -> None:
    base = f"{gem.gw.proxy_url}/gem-{key}/v1beta/models/{PROVIDERS[key].model}"
    status, raw, _ = post_json(base + ":generateContent", {"contents": "not a list"})
    assert status == 400
    error = json.loads(raw)["error"]
    assert error["code"] == 400 and error["status"] == "INVALID_ARGUMENT" and error["message"]
    status, raw, _ = post_json(base + ":embedContent", {"content": {"parts": [{"text": "x"}]}})
    assert status == 404 and json.loads(raw)["error"]["status"] == "NOT_FOUND"
    status, raw, _ = post_json(base, {"contents": []})
    assert status == 404 and json.loads(raw)["error"]["status"] == "NOT_FOUND"


@pytest.mark.parametrize("key", ["gemini-public", "anthropic", "openai"])
def test_stream_without_alt_sse_is_a_json_array(gem: Stack, tag: str, key: str) -> None:
    gem.clear_upstream()
    provider = PROVIDERS[key]
    url = (
        f"{gem.gw.proxy_url}/gem-{key}/v1beta/models/{provider.model}:streamGenerateContent"
        f"?key={CLIENT_GEMINI_KEY}"
    )
    body = {"contents": [{"role": "user", "parts": [{"text": "[[reply a b c]] [[chunks 3]]"}]}]}
    status, raw, content_type = post_json(url, body, {TAG_HEADER: tag})
    assert status == 200, raw
    assert content_type.startswith("application/json")
    chunks = json.loads(raw)
    assert isinstance(chunks, list) and len(chunks) >= 2
    text = "".join(
        p.get("text", "") for c in chunks for p in c["candidates"][0]["content"]["parts"]
    )
    assert text == "a b c"
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    (record,) = _no_client_key(gem, provider.path)
    assert "key=" + CLIENT_GEMINI_KEY not in record["query"]
    logged = gem.log_record(tag)
    assert CLIENT_GEMINI_KEY not in json.dumps(logged)  # ?key= is redacted
    log_usage(logged, provider, mode="stream")


def test_models_listing(gem: Stack, tag: str) -> None:
    gemini = client(gem, "anthropic", tag)
    models = list(gemini.models.list())
    assert [m.name for m in models] == [f"models/{PROVIDERS['anthropic'].model}"]
    model = gemini.models.get(model=PROVIDERS["anthropic"].model)
    assert model.name == f"models/{PROVIDERS['anthropic'].model}"
    assert "generateContent" in (model.supported_actions or [])


@pytest.mark.parametrize("drop_thoughts", [False, True])
def test_thinking_survives_a_tool_loop_to_anthropic(
    gem: Stack, tag: str, drop_thoughts: bool
) -> None:
    """Anthropic signs its thinking and refuses a tool loop that does not send it
    back; Gemini CLI keeps only the signatures of its model turns' parts."""
    gem.clear_upstream()
    provider = PROVIDERS["anthropic"]
    gemini = client(gem, "anthropic", tag)
    config = types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=[WEATHER])],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        thinking_config=types.ThinkingConfig(include_thoughts=True, thinking_budget=2048),
    )
    question = types.Content(
        role="user", parts=[types.Part(text='[[think]] [[tool get_weather {"city": "Lima"}]]')]
    )
    first = gemini.models.generate_content(model=provider.model, contents=[question], config=config)
    model_turn = first.candidates[0].content
    thoughts = [p for p in model_turn.parts if p.thought]
    assert thoughts and thoughts[0].text
    assert first.function_calls and first.function_calls[0].name == "get_weather"
    if drop_thoughts:
        model_turn = types.Content(
            role="model", parts=[p for p in model_turn.parts if not p.thought]
        )
    answer = types.Part.from_function_response(name="get_weather", response={"output": "sunny"})
    answer.function_response.id = first.function_calls[0].id
    final = gemini.models.generate_content(
        model=provider.model,
        contents=[question, model_turn, types.Content(role="user", parts=[answer])],
        config=config,
    )
    assert "sunny" in (final.text or "")
    records = _no_client_key(gem, provider.path)
    body = native_request(records[1], provider, stream=False)
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert body["messages"][1]["content"][0]["type"] == "thinking"


def test_gemini_3_passthrough_keeps_thought_signatures(gem: Stack) -> None:
    """Gemini 3 refuses a function call sent back without its signature, or
    with a changed one. (Raw HTTP rather than the SDK: the Python SDK sends
    signatures back URL-safe, which Google accepts and the emulator does not.)"""
    provider = PROVIDERS["gemini3"]
    url = f"{gem.gw.proxy_url}/gem-gemini3/v1beta/models/{provider.model}:generateContent"
    headers = {"x-goog-api-key": CLIENT_GEMINI_KEY}
    tools = [{"functionDeclarations": [{"name": "get_weather", "parameters": {"type": "OBJECT"}}]}]
    question = {"role": "user", "parts": [{"text": '[[tool get_weather {"city": "Oslo"}]]'}]}
    status, raw, _ = post_json(url, {"contents": [question], "tools": tools}, headers)
    assert status == 200, raw
    model_turn = json.loads(raw)["candidates"][0]["content"]
    assert any(p.get("thoughtSignature") for p in model_turn["parts"])
    answer = {"functionResponse": {"name": "get_weather", "response": {"output": "snow"}}}
    history = [question, model_turn, {"role": "user", "parts": [answer]}]
    status, raw, _ = post_json(url, {"contents": history, "tools": tools}, headers)
    assert status == 200, raw
    parts = json.loads(raw)["candidates"][0]["content"]["parts"]
    assert "snow" in "".join(p.get("text", "") for p in parts)


@pytest.mark.parametrize("key", ["gemini", "gemini-public", "anthropic", "openai"])
def test_count_tokens_asks_the_provider_that_can_count(gem: Stack, tag: str, key: str) -> None:
    gem.clear_upstream()
    provider = PROVIDERS[key]
    counted = client(gem, key, tag).models.count_tokens(
        model=provider.model, contents="[[reply x]] count me"
    )
    assert counted.total_tokens and counted.total_tokens > 0
    records = _no_client_key(gem, "")
    if key == "openai":
        assert records == []  # no counting API: estimated by the gateway
        return
    (record,) = records
    if provider.name == "anthropic":
        assert record["path"].endswith("/count_tokens")
        assert record["body"]["messages"] == [
            {"role": "user", "content": [{"type": "text", "text": "[[reply x]] count me"}]}
        ]
        assert "max_tokens" not in record["body"]
    else:
        assert record["path"].endswith(":countTokens")
        assert record["body"] == {
            "contents": [{"role": "user", "parts": [{"text": "[[reply x]] count me"}]}]
        }


@pytest.mark.parametrize("key", ["gemini-public", "anthropic", "openai"])
@pytest.mark.parametrize("fault", ["[[fail 429 after 2]]", "[[cut 2]]"])
def test_a_stream_that_breaks_ends_with_a_google_error_chunk(
    gem: Stack, tag: str, key: str, fault: str
) -> None:
    provider = PROVIDERS[key]
    url = (
        f"{gem.gw.proxy_url}/gem-{key}/v1beta/models/{provider.model}:streamGenerateContent?alt=sse"
    )
    prompt = f"[[reply a b c d e f]] [[chunks 6]] {fault}"
    body = {"contents": [{"role": "user", "parts": [{"text": prompt}]}]}
    status, raw, content_type = post_json(url, body, {TAG_HEADER: tag})
    assert status == 200 and content_type.startswith("text/event-stream")
    events = [
        json.loads(line[6:]) for line in raw.decode().splitlines() if line.startswith("data: ")
    ]
    assert events and "error" in events[-1], events
    error = events[-1]["error"]
    assert isinstance(error["code"], int) and error["code"] >= 400 and error["status"]
    for event in events[:-1]:
        types.GenerateContentResponse.model_validate(event)
    record = gem.log_record(tag)
    assert record["ai"]["proxy"]["usage"]["prompt_tokens"] > 0
