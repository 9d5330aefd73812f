"""LiteLLM's proxy in its own virtual environment (``bench/.litellm-venv``).

``pip install 'litellm[proxy]'`` does not resolve from the registry this
project uses: some of its pinned dependencies (``certifi>=2026.10.19``, exact
``==`` pins of LiteLLM's own satellite packages) are not published there. So
the wheel is installed without dependencies, then its requirements (the base
ones and the ``proxy`` extra) with loosened pins: exact pins and lower bounds
are dropped, upper bounds kept. A requirement that still cannot be installed
is skipped and named; whether the proxy then starts is checked by starting it.

The version is pinned (a compromised LiteLLM release was once published on
the registry; a wheel that ships a ``.pth`` start-up hook is refused).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "LITELLM_VERSION",
    "LiteLLMInstall",
    "ensure_litellm",
    "litellm_env",
    "loosen_requirement",
]

LITELLM_VERSION = "1.106.10"
BENCH_DIR = Path(__file__).resolve().parent
VENV = BENCH_DIR / ".litellm-venv"
_EXTRA = "proxy"
_PIP_TIMEOUT = 1200


@dataclass
class LiteLLMInstall:
    ok: bool
    reason: str = ""
    python: Path = VENV / "bin" / "python"
    skipped: list[str] = field(default_factory=list)

    @property
    def litellm(self) -> Path:
        return VENV / "bin" / "litellm"


def _marker_file() -> Path:
    return VENV / f".bench-installed-{LITELLM_VERSION}"


def _pip(args: list[str], log: Path) -> bool:
    cmd = [str(VENV / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", *args]
    with log.open("a") as out:
        out.write(f"$ {' '.join(cmd)}\n")
        out.flush()
        try:
            rc = subprocess.run(
                cmd, stdout=out, stderr=subprocess.STDOUT, timeout=_PIP_TIMEOUT, check=False
            ).returncode
        except subprocess.TimeoutExpired:
            out.write("timed out\n")
            return False
    return rc == 0


def loosen_requirement(spec: str, extras: frozenset[str] = frozenset({_EXTRA})) -> str | None:
    """A ``Requires-Dist`` line -> a looser requirement for this interpreter,
    or None when its marker excludes it (another Python, an extra not wanted).

    ``name[x]>=1.2,<2 ; marker`` -> ``name[x]<2``; ``name==1.2`` -> ``name``.
    """
    try:
        from packaging.requirements import Requirement
    except ImportError:  # pip vendors it in every venv
        from pip._vendor.packaging.requirements import Requirement  # type: ignore[assignment]

    req = Requirement(spec)
    if req.marker is not None and not any(
        req.marker.evaluate({"extra": extra}) for extra in ("", *extras)
    ):
        return None
    upper = [s for s in req.specifier if s.operator in ("<", "<=")]
    extra = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
    return req.name + extra + ",".join(str(s) for s in upper)


def _requirements(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as zf:
        meta_name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = zf.read(meta_name).decode()
    specs = [
        line.split(":", 1)[1].strip()
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:")
    ]
    out: dict[str, str] = {}
    for spec in specs:
        loose = loosen_requirement(spec)
        if loose is not None:
            name = re.split(r"[\[<>=!~ ]", loose, maxsplit=1)[0].lower()
            out.setdefault(name, loose)
    return list(out.values())


def _check_wheel(wheel: Path) -> str | None:
    with zipfile.ZipFile(wheel) as zf:
        hooks = [n for n in zf.namelist() if n.endswith(".pth")]
    if hooks:
        return f"refused: the wheel ships start-up hooks {hooks}"
    return None


def ensure_litellm(log: Path) -> LiteLLMInstall:
    """Installs LiteLLM's proxy once; later calls reuse the venv."""
    if _marker_file().exists():
        return LiteLLMInstall(ok=True, skipped=_marker_file().read_text().split())
    log.parent.mkdir(parents=True, exist_ok=True)
    if not (VENV / "bin" / "python").exists():
        rc = subprocess.run(
            [sys.executable, "-m", "venv", str(VENV)],
            capture_output=True,
            text=True,
            check=False,
        )
        if rc.returncode != 0:
            return LiteLLMInstall(ok=False, reason=f"cannot create {VENV}: {rc.stderr.strip()}")
    wheels = VENV / "wheels"
    wheels.mkdir(exist_ok=True)
    found = sorted(wheels.glob(f"litellm-{LITELLM_VERSION}-*.whl"))
    if not found:
        spec = f"litellm=={LITELLM_VERSION}"
        if not _pip(["download", "--no-deps", "-d", str(wheels), spec], log):
            return LiteLLMInstall(ok=False, reason=f"cannot download {spec} (see {log})")
        found = sorted(wheels.glob(f"litellm-{LITELLM_VERSION}-*.whl"))
    if not found:
        return LiteLLMInstall(ok=False, reason=f"no wheel for litellm {LITELLM_VERSION}")
    wheel = found[0]
    refused = _check_wheel(wheel)
    if refused:
        return LiteLLMInstall(ok=False, reason=refused)
    if not _pip(["install", "--no-deps", str(wheel)], log):
        return LiteLLMInstall(ok=False, reason=f"cannot install {wheel.name} (see {log})")
    requirements = _requirements(wheel)
    skipped: list[str] = []
    if not _pip(["install", *requirements], log):
        # One at a time, so one unavailable package does not sink the rest.
        for requirement in requirements:
            if not _pip(["install", requirement], log):
                skipped.append(requirement)
    _marker_file().write_text(" ".join(skipped))
    return LiteLLMInstall(ok=True, skipped=skipped)


def litellm_env(master_key: str) -> dict[str, str]:
    """The environment LiteLLM's proxy needs to run offline and to serve
    ``/v1/messages`` through an OpenAI upstream's chat completions."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_"))}
    env.update(
        {
            "LITELLM_MASTER_KEY": master_key,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LITELLM_USE_CHAT_COMPLETIONS_URL_FOR_ANTHROPIC_MESSAGES": "true",
            "LITELLM_TELEMETRY": "False",
            "LITELLM_LOG": "ERROR",
            "DISABLE_SCHEMA_UPDATE": "true",
            "NO_DOCS": "True",
        }
    )
    return env


if __name__ == "__main__":
    result = ensure_litellm(BENCH_DIR / "results" / "litellm-install.log")
    print(result)
    sys.exit(0 if result.ok else 1)
