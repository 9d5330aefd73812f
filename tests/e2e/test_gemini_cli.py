"""The real Gemini CLI (headless, `gemini --yolo -p`) through a real lockgate
gateway (`llm_format: gemini`) to the emulated Gemini (passed through),
Anthropic and OpenAI (translated): a plain question and a shell-tool round
trip, in which the emulator calls the CLI's `run_shell_command`, the CLI runs
it, and its output comes back to the provider in the provider's own form.

The CLI gets a dummy key; the emulator must see only the gateway's credential,
and the gateway's log must name the provider, the model and the usage."""

from __future__ import annotations

import json
import shutil
import struct
import time
import urllib.request
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.support.gemini_cli import GeminiRun, gemini_settings, make_gemini_home, run_gemini
from tests.support.processes import GatewayProcess, start_emulator, start_gateway

MARKER = "lockgate-gemini-cli-ok"
TOOL_PROMPT = (
    "Run this: "
    f'[[tool run_shell_command {{"command":"echo {MARKER}","description":"print a marker"}}]]'
)
CLI_KEY = "x"  # the dummy key the CLI sends
SIGNED = "RW11R2VtaW5pU2ln"  # base64 of the emulator's "EmuGeminiSig" prefix
SECRETS = ("gemini-upstream-key", "sk-ant-upstream", "sk-openai-upstream")


@dataclass(frozen=True)
class Target:
    provider: str
    model: str
    #: The emulator's path for this provider's calls (the gateway's upstream).
    path: str
    auth: dict[str, Any]
    #: The header the emulator must see, and how its value starts.
    credential: tuple[str, str]

    def upstream_url(self, emulator: str) -> str:
        return emulator + ("" if self.provider == "gemini" else self.path)


TARGETS = [
    Target(
        "gemini",
        "gemini-2.5-flash",
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        {"header_name": "x-goog-api-key", "header_value": "gemini-upstream-key"},
        ("x-goog-api-key", "gemini-upstream-key"),
    ),
    Target(
        "anthropic",
        "claude-sonnet-4-5-20250929",
        "/anthropic/v1/messages",
        {"header_name": "x-api-key", "header_value": "sk-ant-upstream"},
        ("x-api-key", "sk-ant-upstream"),
    ),
    Target(
        "openai",
        "gpt-5-mini",
        "/openai/v1/chat/completions",
        {"header_name": "Authorization", "header_value": "Bearer sk-openai-upstream"},
        ("authorization", "Bearer sk-openai-upstream"),
    ),
]


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    with start_emulator() as url:
        yield url


def _config(target: Target, emulator: str, log_path: Path) -> str:
    plugin = {
        "name": "ai-proxy",
        "config": {
            "route_type": "llm/v1/chat",
            "llm_format": "gemini",
            "logging": {"log_statistics": True},
            "auth": target.auth,
            "model": {
                "provider": target.provider,
                "options": {"upstream_url": target.upstream_url(emulator)},
            },
        },
    }
    if target.model:  # else the model is the one the client's path names
        plugin["config"]["model"]["name"] = target.model
    return yaml.safe_dump(
        {
            "_format_version": "3.0",
            "services": [
                {
                    "name": "gemini-cli",
                    "url": emulator,
                    "routes": [{"name": "gemini-cli", "paths": ["/gemini"], "plugins": [plugin]}],
                }
            ],
            "plugins": [{"name": "file-log", "config": {"path": str(log_path)}}],
        }
    )


def _requests(emulator: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(emulator + "/_emulator/requests", timeout=10) as resp:
        records: list[dict[str, Any]] = json.loads(resp.read())
    return records


def _clear(emulator: str) -> None:
    req = urllib.request.Request(emulator + "/_emulator/requests", method="DELETE")
    urllib.request.urlopen(req, timeout=10).close()


def _log(path: Path) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _gateway(gw: GatewayProcess, target: Target, emulator: str, log_path: Path) -> str:
    applied = gw.apply(_config(target, emulator, log_path))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    gw.wait_config()
    return f"{gw.proxy_url}/gemini"


def _tool_output_sent_back(target: Target, body: dict[str, Any]) -> str:
    """The shell output as the CLI's last request carried it to the provider."""
    if target.provider == "gemini":
        parts = [p for c in body["contents"] for p in c.get("parts", [])]
        responses = [p["functionResponse"] for p in parts if "functionResponse" in p]
        assert responses and responses[-1]["name"] == "run_shell_command", parts
        return json.dumps(responses[-1]["response"])
    if target.provider == "anthropic":
        blocks = [
            b
            for m in body["messages"]
            if m["role"] == "user" and isinstance(m["content"], list)
            for b in m["content"]
        ]
        results = [b for b in blocks if b.get("type") == "tool_result"]
        assert results, body["messages"]
        return json.dumps(results[-1]["content"])
    tools = [m for m in body["messages"] if m["role"] == "tool"]
    assert tools, body["messages"]
    return json.dumps(tools[-1]["content"])


def _assert_tool_round_trip(run: GeminiRun) -> None:
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.result["status"] == "success", run.result
    uses = run.tool_uses()
    assert [u["tool_name"] for u in uses] == ["run_shell_command"], run.events
    assert uses[0]["parameters"]["command"] == f"echo {MARKER}"
    results = run.tool_results()
    assert [r["status"] for r in results] == ["success"], run.events
    assert MARKER in results[0]["output"]
    # The emulator's last answer quotes the tool result it was given.
    assert MARKER in run.text, run.text


@dataclass
class Session:
    run: GeminiRun
    #: What the provider's emulator received, in order.
    calls: list[dict[str, Any]]
    #: The gateway's log records of the CLI's POSTs.
    records: list[dict[str, Any]]
    raw_log: str


def _session(target: Target, emulator: str, tmp: Path, prompt: str) -> Session:
    """One `gemini -p PROMPT` through a fresh gateway serving ``target``."""
    log_path = tmp / "gateway-log.json"
    # The CLI asks for the plugin's model (another one gets Kong's 400 "cannot
    # use own model"): a Claude or GPT name in a Gemini path.
    home = make_gemini_home(tmp, target.model)
    work = tmp / "work"
    work.mkdir()
    _clear(emulator)
    with start_gateway(tmp) as gw:
        base_url = _gateway(gw, target, emulator, log_path)
        run = run_gemini(home, base_url, prompt, cwd=work)
        time.sleep(0.5)  # the log line is written just after the response
    calls = [r for r in _requests(emulator) if r["path"].startswith(target.path)]
    records = [r for r in _log(log_path) if r["request"]["method"] == "POST"]
    return Session(run, calls, records, log_path.read_text())


def _assert_through_gateway(target: Target, session: Session, count: int) -> None:
    """The provider got ``count`` calls with the gateway's credential, in its own
    format, and the log has a record of each with provider, model and usage."""
    assert len(session.calls) == count, [c["path"] for c in session.calls]
    for call in session.calls:
        name, value = target.credential
        assert call["headers"].get(name, "").startswith(value), call["headers"]
        assert call["headers"].get("x-goog-api-key") in (None, value)
        assert "key=" not in call["query"]
        body = call["body"]
        if target.provider == "gemini":
            # Passed through: the CLI's own request, its tools with parametersJsonSchema.
            assert "contents" in body and "model" not in body
            declarations = body["tools"][0]["functionDeclarations"]
            shell = next(d for d in declarations if d["name"] == "run_shell_command")
            assert "parametersJsonSchema" in shell
        else:
            assert body["model"] == target.model and "messages" in body
            assert body["stream"] is True
            names = [t.get("name") or t["function"]["name"] for t in body["tools"]]
            assert "run_shell_command" in names, names
    assert len(session.records) == count, session.records
    for secret in SECRETS:
        assert secret not in session.raw_log
    for rec in session.records:
        assert rec["request"]["uri"].startswith(f"/gemini/v1beta/models/{target.model}:")
        assert rec["response"]["status"] == 200
        ai = rec["ai"]["proxy"]
        meta, usage = ai["meta"], ai["usage"]
        assert meta["provider_name"] == target.provider
        assert meta["request_model"] == target.model
        assert meta["request_mode"] == "stream"
        assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
        assert usage["total_tokens"] >= usage["prompt_tokens"] + usage["completion_tokens"]
        assert usage["cost_source"] == "list_price" and usage["cost"] > 0, usage


@pytest.mark.parametrize("target", TARGETS, ids=[t.provider for t in TARGETS])
def test_gemini_cli_plain_question(target: Target, emulator: str, tmp_path: Path) -> None:
    session = _session(target, emulator, tmp_path, "What is the Madrid Skylitzes?")
    run = session.run
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.result["status"] == "success", run.result
    assert f"Hello from the {target.provider} emulator" in run.text, run.text
    _assert_through_gateway(target, session, 1)


@pytest.mark.parametrize("target", TARGETS, ids=[t.provider for t in TARGETS])
def test_gemini_cli_shell_tool_round_trip(target: Target, emulator: str, tmp_path: Path) -> None:
    session = _session(target, emulator, tmp_path, TOOL_PROMPT)
    _assert_tool_round_trip(session.run)
    _assert_through_gateway(target, session, 2)
    assert MARKER in _tool_output_sent_back(target, session.calls[-1]["body"])


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")
def test_gemini_cli_connects_to_the_gateway_only(emulator: str, tmp_path: Path) -> None:
    """With the settings of docs/clients/gemini-cli.md, a whole run (a shell
    tool included) opens no connection but to the gateway: no usage
    statistics, telemetry, update check or IDE companion."""
    target = TARGETS[0]
    home = make_gemini_home(tmp_path, target.model)
    work = tmp_path / "work"
    work.mkdir()
    trace = tmp_path / "connect.trace"
    with start_gateway(tmp_path) as gw:
        base_url = _gateway(gw, target, emulator, tmp_path / "gateway-log.json")
        strace = ("strace", "-f", "-qq", "-e", "trace=connect", "-o", str(trace))
        run = run_gemini(home, base_url, TOOL_PROMPT, cwd=work, wrapper=strace)
        _assert_tool_round_trip(run)
        port = gw.proxy_port
    connects = [
        line
        for line in trace.read_text().splitlines()
        if "connect(" in line and ("AF_INET" in line or "AF_INET6" in line)
    ]
    assert connects, "strace saw no connect() at all"
    for line in connects:
        assert f"htons({port})" in line, line


def _png(path: Path) -> None:
    """An 8x8 red PNG."""
    row = b"\x00" + b"\xff\x00\x00" * 8
    raw = zlib.compress(row * 8)

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("target", TARGETS, ids=[t.provider for t in TARGETS])
def test_gemini_cli_image_is_counted_then_sent(
    target: Target, emulator: str, tmp_path: Path
) -> None:
    """An `@file` image: the CLI first calls countTokens (the gateway counts
    with the provider's own counting endpoint, or estimates where it has
    none), then sends the image; it reaches the provider as the provider's
    image part."""
    work = tmp_path / "work"
    work.mkdir()
    _png(work / "pic.png")
    log_path = tmp_path / "gateway-log.json"
    home = make_gemini_home(tmp_path, target.model)
    _clear(emulator)
    with start_gateway(tmp_path) as gw:
        base_url = _gateway(gw, target, emulator, log_path)
        run = run_gemini(home, base_url, "What is in @pic.png?", cwd=work)
        time.sleep(0.5)
    assert run.returncode == 0, run.stderr[-3000:]
    assert f"Hello from the {target.provider} emulator" in run.text, run.text
    uris = [r["request"]["uri"] for r in _log(log_path) if r["request"]["method"] == "POST"]
    assert [u.rsplit(":", 1)[1].split("?")[0] for u in uris] == [
        "countTokens",
        "streamGenerateContent",
    ], uris
    calls = _requests(emulator)
    answer = next(c for c in calls if c["path"].startswith(target.path))
    body = json.dumps(answer["body"])
    if target.provider == "gemini":
        assert '"inlineData"' in body and "image/png" in body
        counted = [c for c in calls if c["path"].endswith(":countTokens")]
        assert len(counted) == 1 and "inlineData" in json.dumps(counted[0]["body"])
    elif target.provider == "anthropic":
        assert '"type": "image"' in body and "image/png" in body
        counted = [c for c in calls if c["path"].endswith("/v1/messages/count_tokens")]
        assert len(counted) == 1 and '"type": "image"' in json.dumps(counted[0]["body"])
    else:
        assert '"image_url"' in body and "data:image/png;base64," in body


@pytest.mark.parametrize("target", TARGETS, ids=[t.provider for t in TARGETS])
def test_gemini_cli_gets_provider_errors_in_googles_shape(
    target: Target, emulator: str, tmp_path: Path
) -> None:
    """A provider's 403 reaches the CLI as Google's error body, which it
    prints; it does not retry it."""
    session = _session(target, emulator, tmp_path, "[[fail 403]] hello")
    run = session.run
    assert run.returncode != 0
    assert '"status":"PERMISSION_DENIED"' in run.stderr.replace(" ", ""), run.stderr[-3000:]
    assert '"code":403' in run.stderr.replace(" ", "")
    assert len(session.calls) == 1
    assert [r["response"]["status"] for r in session.records] == [403]


def _signed_calls(body: dict[str, Any]) -> list[str]:
    """The thoughtSignature on each functionCall of the model turns."""
    return [
        part.get("thoughtSignature", "")
        for content in body["contents"]
        if content["role"] == "model"
        for part in content["parts"]
        if "functionCall" in part
    ]


def test_gemini_3_agent_turn_keeps_thought_signatures(emulator: str, tmp_path: Path) -> None:
    """Two tool steps on Gemini 3, passed through: the emulator (like Gemini 3)
    refuses a call sent back without the signature it issued, so the turn
    completes only if the CLI's history and the gateway keep them."""
    target = Target(
        "gemini",
        "gemini-3-flash-preview",
        "/v1beta/models/gemini-3-flash-preview:streamGenerateContent",
        TARGETS[0].auth,
        TARGETS[0].credential,
    )
    prompt = (
        "[[chain]] "
        '[[tool run_shell_command {"command":"echo step-one-ok"}]] '
        '[[tool run_shell_command {"command":"echo step-two-ok"}]]'
    )
    session = _session(target, emulator, tmp_path, prompt)
    run = session.run
    assert run.returncode == 0, run.stderr[-3000:]
    assert [u["parameters"]["command"] for u in run.tool_uses()] == [
        "echo step-one-ok",
        "echo step-two-ok",
    ], run.events
    assert "step-two-ok" in run.text
    _assert_through_gateway(target, session, 3)
    signatures = _signed_calls(session.calls[-1]["body"])
    assert len(signatures) == 2 and all(s.startswith(SIGNED) for s in signatures), signatures


def test_claude_thinking_survives_the_cli_history(emulator: str, tmp_path: Path) -> None:
    """Claude thinks, then calls the shell tool: the CLI keeps the thinking
    (as thought parts and a signature on the call) and sends it back, so the
    next request to Anthropic carries the signed thinking block before the
    tool_use, as Anthropic requires while thinking is on."""
    target = TARGETS[1]
    prompt = f'[[think]] [[tool run_shell_command {{"command":"echo {MARKER}"}}]]'
    session = _session(target, emulator, tmp_path, prompt)
    _assert_tool_round_trip(session.run)
    _assert_through_gateway(target, session, 2)
    last = session.calls[-1]["body"]
    assert last["thinking"]["type"] == "enabled", last
    assistant = [m for m in last["messages"] if m["role"] == "assistant"][-1]
    kinds = [b["type"] for b in assistant["content"]]
    assert kinds[0] == "thinking" and "tool_use" in kinds, kinds
    assert assistant["content"][0]["signature"]


def test_gemini_cli_auto_model_when_the_plugin_names_none(emulator: str, tmp_path: Path) -> None:
    """The CLI's default model, `auto`, asks a flash-lite model to rate the
    prompt (generateContent with a responseJsonSchema) and then asks the
    model it picked: with no `model.name` in the plugin both go through, and
    each log record names the model the CLI chose."""
    target = Target("gemini", "", "/v1beta/models/", TARGETS[0].auth, TARGETS[0].credential)
    settings = gemini_settings("auto")
    del settings["model"]
    log_path = tmp_path / "gateway-log.json"
    home = make_gemini_home(tmp_path, "auto", settings)
    work = tmp_path / "work"
    work.mkdir()
    _clear(emulator)
    with start_gateway(tmp_path) as gw:
        base_url = _gateway(gw, target, emulator, log_path)
        run = run_gemini(home, base_url, "Hello?", cwd=work)
        time.sleep(0.5)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Hello from the gemini emulator" in run.text
    records = [r for r in _log(log_path) if r["request"]["method"] == "POST"]
    methods = [r["request"]["uri"].rsplit(":", 1)[1].split("?")[0] for r in records]
    assert methods == ["generateContent", "streamGenerateContent"], records
    models = [r["ai"]["proxy"]["meta"]["request_model"] for r in records]
    assert "flash-lite" in models[0] and models[0] != models[1], models
    assert [r["ai"]["proxy"]["meta"]["request_mode"] for r in records] == ["oneshot", "stream"]
    rating = next(c for c in _requests(emulator) if c["path"].endswith(":generateContent"))
    config = rating["body"]["generationConfig"]
    assert config["responseMimeType"] == "application/json" and config["responseJsonSchema"]
