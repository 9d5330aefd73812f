"""The node's ``/metrics`` text (Prometheus exposition format 0.0.4): every
worker's values summed, in Kong's names, plus the node gauges the Admin API
process knows (``kong_datastore_reachable``, ``kong_node_info``).

The worker files are read with prometheus-client's multiprocess merge; the
text is written here because the library would expose a counter named
``kong_bandwidth_bytes`` as ``kong_bandwidth_bytes_total``, and Kong's
dashboards query the name without the suffix.
"""

from __future__ import annotations

import glob
import os
import shutil
from collections.abc import Iterable
from typing import Any

from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.utils import floatToGoString

from lockgate.plugins.prometheus.metrics import FAMILIES

__all__ = ["CONTENT_TYPE", "NodeGauge", "metrics_dir", "prepare_metrics_dir", "render_metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_BY_CLIENT_NAME = {f.client_name: f for f in FAMILIES.values()}

#: A gauge of the node: name, help text, and (labels, value) samples.
NodeGauge = tuple[str, str, list[tuple[dict[str, str], float]]]


def metrics_dir(prefix: str) -> str:
    """Where the proxy workers of the node in ``prefix`` keep their value files."""
    return os.path.join(prefix, "prometheus")


def prepare_metrics_dir(path: str) -> None:
    """An empty directory for the workers' value files (a new node starts
    counting from zero, as a restarted Kong does)."""
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, exist_ok=True)


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _sample(name: str, labels: Iterable[tuple[str, str]], value: float) -> str:
    pairs = ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels)
    return (
        f"{name}{{{pairs}}} {floatToGoString(value)}\n"
        if pairs
        else f"{name} {floatToGoString(value)}\n"
    )


def _histogram_order(sample: Any) -> tuple[Any, ...]:
    labels = {k: v for k, v in sample.labels.items() if k != "le"}
    suffix = sample.name.rsplit("_", 1)[-1]
    le = float(sample.labels["le"]) if "le" in sample.labels else 0.0
    return (sorted(labels.items()), {"bucket": 0, "sum": 1, "count": 2}.get(suffix, 3), le)


def render_metrics(metrics_dir: str | None, gauges: Iterable[NodeGauge] = ()) -> str:
    """The exposition text: the workers' families (from ``metrics_dir``),
    then the node gauges."""
    out: list[str] = []
    merged: list[Any] = []
    if metrics_dir and os.path.isdir(metrics_dir):
        files = glob.glob(os.path.join(metrics_dir, "*.db"))
        merged = list(MultiProcessCollector.merge(files, accumulate=True))
    for metric in sorted(merged, key=lambda m: m.name):
        family = _BY_CLIENT_NAME.get(metric.name)
        if family is None or not metric.samples:
            continue
        out.append(f"# HELP {family.name} {family.help}\n# TYPE {family.name} {family.kind}\n")
        if family.kind == "counter":
            for s in sorted(metric.samples, key=lambda s: sorted(s.labels.items())):
                out.append(_sample(family.name, s.labels.items(), s.value))
        else:
            for s in sorted(metric.samples, key=_histogram_order):
                pairs = [(k, v) for k, v in s.labels.items() if k != "le"]
                if "le" in s.labels:
                    pairs.append(("le", s.labels["le"]))
                out.append(_sample(s.name, pairs, s.value))
    for name, text, samples in gauges:
        out.append(f"# HELP {name} {text}\n# TYPE {name} gauge\n")
        for labels, value in samples:
            out.append(_sample(name, labels.items(), value))
    return "".join(out)
