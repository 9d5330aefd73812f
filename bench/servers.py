"""Starting and stopping what the benchmark measures, each in its own process
group (so that stopping one ends exactly the processes this run started).

- the emulator (``bench_emulator.py``), shared by every target;
- the minimal translator (``minimal_translator.py``);
- lockgate with the OpenAI tutorial's configuration, N workers;
- LiteLLM's proxy (``litellm_setup.py`` installs it).

Every ``start_*`` returns a :class:`Server`, or raises :class:`Unavailable`
with the reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bodies import ANTHROPIC_MODEL, MODEL
from litellm_setup import LITELLM_VERSION, ensure_litellm, litellm_env
from loadgen import descendants

__all__ = [
    "LITELLM_KEY",
    "Server",
    "Unavailable",
    "free_port",
    "listeners",
    "start_emulator",
    "start_litellm",
    "start_lockgate",
    "start_minimal",
]

BENCH = Path(__file__).resolve().parent
PROVIDER_KEY = "sk-bench"
LITELLM_KEY = "sk-litellm-bench"


class Unavailable(Exception):
    """A target could not be installed or started; the message says why."""


@dataclass
class Server:
    name: str
    url: str
    proc: subprocess.Popen[bytes]
    log: Path
    #: processes whose CPU and memory count as this server's
    pids: list[int] = field(default_factory=list)
    #: the ones that serve requests (lockgate's workers; else the same as pids)
    workers: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1].split("/", 1)[0])

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM to the process group this run started, SIGKILL if it lingers."""
        if self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        # the group may still hold children (workers) a moment after the parent
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(_alive(p) for p in self.pids):
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[1].split()[0]
    except OSError:
        return False
    return state != b"Z"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spawn(
    cmd: list[str], log: Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    out = log.open("wb")
    return subprocess.Popen(
        cmd,
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=cwd,
        start_new_session=True,
    )


def _wait_ready_line(proc: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        for line in text.splitlines():
            if line.startswith("READY "):
                return line.split(" ", 1)[1].strip()
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    raise Unavailable(f"did not become ready (exit {proc.poll()}): {tail}")


def _http(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError as exc:
        return 0, str(exc).encode()


def _python_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BENCH), env.get("PYTHONPATH", "")]))
    return env


# ------------------------------------------------------------------------ servers


def start_emulator(work: Path) -> Server:
    log = work / "emulator.log"
    proc = _spawn([sys.executable, str(BENCH / "bench_emulator.py"), "0"], log, _python_env())
    url = _wait_ready_line(proc, log)
    return Server("emulator", url, proc, log, pids=[proc.pid], workers=[proc.pid])


def start_minimal(work: Path, emulator: Server) -> Server:
    log = work / "minimal.log"
    upstream = f"{emulator.url}/openai/v1/chat/completions"
    cmd = [sys.executable, str(BENCH / "minimal_translator.py"), "0", upstream]
    proc = _spawn(cmd, log, _python_env())
    url = _wait_ready_line(proc, log)
    return Server("minimal", url, proc, log, pids=[proc.pid], workers=[proc.pid])


def lockgate_config(emulator: Server, log_path: Path) -> str:
    """The OpenAI tutorial's configuration, pointed at the emulator, as decK YAML."""
    return f"""_format_version: "3.0"
services:
  - name: example-service
    url: http://httpbin.konghq.com/anything
routes:
  - name: example-route
    paths:
    - "/anything"
    service:
      name: example-service
plugins:
  - name: ai-proxy
    config:
      llm_format: anthropic
      route_type: llm/v1/chat
      logging:
        log_statistics: true
      auth:
        header_name: Authorization
        header_value: Bearer {PROVIDER_KEY}
        allow_override: false
      model:
        provider: openai
        name: {MODEL}
        options:
          upstream_url: {emulator.url}/openai/v1/chat/completions
      max_request_body_size: 524288
  - name: file-log
    config:
      path: "{log_path}"
"""


def responses_config(emulator: Server) -> str:
    """The Responses comparison: ``/chat``, Chat Completions clients passed
    through to OpenAI, ``/responses``, Responses API clients translated to
    Anthropic, and ``/anthropic-passthrough``, Anthropic clients passed
    through to Anthropic (what the upstream's own stream costs, untranslated;
    ``/anything`` stays the tutorial's route, for the probe)."""
    return f"""_format_version: "3.0"
services:
  - name: example-service
    url: http://httpbin.konghq.com/anything
    routes:
      - name: example-route
        paths: ["/anything"]
        plugins:
          - name: ai-proxy
            config:
              llm_format: anthropic
              route_type: llm/v1/chat
              auth: {{header_name: Authorization, header_value: Bearer {PROVIDER_KEY}}}
              model:
                provider: openai
                name: {MODEL}
                options: {{upstream_url: {emulator.url}/openai/v1/chat/completions}}
      - name: chat-route
        paths: ["/chat"]
        plugins:
          - name: ai-proxy
            config:
              llm_format: openai
              route_type: llm/v1/chat
              logging: {{log_statistics: true}}
              auth: {{header_name: Authorization, header_value: Bearer {PROVIDER_KEY}}}
              model:
                provider: openai
                name: {MODEL}
                options: {{upstream_url: {emulator.url}/openai/v1/chat/completions}}
              max_request_body_size: 524288
      - name: anthropic-route
        paths: ["/anthropic-passthrough"]
        plugins:
          - name: ai-proxy
            config:
              llm_format: anthropic
              route_type: llm/v1/chat
              logging: {{log_statistics: true}}
              auth: {{header_name: x-api-key, header_value: {PROVIDER_KEY}}}
              model:
                provider: anthropic
                name: {ANTHROPIC_MODEL}
                options:
                  upstream_url: {emulator.url}/anthropic/v1/messages
                  anthropic_version: "2023-06-01"
              max_request_body_size: 524288
      - name: chat-anthropic-route
        paths: ["/chat-anthropic"]
        plugins:
          - name: ai-proxy
            config:
              llm_format: openai
              route_type: llm/v1/chat
              logging: {{log_statistics: true}}
              auth: {{header_name: x-api-key, header_value: {PROVIDER_KEY}}}
              model:
                provider: anthropic
                name: {ANTHROPIC_MODEL}
                options:
                  upstream_url: {emulator.url}/anthropic/v1/messages
                  anthropic_version: "2023-06-01"
              max_request_body_size: 524288
      - name: responses-route
        paths: ["/responses"]
        plugins:
          - name: ai-proxy
            config:
              llm_format: openai
              route_type: llm/v1/responses
              logging: {{log_statistics: true}}
              auth: {{header_name: x-api-key, header_value: {PROVIDER_KEY}}}
              model:
                provider: anthropic
                name: {ANTHROPIC_MODEL}
                options:
                  upstream_url: {emulator.url}/anthropic/v1/messages
                  anthropic_version: "2023-06-01"
              max_request_body_size: 524288
plugins:
  - name: file-log
    config:
      path: "{{log}}"
"""


def limits_config(strategy: str, redis_port: int | None = None) -> str:
    """key-auth (the benchmark's dummy key ``x`` is a developer's key) and
    ai-rate-limiting-advanced with a token limit and a cost budget that the
    run never reaches, as the budget tutorial sets them up."""
    redis = f"      redis: {{host: 127.0.0.1, port: {redis_port}}}\n" if strategy == "redis" else ""
    return f"""  - name: key-auth
    config:
      key_names: [x-api-key]
  - name: ai-rate-limiting-advanced
    config:
      llm_format: anthropic
      strategy: {strategy}
{redis}      llm_providers:
        - name: openai
          limit: [1000000000000, 1000000000000]
          window_size: [60, 2592000]
consumers:
  - username: bench-developer
    keyauth_credentials: [{{key: x}}]
"""


#: The prometheus plugin with every family on, as the monitoring comparison adds it.
PROMETHEUS_PLUGIN = """  - name: prometheus
    config:
      per_consumer: true
      status_code_metrics: true
      latency_metrics: true
      bandwidth_metrics: true
      ai_metrics: true
"""


def start_lockgate(
    work: Path,
    emulator: Server,
    workers: int,
    probe: bytes,
    monitoring: bool | None = None,
    extra: tuple[str, str] | None = None,
    config: str | None = None,
) -> Server:
    """``lockgate start`` with ``workers`` workers, configured through the
    Admin API with ``lockgate gateway apply -``; ready once ``probe`` (a
    small Anthropic request) answers 200 through the route. ``monitoring``:
    True adds the prometheus plugin (every family) and keeps the usage
    ledger on, False turns the ledger off, None leaves lockgate's defaults.
    ``extra``: a name for the variant and decK YAML appended to the
    configuration (more plugin items, then other top-level keys); or
    ``config``: a name and the whole decK YAML, with ``{log}`` for the file-log path."""
    name = f"lockgate{workers}" + {None: "", True: "-monitoring", False: "-plain"}[monitoring]
    if extra is not None:
        name += f"-{extra[0]}"
    if config is not None:
        name += "-custom"
    prefix = work / f"{name}-prefix"
    log = work / f"{name}.log"
    proxy_port, admin_port = free_port(), free_port()
    admin_url = f"http://127.0.0.1:{admin_port}"
    cmd = [
        sys.executable,
        "-m",
        "lockgate",
        "start",
        "--workers",
        str(workers),
        "--prefix",
        str(prefix),
        "--proxy-listen",
        f"127.0.0.1:{proxy_port}",
        "--admin-listen",
        f"127.0.0.1:{admin_port}",
    ]
    if monitoring is not None:
        cmd += ["--usage-ledger", "on" if monitoring else "off"]
    env = _python_env()
    env["LOCKGATE_LOG_LEVEL"] = "WARNING"
    proc = _spawn(cmd, log, env)
    server = Server(name, f"http://127.0.0.1:{proxy_port}", proc, log)
    try:
        _wait_http(proc, f"{admin_url}/status", log, 60)
        text = (
            lockgate_config(emulator, work / f"{name}-file-log.json")
            if config is None
            else config.replace("{log}", str(work / f"{name}-file-log.json"))
        )
        if monitoring:
            text += PROMETHEUS_PLUGIN
        if extra is not None:
            text += extra[1]
        applied = subprocess.run(
            [sys.executable, "-m", "lockgate", "gateway", "apply", "-", "--admin-url", admin_url],
            input=text.encode(),
            capture_output=True,
            env=env,
            timeout=60,
            check=False,
        )
        if applied.returncode != 0:
            raise Unavailable(f"gateway apply failed: {applied.stdout!r} {applied.stderr!r}")
        _wait_route(server, probe)
        _wait_listeners(proc, proxy_port, workers, log)
    except Unavailable:
        server.stop()
        raise
    server.pids = descendants(proc.pid)
    server.workers = [p for p in server.pids if _is_worker(p)]
    if len(server.workers) != workers:
        server.notes.append(f"found {len(server.workers)} worker processes, expected {workers}")
    return server


def _is_worker(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"spawn_main" in fh.read()
    except OSError:
        return False


def _wait_http(proc: subprocess.Popen[bytes], url: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        status, _ = _http("GET", url)
        if status == 200:
            return
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    raise Unavailable(f"{url} did not answer 200 (exit {proc.poll()}): {tail}")


def listeners(port: int) -> int:
    """Sockets listening on ``port`` (each worker has its own, through SO_REUSEPORT)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                count += 1
    return count


def _wait_listeners(
    proc: subprocess.Popen[bytes], port: int, workers: int, log: Path, timeout: float = 30
) -> None:
    """The route answering proves one worker serves; a load generator that
    connects before the others listen would send them nothing. Waits until
    every worker listens, then two configuration polls (0.2 s each) more."""
    deadline = time.monotonic() + timeout
    while listeners(port) < workers:
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise Unavailable(f"{listeners(port)} of {workers} workers listen on {port}: {tail}")
        time.sleep(0.05)
    time.sleep(0.5)


def _wait_route(server: Server, probe: bytes, timeout: float = 30) -> None:
    """Workers pick the configuration up by polling; wait until the route answers."""
    headers = {"Content-Type": "application/json", "x-api-key": "x"}
    deadline = time.monotonic() + timeout
    status, body = 0, b""
    while time.monotonic() < deadline:
        status, body = _http("POST", f"{server.url}/anything/v1/messages", probe, headers)
        if status == 200:
            return
        time.sleep(0.1)
    raise Unavailable(f"the route did not answer 200: {status} {body[:500]!r}")


def litellm_config(emulator: Server) -> str:
    return json.dumps(
        {
            "model_list": [
                {
                    "model_name": MODEL,
                    "litellm_params": {
                        "model": f"openai/{MODEL}",
                        "api_base": f"{emulator.url}/openai/v1",
                        "api_key": PROVIDER_KEY,
                    },
                }
            ],
            "general_settings": {"master_key": LITELLM_KEY},
            "litellm_settings": {"drop_params": True},
        },
        indent=2,
    )


def start_litellm(work: Path, emulator: Server, probe: bytes) -> Server:
    install = ensure_litellm(work / "litellm-install.log")
    if not install.ok:
        raise Unavailable(f"LiteLLM {LITELLM_VERSION} could not be installed: {install.reason}")
    config = work / "litellm.json"  # YAML is a superset of JSON
    config.write_text(litellm_config(emulator))
    port = free_port()
    log = work / "litellm.log"
    cmd = [
        str(install.litellm),
        "--config",
        str(config),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--num_workers",
        "1",
    ]
    proc = _spawn(cmd, log, litellm_env(LITELLM_KEY), cwd=work)
    server = Server("litellm", f"http://127.0.0.1:{port}", proc, log)
    if install.skipped:
        server.notes.append(f"requirements not installed: {', '.join(install.skipped)}")
    try:
        _wait_http(proc, f"{server.url}/health/liveliness", log, 180)
        headers = {"Content-Type": "application/json", "x-api-key": LITELLM_KEY}
        status, body = _http("POST", f"{server.url}/v1/messages", probe, headers)
        if status != 200:
            raise Unavailable(f"/v1/messages answered {status}: {body[:500]!r}")
    except Unavailable:
        server.stop()
        raise
    server.pids = descendants(proc.pid)
    server.workers = list(server.pids)
    server.notes.append(f"litellm {LITELLM_VERSION}, 1 uvicorn worker")
    return server
