"""Kong's published Admin API specification as a fuzzer: schemathesis
generates requests for every operation of
``../shared/reference/kong-admin-api/openapi.yaml`` (read from beside the
repository, never copied into it), valid ones and ones that break the spec
on purpose, and sends them to a real gateway process. Not one may answer
5xx.

Bounded and repeatable: a fixed number of examples per operation and mode,
``derandomize`` (the same requests on every run), no example database.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from tests.support.processes import GatewayProcess, start_gateway

SPEC_PATH = (
    pathlib.Path(__file__).resolve().parents[2].parent
    / "shared"
    / "reference"
    / "kong-admin-api"
    / "openapi.yaml"
)
#: Examples per operation and generation mode (about 2,300 requests in all).
EXAMPLES = 40


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    with start_gateway(tmp_path_factory.mktemp("schemathesis")) as gw:
        yield gw


def _fuzz(operation: Any, mode: Any, base_url: str, found: list[str]) -> int:
    sent = 0
    session = requests.Session()

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        # Shrinking would resend many near-copies; the first failing request is shown whole.
        phases=[p for p in Phase if p is not Phase.shrink],
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def send(case: Any) -> None:
        nonlocal sent
        response = case.call(base_url=base_url, session=session, timeout=30)
        sent += 1
        if response.status_code >= 500:
            found.append(
                f"{operation.method.upper()} {operation.path} ({mode}) -> "
                f"{response.status_code} {response.text[:200]}\n  {case.as_curl_command()}"
            )

    try:
        send()
    except Unsatisfiable:
        pass  # nothing to break: an operation without parameters or body (GET /, negative mode)
    finally:
        session.close()
    return sent


def test_admin_api_answers_no_5xx_to_kongs_specification(gateway: GatewayProcess) -> None:
    if not SPEC_PATH.exists():
        pytest.skip(f"Kong's Admin API specification is not at {SPEC_PATH}")
    schema = schemathesis.openapi.from_path(str(SPEC_PATH))
    modes = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
    found: list[str] = []
    operations = 0
    sent = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in modes:
            sent += _fuzz(operation, mode, gateway.admin_url, found)
    assert operations >= 30, f"only {operations} operations in the specification"
    assert sent >= operations * 5, f"only {sent} requests were sent"
    assert not found, f"{len(found)} of {sent} requests answered 5xx:\n" + "\n".join(found[:10])
    assert "Traceback" not in gateway.error_log()
