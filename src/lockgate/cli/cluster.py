"""``lockgate cluster gen-cert``: the shared certificate of a hybrid-mode cluster."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from typing import Any

from lockgate.cli.options import add_flag, add_option

__all__ = ["add_cluster_command", "add_hybrid_options"]


def add_cluster_command(subparsers: Any, environ: Mapping[str, str]) -> None:
    cluster = subparsers.add_parser("cluster", help="hybrid mode: the cluster certificate")
    commands = cluster.add_subparsers(dest="cluster_command", metavar="COMMAND", required=True)
    gen = commands.add_parser(
        "gen-cert",
        help="make the certificate and key every control and data plane shares",
        description="Write a new self-signed certificate and key (the key with mode 0600); "
        "copy both to every node of the cluster.",
    )
    add_option(
        gen,
        "--cert",
        help="where to write the certificate (PEM)",
        default="",
        shown_default="none: required",
        environ=environ,
        env="LOCKGATE_CLUSTER_CERT",
        metavar="FILE",
    )
    add_option(
        gen,
        "--key",
        help="where to write its private key (PEM, mode 0600)",
        default="",
        shown_default="none: required",
        environ=environ,
        env="LOCKGATE_CLUSTER_CERT_KEY",
        metavar="FILE",
    )
    add_option(
        gen,
        "--days",
        help="how many days the certificate is valid",
        type=int,
        default=3 * 365,
        environ=environ,
        env="LOCKGATE_CLUSTER_CERT_DAYS",
    )
    add_flag(gen, "--force", help="replace existing files")
    gen.set_defaults(func=_gen_cert)


def add_hybrid_options(start: argparse.ArgumentParser, environ: Mapping[str, str]) -> None:
    """``start``'s hybrid-mode options (Kong's names), each also an environment variable."""
    add_option(
        start,
        "--role",
        help="traditional, control_plane (Admin API, no proxy) or data_plane "
        "(proxy only, configured by its control plane)",
        choices=("traditional", "control_plane", "data_plane"),
        default="traditional",
        environ=environ,
        env="LOCKGATE_ROLE",
    )
    add_option(
        start,
        "--cluster-listen",
        help="control plane: where data planes connect",
        default="0.0.0.0:8005",
        environ=environ,
        env="LOCKGATE_CLUSTER_LISTEN",
        metavar="HOST:PORT",
    )
    add_option(
        start,
        "--cluster-control-plane",
        help="data plane: its control plane's cluster address",
        default="",
        shown_default="none",
        environ=environ,
        env="LOCKGATE_CLUSTER_CONTROL_PLANE",
        metavar="HOST:PORT",
    )
    add_option(
        start,
        "--cluster-cert",
        help="the cluster's shared certificate (lockgate cluster gen-cert)",
        default="",
        shown_default="none",
        environ=environ,
        env="LOCKGATE_CLUSTER_CERT",
        metavar="FILE",
    )
    add_option(
        start,
        "--cluster-cert-key",
        help="the shared certificate's private key",
        default="",
        shown_default="none",
        environ=environ,
        env="LOCKGATE_CLUSTER_CERT_KEY",
        metavar="FILE",
    )


def _gen_cert(args: argparse.Namespace) -> int:
    from lockgate.cluster.certs import gen_cert

    if not args.cert or not args.key:
        print("Error: --cert FILE and --key FILE are required", file=sys.stderr)
        return 2
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
