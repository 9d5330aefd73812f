"""``lockgate cluster gen-cert``: the shared certificate of a hybrid-mode cluster."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

__all__ = ["add_cluster_command", "add_hybrid_options"]


def add_cluster_command(subparsers: Any) -> None:
    cluster = subparsers.add_parser("cluster", help="hybrid mode: the cluster certificate")
    commands = cluster.add_subparsers(dest="cluster_command", metavar="COMMAND", required=True)
    gen = commands.add_parser(
        "gen-cert",
        help="make the certificate and key every control and data plane shares",
        description="Write a new self-signed certificate and key (the key with mode 0600); "
        "copy both to every node of the cluster.",
    )
    gen.add_argument("--cert", required=True, metavar="FILE")
    gen.add_argument("--key", required=True, metavar="FILE")
    gen.add_argument("--days", type=int, default=3 * 365, help="validity (default: 3 years)")
    gen.add_argument("--force", action="store_true", help="replace existing files")
    gen.set_defaults(func=_gen_cert)


def add_hybrid_options(start: argparse.ArgumentParser) -> None:
    """``start``'s hybrid-mode options (Kong's names), each also an environment variable."""
    env = os.environ.get
    start.add_argument(
        "--role",
        choices=("traditional", "control_plane", "data_plane"),
        default=env("LOCKGATE_ROLE", "traditional"),
        help="traditional (default), control_plane (Admin API, no proxy) or data_plane "
        "(proxy only, configured by its control plane)",
    )
    start.add_argument(
        "--cluster-listen",
        default=env("LOCKGATE_CLUSTER_LISTEN", "0.0.0.0:8005"),
        metavar="HOST:PORT",
        help="control plane: where data planes connect (default 0.0.0.0:8005)",
    )
    start.add_argument(
        "--cluster-control-plane",
        default=env("LOCKGATE_CLUSTER_CONTROL_PLANE", ""),
        metavar="HOST:PORT",
        help="data plane: its control plane's cluster address",
    )
    start.add_argument("--cluster-cert", default=env("LOCKGATE_CLUSTER_CERT", ""), metavar="FILE")
    start.add_argument(
        "--cluster-cert-key", default=env("LOCKGATE_CLUSTER_CERT_KEY", ""), metavar="FILE"
    )
    start.add_argument(
        "--status-listen",
        default=env("LOCKGATE_STATUS_LISTEN", "127.0.0.1:8100"),
        metavar="HOST:PORT",
        help="data plane: GET /status/ready for a load balancer (default 127.0.0.1:8100)",
    )


def _gen_cert(args: argparse.Namespace) -> int:
    from lockgate.cluster.certs import gen_cert

    for path in (args.cert, args.key):
        if os.path.exists(path) and not args.force:
            print(f"Error: {path} exists (--force replaces it)", file=sys.stderr)
            return 1
    try:
        gen_cert(args.cert, args.key, args.days)
    except OSError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.cert} and {args.key}; copy both to every control and data plane")
    return 0
