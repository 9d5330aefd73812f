"""Turning raw load-generator results into cells, tables and target verdicts.

Absolute numbers on the benchmark machine move by about ±35% from run to
run, so every comparison is made against a floor measured in the same run:
throughput and latency against ``direct`` (the emulator's OpenAI route, which
every translating target calls), CPU against ``minimal`` (the minimal
translator).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "Cell",
    "Verdict",
    "cpu_pairs_markdown",
    "evaluate_targets",
    "make_cell",
    "markdown",
    "paired_markdown",
    "paired_stats",
    "scaling_markdown",
]

BODY_LABELS = ("small/stream", "small/json", "cc/stream", "cc/json")
FLOOR = "direct"
PY_FLOOR = "minimal"
ONE_WORKER = "lockgate1"
TWO_WORKERS = "lockgate2"


@dataclass
class Cell:
    target: str
    body: str  # one of BODY_LABELS
    concurrency: int
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    ttfb_p50_ms: float
    ttfb_p99_ms: float
    cpu_ms_per_req: float | None  # None: no gateway process (direct)
    emulator_cpu_ms_per_req: float | None
    rss_mb: float | None  # all the target's processes at the end of the window
    worker_rss_mb: float | None  # the largest serving process
    errors: int
    error_samples: list[str]
    # cores busy during the window: the target's processes, the emulator, the load generator
    target_cores: float | None = None
    emulator_cores: float | None = None
    loadgen_cores: float | None = None
    #: every other process on the machine (other users' work disturbs the cell)
    other_cores: float | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _pct(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def make_cell(
    target: str,
    body: str,
    concurrency: int,
    raw: dict[str, Any],
    gateway: bool,
    workers: list[int],
) -> Cell:
    lat = sorted(raw["latencies"])
    ttfb = sorted(raw["ttfbs"])
    ours = (raw["cpu"] if gateway else 0.0) + raw["emulator_cpu"] + raw.get("loadgen_cpu", 0.0)
    n = len(lat)
    rss = raw.get("rss_kib", {})
    total_rss = sum(v[0] for v in rss.values()) / 1024 if rss else None
    worker_rss = max((rss[str(p)][0] for p in workers if str(p) in rss), default=0) / 1024
    return Cell(
        target=target,
        body=body,
        concurrency=concurrency,
        requests=n,
        rps=n / raw["elapsed"] if raw["elapsed"] else 0.0,
        p50_ms=_pct(lat, 0.5) * 1e3,
        p99_ms=_pct(lat, 0.99) * 1e3,
        ttfb_p50_ms=_pct(ttfb, 0.5) * 1e3,
        ttfb_p99_ms=_pct(ttfb, 0.99) * 1e3,
        cpu_ms_per_req=raw["cpu"] / n * 1e3 if gateway and n else None,
        emulator_cpu_ms_per_req=raw["emulator_cpu"] / n * 1e3 if n else None,
        rss_mb=total_rss if gateway else None,
        worker_rss_mb=worker_rss if gateway else None,
        errors=raw["errors"],
        error_samples=raw["error_samples"],
        target_cores=raw["cpu"] / raw["elapsed"] if gateway and raw["elapsed"] else None,
        emulator_cores=raw["emulator_cpu"] / raw["elapsed"] if raw["elapsed"] else None,
        loadgen_cores=raw.get("loadgen_cpu", 0.0) / raw["elapsed"] if raw["elapsed"] else None,
        other_cores=max(0.0, (raw.get("machine_cpu", 0.0) - ours) / raw["elapsed"])
        if raw["elapsed"] and "machine_cpu" in raw
        else None,
    )


def paired_stats(side: dict[str, Any]) -> dict[str, Any]:
    lat, ttfb = sorted(side["latencies"]), sorted(side["ttfbs"])
    return {
        "requests": len(lat),
        "errors": side["errors"],
        "p50_ms": _pct(lat, 0.5) * 1e3,
        "p99_ms": _pct(lat, 0.99) * 1e3,
        "ttfb_p50_ms": _pct(ttfb, 0.5) * 1e3,
    }


# ------------------------------------------------------------------------ table


def _f(value: float | None, digits: int = 2) -> str:
    if value is None or value != value:  # None or NaN
        return "—"
    return f"{value:.{digits}f}"


def _index(cells: list[Cell]) -> dict[tuple[str, str, int], Cell]:
    return {(c.target, c.body, c.concurrency): c for c in cells}


def markdown(cells: list[Cell], targets: list[str]) -> str:
    """One table per body and mode; rows target × concurrency."""
    by = _index(cells)
    out: list[str] = []
    header = (
        "| target | conc | req/s | ×direct | p50 ms | +p50 ms | p99 ms | TTFB p50 | +TTFB ms "
        "| CPU ms/req | ×minimal | emu CPU ms | RSS MB | errors | bg cores |"
    )
    rule = "|" + "---|" * (header.count("|") - 1)
    concurrencies = sorted({c.concurrency for c in cells})
    for body in BODY_LABELS:
        rows = [c for c in cells if c.body == body]
        if not rows:
            continue
        out += [f"### {body}", "", header, rule]
        for target in targets:
            for conc in concurrencies:
                cell = by.get((target, body, conc))
                if cell is None:
                    continue
                floor = by.get((FLOOR, body, conc))
                py = by.get((PY_FLOOR, body, conc))
                ratio_rps = cell.rps / floor.rps if floor and floor.rps else None
                added = cell.p50_ms - floor.p50_ms if floor and target != FLOOR else None
                added_ttfb = (
                    cell.ttfb_p50_ms - floor.ttfb_p50_ms if floor and target != FLOOR else None
                )
                cpu_ratio = (
                    cell.cpu_ms_per_req / py.cpu_ms_per_req
                    if py and py.cpu_ms_per_req and cell.cpu_ms_per_req is not None
                    else None
                )
                rss = _f(cell.rss_mb, 0)
                if cell.worker_rss_mb and cell.rss_mb and abs(cell.rss_mb - cell.worker_rss_mb) > 1:
                    rss += f" ({_f(cell.worker_rss_mb, 0)}/worker)"
                out.append(
                    f"| {target} | {conc} | {cell.rps:.0f} | {_f(ratio_rps)} | {_f(cell.p50_ms)} "
                    f"| {_f(added)} | {_f(cell.p99_ms)} | {_f(cell.ttfb_p50_ms)} | {_f(added_ttfb)} "
                    f"| {_f(cell.cpu_ms_per_req)} | {_f(cpu_ratio)} "
                    f"| {_f(cell.emulator_cpu_ms_per_req)} | {rss} | {cell.errors} "
                    f"| {_f(cell.other_cores, 1)} |"
                )
        out.append("")
    return "\n".join(out)


def paired_markdown(paired: list[dict[str, Any]]) -> str:
    if not paired:
        return ""
    out = [
        "### Added latency at c=1, alternating with direct",
        "",
        "Requests alternate between the target and the emulator on one connection each, so "
        "background load slows both alike.",
        "",
        "| target | body | requests | p50 ms | direct p50 ms | +p50 ms | +p99 ms "
        "| TTFB p50 ms | direct TTFB ms | +TTFB ms | errors |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in paired:
        out.append(
            f"| {p['target']} | {p['body']} | {p['requests']} | {_f(p['target_p50_ms'])} "
            f"| {_f(p['direct_p50_ms'])} | {_f(p['added_p50_ms'])} | {_f(p['added_p99_ms'])} "
            f"| {_f(p['target_ttfb_p50_ms'])} | {_f(p['direct_ttfb_p50_ms'])} "
            f"| {_f(p['added_ttfb_p50_ms'])} | {p['errors']} |"
        )
    out.append("")
    return "\n".join(out)


def cpu_pairs_markdown(pairs: list[dict[str, Any]]) -> str:
    if not pairs:
        return ""
    out = [
        "### CPU per request at c=16, alternating windows with the minimal translator",
        "",
        "Short windows alternate between lockgate (1 worker) and the minimal translator, both "
        "running; medians of the windows.",
        "",
        "| body | lockgate1 ms/req | minimal ms/req | ratio | lockgate1 windows | minimal windows |",
        "|---|---|---|---|---|---|",
    ]
    for p in pairs:
        lg = ", ".join(f"{x:.3f}" for x in p["samples"]["lockgate1"])
        py = ", ".join(f"{x:.3f}" for x in p["samples"]["minimal"])
        out.append(
            f"| {p['body']} | {p['lockgate1_ms']:.3f} | {p['minimal_ms']:.3f} "
            f"| {p['ratio']:.2f} | {lg} | {py} |"
        )
    out.append("")
    return "\n".join(out)


def scaling_markdown(cells: list[Cell], concurrency: int) -> str:
    """How busy the machine was in the one- and two-worker cells: two workers
    can only scale into the CPU the emulator, the load generator and whatever
    else runs on the machine leave."""
    rows = [
        c for c in cells if c.target in (ONE_WORKER, TWO_WORKERS) and c.concurrency == concurrency
    ]
    if not rows:
        return ""
    out = [
        f"### Where the CPU went at c={concurrency} (cores busy during the window)",
        "",
        "| body | target | req/s | lockgate | emulator | load generator | others | total |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in sorted(rows, key=lambda c: (BODY_LABELS.index(c.body), c.target)):
        parts = [
            c.target_cores or 0.0,
            c.emulator_cores or 0.0,
            c.loadgen_cores or 0.0,
            c.other_cores or 0.0,
        ]
        out.append(
            f"| {c.body} | {c.target} | {c.rps:.0f} | {parts[0]:.2f} | {parts[1]:.2f} "
            f"| {parts[2]:.2f} | {parts[3]:.2f} | {sum(parts):.2f} |"
        )
    out.append("")
    return "\n".join(out)


# ---------------------------------------------------------------------- targets


@dataclass
class Verdict:
    name: str
    met: bool | None  # None: not measured in this run
    value: str
    detail: str

    def line(self) -> str:
        mark = {True: "MET", False: "NOT MET", None: "n/a"}[self.met]
        return f"- [{mark}] {self.name}: {self.value}. {self.detail}".rstrip(". ") + "."


def _missing(name: str, why: str) -> Verdict:
    return Verdict(name, None, "not measured", why)


def _upper(name: str, value: float, limit: float, unit: str, what: str) -> Verdict:
    if value != value:  # NaN: a floor without a single completed request
        return _missing(name, f"{what}: no completed requests to compare")
    met = value <= limit
    gap = value - limit
    distance = f"{abs(gap):.2f}{unit} {'under' if met else 'over'} the limit"
    return Verdict(name, met, f"{what} = {value:.2f}{unit} (limit ≤ {limit:g}{unit})", distance)


def _lower(name: str, value: float, limit: float, unit: str, what: str) -> Verdict:
    if value != value:
        return _missing(name, f"{what}: no completed requests to compare")
    met = value >= limit
    gap = value - limit
    distance = f"{abs(gap):.2f}{unit} {'above' if met else 'short of'} the target"
    return Verdict(name, met, f"{what} = {value:.2f}{unit} (target ≥ {limit:g}{unit})", distance)


def evaluate_targets(
    cells: list[Cell],
    holds: list[dict[str, Any]],
    paired: list[dict[str, Any]],
    cpu_pairs: list[dict[str, Any]],
    idle_rss_mb: dict[str, float],
    scaling_concurrency: int,
    wrk_scaling: list[dict[str, Any]] | None = None,
) -> list[Verdict]:
    by = _index(cells)
    out: list[Verdict] = []

    # 1. CPU per request ≤ 1.5x the minimal translator's, each body and mode (c=16):
    # from the alternating windows when there are some, else from the two cells.
    alternating = {p["body"]: p for p in cpu_pairs}
    for body in BODY_LABELS:
        name = f"CPU/request ≤ 1.5× minimal translator ({body}, c=16)"
        pair = alternating.get(body)
        if pair is not None:
            lg_ms, py_ms, how = pair["lockgate1_ms"], pair["minimal_ms"], "alternating windows"
        else:
            lg, py = by.get((ONE_WORKER, body, 16)), by.get((PY_FLOOR, body, 16))
            if not (lg and py and lg.cpu_ms_per_req and py.cpu_ms_per_req):
                out.append(_missing(name, "lockgate1 or minimal not measured at c=16"))
                continue
            lg_ms, py_ms, how = lg.cpu_ms_per_req, py.cpu_ms_per_req, "separate cells"
        verdict = _upper(name, lg_ms / py_ms, 1.5, "×", "ratio")
        verdict.detail += f" (lockgate {lg_ms:.3f} ms vs minimal {py_ms:.3f} ms, {how})"
        out.append(verdict)

    # 2. Added p50 latency at c=1, and 3. added time to first byte at c=1:
    # from the paired measurement when there is one, else from the two cells.
    pairs = {(p["target"], p["body"]): p for p in paired}

    def added(body: str, key: str) -> tuple[float, float, float, str] | None:
        pair = pairs.get((ONE_WORKER, body))
        if pair is not None:
            return (
                pair[f"added_{key}_ms"],
                pair[f"target_{key}_ms"],
                pair[f"direct_{key}_ms"],
                "alternating",
            )
        lg, floor = by.get((ONE_WORKER, body, 1)), by.get((FLOOR, body, 1))
        if not (lg and floor):
            return None
        if key == "p50":
            mine, theirs = lg.p50_ms, floor.p50_ms
        else:
            mine, theirs = lg.ttfb_p50_ms, floor.ttfb_p50_ms
        return mine - theirs, mine, theirs, "separate cells"

    for body, limit in (("small/stream", 1.0), ("small/json", 1.0), ("cc/stream", 1.5)):
        name = f"added p50 latency at c=1 ({body}) ≤ {limit:g} ms"
        got = added(body, "p50")
        if got is None:
            out.append(_missing(name, "lockgate1 or direct not measured at c=1"))
            continue
        verdict = _upper(name, got[0], limit, " ms", "lockgate p50 − direct p50")
        verdict.detail += f" ({got[1]:.2f} ms vs {got[2]:.2f} ms, {got[3]})"
        out.append(verdict)
    for body in ("small/stream", "cc/stream"):
        name = f"added time to first byte at c=1 ({body}) ≤ 1 ms"
        got = added(body, "ttfb_p50")
        if got is None:
            out.append(_missing(name, "lockgate1 or direct not measured at c=1"))
            continue
        verdict = _upper(name, got[0], 1.0, " ms", "lockgate − direct TTFB p50")
        verdict.detail += f" ({got[1]:.2f} ms vs {got[2]:.2f} ms, {got[3]})"
        out.append(verdict)

    # 4. Throughput ≥ 25x LiteLLM's, c=16, Claude-Code-sized stream.
    name = "throughput ≥ 25× LiteLLM (cc/stream, c=16)"
    lg, ll = by.get((ONE_WORKER, "cc/stream", 16)), by.get(("litellm", "cc/stream", 16))
    if lg and ll and ll.rps:
        verdict = _lower(name, lg.rps / ll.rps, 25, "×", "lockgate1 / litellm req/s")
        verdict.detail += f" ({lg.rps:.0f} vs {ll.rps:.1f} req/s, both one process)"
        out.append(verdict)
    else:
        out.append(_missing(name, "lockgate1 or litellm not measured (see notes)"))

    # 5. 1,000 concurrent open streams, no error, < 150 MB per worker.
    held = [h for h in holds if h["target"] == ONE_WORKER]
    for h in held:
        name = f"1,000 concurrent streams ({h['body']}): no error, < 150 MB RSS per worker"
        peak = h["peak_worker_rss_mb"]
        enough = h["streams"] >= 1000
        met: bool | None = h["errors"] == 0 and peak < 150 if enough else None
        out.append(
            Verdict(
                name,
                met,
                f"{h['streams']} streams, {h['peak_open']} open at once, "
                f"{h['errors']} errors, peak worker RSS {peak:.0f} MB",
                f"{abs(150 - peak):.0f} MB {'under' if peak < 150 else 'over'} the limit"
                + ("" if enough else " (fewer than 1,000 streams: --quick)"),
            )
        )
    if not held:
        out.append(_missing("1,000 concurrent streams", "hold test not run on lockgate1"))

    # 6. Idle worker < 60 MB.
    name = "idle worker < 60 MB RSS"
    if ONE_WORKER in idle_rss_mb:
        out.append(
            _upper(name, idle_rss_mb[ONE_WORKER], 60, " MB", "worker RSS after warm-up, idle")
        )
    else:
        out.append(_missing(name, "lockgate1 not run"))

    # 7. Two workers ≥ 1.6x one worker's throughput: from the wrk + nginx runs
    # (load generator and upstream pinned to one core) when there are some.
    if wrk_scaling:
        for row in wrk_scaling:
            name = (
                f"2 workers ≥ 1.6× one worker's throughput ({row['body']}, c={scaling_concurrency}, "
                "wrk + nginx pinned to one core)"
            )
            verdict = _lower(name, row["ratio"], 1.6, "×", "2 workers / 1 worker req/s, medians")
            verdict.detail += (
                f" ({row['two_rps']:.0f} vs {row['one_rps']:.0f} req/s; workers used "
                f"{row['two_worker_cores']:.2f} vs {row['one_worker_cores']:.2f} cores, wrk + nginx "
                f"{row['peer_cores']:.2f}; {row['two_per_core']:.0f} vs {row['one_per_core']:.0f} "
                f"req/s per worker core; {row['errors']} errors)"
            )
            out.append(verdict)
        return out
    for body in BODY_LABELS:
        name = f"2 workers ≥ 1.6× one worker's throughput ({body}, c={scaling_concurrency})"
        one = by.get((ONE_WORKER, body, scaling_concurrency))
        two = by.get((TWO_WORKERS, body, scaling_concurrency))
        if not (one and two and one.rps):
            out.append(_missing(name, "lockgate1 or lockgate2 not measured"))
            continue
        verdict = _lower(name, two.rps / one.rps, 1.6, "×", "lockgate2 / lockgate1 req/s")
        verdict.detail += (
            f" ({two.rps:.0f} vs {one.rps:.0f} req/s; emulator cells: the Python emulator and "
            "load generator share the two cores, see the scaling section)"
        )
        out.append(verdict)
    return out
