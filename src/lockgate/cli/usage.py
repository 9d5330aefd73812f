"""``lockgate usage``: the usage ledger's totals as a table, read from the
Admin API (``GET /ai/usage``) like ``lockgate gateway`` reads it; with
``--consumer``, also the consumer's limits and budgets and what remains
(``GET /consumers/{consumer}/ai-usage``)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Mapping
from typing import Any, TextIO
from urllib.parse import quote

from lockgate.cli.admin_client import AdminClient, AdminUnreachable
from lockgate.cli.budgets import format_budgets
from lockgate.cli.gateway import DEFAULT_ADMIN_URL
from lockgate.cli.options import add_option

__all__ = ["add_usage_command", "format_table"]

BY = ("consumer", "model", "provider", "route", "day", "hour", "minute")


def add_usage_command(subparsers: Any, environ: Mapping[str, str]) -> None:
    parser = subparsers.add_parser(
        "usage",
        help="show AI usage (requests, tokens, cost) from the usage ledger",
        description="Totals of the usage ledger per consumer, model, provider, route, day, "
        "hour or minute, read from the Admin API.",
    )
    add_option(
        parser,
        "--since",
        help="start of the window: an age (30m, 12h, 7d, 2w), an ISO 8601 time or "
        "seconds since the epoch",
        default="7d",
        environ=environ,
        metavar="AGE|TIME",
    )
    add_option(
        parser,
        "--by",
        help="what to total by",
        choices=BY,
        default="model",
        environ=environ,
    )
    add_option(
        parser,
        "--consumer",
        help="only this consumer's requests (username), followed by its token and cost "
        "limits (ai-rate-limiting-advanced): used and remaining per window",
        default=None,
        shown_default="every consumer",
        environ=environ,
    )
    add_option(
        parser,
        "--admin-url",
        help="the Admin API of the gateway to ask",
        default=DEFAULT_ADMIN_URL,
        environ=environ,
        env="LOCKGATE_ADMIN_URL",
    )
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    url = args.admin_url
    params = {"from": args.since, "group_by": args.by}
    if args.consumer:
        params["consumer"] = args.consumer
    return asyncio.run(_show(url, params, sys.stdout, sys.stderr))


async def _show(url: str, params: dict[str, str], out: TextIO, err: TextIO) -> int:
    try:
        async with AdminClient(url) as client:
            answer = await client.request("GET", "/ai/usage", params=params)
            budgets = None
            if params.get("consumer"):
                budgets = await client.request(
                    "GET", f"/consumers/{quote(params['consumer'], safe='')}/ai-usage"
                )
    except AdminUnreachable as exc:
        print(f"Error: {exc}", file=err)
        return 1
    if not answer.ok:
        print(f"Error: the Admin API answered {answer.status}: {answer.message()}", file=err)
        return 1
    out.write(format_table(answer.body))
    if budgets is not None:
        if not budgets.ok:
            print(f"Error: the Admin API answered {budgets.status}: {budgets.message()}", file=err)
            return 1
        out.write("\n" + format_budgets(budgets.body))
    return 0


def _money(value: float) -> str:
    return f"${value:,.4f}"


def _count(value: float | None) -> str:
    return f"{int(value or 0):,}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def format_table(body: dict[str, Any]) -> str:
    """The totals as an aligned text table with a TOTAL line."""
    head = (
        body["group_by"].upper(),
        "REQUESTS",
        "ERRORS",
        "PROMPT",
        "COMPLETION",
        "CACHED",
        "REASONING",
        "COST",
        "AVG MS",
        "AVG TTFT MS",
    )
    lines: list[tuple[str, ...]] = [head]
    for group in body["data"]:
        lines.append(
            (
                str(group["key"]) if group["key"] is not None else "(none)",
                _count(group["requests"]),
                _count(group["errors"]),
                _count(group["prompt_tokens"]),
                _count(group["completion_tokens"]),
                _count(group["cached_tokens"]),
                _count(group["reasoning_tokens"]),
                _money(group["cost"]),
                _ms(group.get("latency_ms_avg")),
                _ms(group.get("ttft_ms_avg")),
            )
        )
    total = body["total"]
    lines.append(
        (
            "TOTAL",
            _count(total["requests"]),
            _count(total["errors"]),
            _count(total["prompt_tokens"]),
            _count(total["completion_tokens"]),
            _count(total["cached_tokens"]),
            _count(total["reasoning_tokens"]),
            _money(total["cost"]),
            "",
            "",
        )
    )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    text = [f"AI usage from {body['from']} to {body['to']}"]
    if body.get("consumer"):
        text[0] += f", consumer {body['consumer']}"
    for n, line in enumerate(lines):
        cells = [line[0].ljust(widths[0])] + [
            cell.rjust(width) for cell, width in zip(line[1:], widths[1:], strict=True)
        ]
        text.append("  ".join(cells).rstrip())
        if n == 0 or n == len(lines) - 2:
            text.append("  ".join("-" * w for w in widths))
    return "\n".join(text) + "\n"
