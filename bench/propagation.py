"""How long a change takes to reach another node's proxy.

Traditional mode: two nodes (two workers each) on one throwaway PostgreSQL;
a route is added through node a's Admin API, and node b's proxy is asked
until it serves it. Hybrid mode: a control plane and a data plane (two
workers). Each of ``--changes`` rounds reports the time from the Admin API
call until the first answer from the new route, and until eight answers in
a row (each on a new connection, so both workers are asked). Not a test:
nothing asserts on timings.

    python bench/propagation.py [--mode traditional|hybrid] [--changes 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.nodes import cluster_args, start_nodes, start_role
from tests.support.postgres import postgres_server
from tests.support.processes import GatewayProcess, free_port, run_lockgate


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 0


def _nodes(
    stack: ExitStack, mode: str, url: str, tmp: Path
) -> tuple[GatewayProcess, GatewayProcess]:
    if mode == "traditional":
        a, b = stack.enter_context(start_nodes(tmp, url))
        return a, b
    cert, key = tmp / "cluster.crt", tmp / "cluster.key"
    run_lockgate(["cluster", "gen-cert", "--cert", str(cert), "--key", str(key)])
    certs = {"good": cert, "good_key": key}
    port = free_port()
    cp_args = ["--store", url, "--cluster-listen", f"127.0.0.1:{port}", *cluster_args(certs)]
    dp_args = ["--cluster-control-plane", f"127.0.0.1:{port}", *cluster_args(certs)]
    cp = stack.enter_context(start_role(tmp / "cp", "control_plane", cp_args))
    dp = stack.enter_context(start_role(tmp / "dp", "data_plane", dp_args))
    return cp, dp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("traditional", "hybrid"), default="traditional")
    parser.add_argument("--changes", type=int, default=20)
    args = parser.parse_args()
    first: list[float] = []
    steady: list[float] = []
    with postgres_server() as pg, ExitStack() as stack:
        admin, proxy = _nodes(stack, args.mode, pg.new_database(), Path(tempfile.mkdtemp()))
        admin.admin("POST", "/services", {"name": "svc", "url": admin.admin_url + "/status"})
        time.sleep(2)
        for i in range(args.changes):
            started = time.monotonic()
            status, _ = admin.admin(
                "POST", "/services/svc/routes", {"name": f"r{i}", "paths": [f"/p{i}"]}
            )
            if status != 201:
                raise RuntimeError(f"the Admin API answered {status}")
            while _status(f"{proxy.proxy_url}/p{i}") != 200:
                time.sleep(0.005)
            first.append(time.monotonic() - started)
            in_a_row = 0
            while in_a_row < 8:
                in_a_row = in_a_row + 1 if _status(f"{proxy.proxy_url}/p{i}") == 200 else 0
            steady.append(time.monotonic() - started)
            time.sleep(0.3)
    print(f"{args.mode}: {args.changes} changes, Admin API call to the other node's proxy (ms)")
    for name, values in (("first answer", first), ("8 answers in a row", steady)):
        print(
            f"  {name}: median {statistics.median(values) * 1000:.0f}, max {max(values) * 1000:.0f}"
        )


if __name__ == "__main__":
    main()
