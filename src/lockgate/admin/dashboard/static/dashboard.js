// lockgate's dashboard: reads the Admin API's own endpoints and refreshes itself.
"use strict";

const REFRESH_MS = 10000;
const BUCKET = { "1h": "minute", "24h": "hour", "7d": "hour", "30d": "day" };
const SECONDS = { "1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400 };
const STEP = { minute: 60, hour: 3600, day: 86400 };
const charts = {};

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

async function getJSON(path) {
  const resp = await fetch(path, { headers: { Accept: "application/json" } });
  if (!resp.ok) throw new Error(`${path}: HTTP ${resp.status}`);
  return resp.json();
}

const fmtInt = (n) => Math.round(n || 0).toLocaleString("en-US");
const fmtCost = (n) => (!n ? "$0" : n < 0.01 ? "$" + n.toPrecision(2) : "$" + n.toFixed(4));
const fmtMs = (n) => (n === null || n === undefined ? "–" : `${Math.round(n)} ms`);

function fillTable(table, head, rows) {
  table.replaceChildren();
  const thead = el("thead");
  const tr = el("tr");
  head.forEach(([label, numeric]) => tr.append(el("th", label, numeric ? "num" : "")));
  thead.append(tr);
  const tbody = el("tbody");
  rows.forEach((cells) => {
    const row = el("tr");
    cells.forEach((cell, i) => row.append(el("td", cell, head[i][1] ? "num" : "")));
    tbody.append(row);
  });
  table.append(thead, tbody);
  return tbody;
}

function drawChart(id, xs, series, format) {
  const box = document.getElementById(id);
  // The first series' total, for a reader (and the tests) to check against the tables.
  const sum = series[0].values.reduce((a, b) => a + b, 0);
  box.dataset.sum = String(Math.round(sum * 1e6) / 1e6);
  box.dataset.points = String(xs.length);
  const data = [xs, ...series.map((s) => s.values)];
  const width = Math.max(200, box.clientWidth);
  if (charts[id] && charts[id].series.length === series.length + 1) {
    charts[id].setData(data);
    charts[id].setSize({ width, height: 200 });
    return;
  }
  if (charts[id]) charts[id].destroy();
  const colors = ["#2563eb", "#f59e0b", "#10b981"];
  charts[id] = new uPlot(
    {
      width,
      height: 200,
      series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: colors[i], fill: colors[i] + "22" }))],
      axes: [{}, { size: 72, values: format ? (u, vals) => vals.map(format) : undefined }],
    },
    data,
    box,
  );
}

function timeSeries(groups, window) {
  // Every bucket of the window, empty ones at zero, so the lines read as time.
  const step = STEP[BUCKET[window]];
  const now = Date.now() / 1000;
  const first = Math.floor((now - SECONDS[window]) / step) * step;
  const byTime = new Map(groups.map((g) => [Date.parse(g.key) / 1000, g]));
  const xs = [];
  for (let t = first; t <= now; t += step) xs.push(t);
  const pick = (name) => xs.map((t) => (byTime.get(t) || {})[name] || 0);
  drawChart("chart-requests", xs, [{ label: "requests", values: pick("requests") }, { label: "errors", values: pick("errors") }]);
  drawChart("chart-tokens", xs, [
    { label: "prompt", values: pick("prompt_tokens") },
    { label: "completion", values: pick("completion_tokens") },
  ]);
  drawChart("chart-cost", xs, [{ label: "cost", values: pick("cost") }], (v) => (v ? v.toPrecision(2) : "0"));
}

function breakdown(id, body) {
  fillTable(
    document.getElementById(id),
    [[body.group_by, false], ["requests", true], ["tokens", true], ["cost", true]],
    body.data.map((g) => [
      g.key === null ? "(none)" : g.key,
      fmtInt(g.requests),
      fmtInt(g.prompt_tokens + g.completion_tokens),
      fmtCost(g.cost),
    ]),
  );
}

async function openRequest(requestId) {
  const row = await getJSON(`/ai/requests/${encodeURIComponent(requestId)}`);
  document.getElementById("detail-id").textContent = requestId;
  fillTable(document.getElementById("detail-fields"), [["field", false], ["value", false]], Object.entries(row).map(([k, v]) => [k, v === null ? "–" : v]));
  document.getElementById("detail").showModal();
}

function recent(body) {
  const tbody = fillTable(
    document.getElementById("recent"),
    [["time", false], ["consumer", false], ["model", false], ["status", true], ["tokens", true], ["cost", true], ["latency", true], ["first token", true]],
    body.data.map((r) => [
      r.time.replace("T", " ").replace("Z", ""),
      r.consumer || "–",
      r.response_model || r.request_model || "–",
      r.status,
      fmtInt(r.prompt_tokens + r.completion_tokens),
      fmtCost(r.cost),
      fmtMs(r.latency_ms),
      fmtMs(r.ttft_ms),
    ]),
  );
  [...tbody.rows].forEach((tr, i) => {
    const r = body.data[i];
    tr.dataset.requestId = r.request_id;
    if (r.status >= 400) tr.cells[3].classList.add("status-err");
    tr.addEventListener("click", () => openRequest(r.request_id));
  });
}

function listOf(id, items, label) {
  const ul = document.getElementById(id);
  ul.replaceChildren(...(items.length ? items.map((x) => el("li", label(x))) : [el("li", "none", "muted")]));
}

async function refresh() {
  const window = document.getElementById("window").value;
  const from = encodeURIComponent(window);
  try {
    const [summary, series, models, providers, consumers, rows, services, routes, plugins] = await Promise.all([
      getJSON(`/ai/summary?from=${from}`),
      getJSON(`/ai/usage?from=${from}&group_by=${BUCKET[window]}`),
      getJSON(`/ai/usage?from=${from}&group_by=model`),
      getJSON(`/ai/usage?from=${from}&group_by=provider`),
      getJSON(`/ai/usage?from=${from}&group_by=consumer`),
      getJSON("/ai/requests?limit=50"),
      getJSON("/services?size=1000"),
      getJSON("/routes?size=1000"),
      getJSON("/plugins?size=1000"),
    ]);
    document.getElementById("kpi-requests").textContent = fmtInt(summary.requests);
    document.getElementById("kpi-tokens").textContent = fmtInt(summary.prompt_tokens + summary.completion_tokens);
    document.getElementById("kpi-cost").textContent = fmtCost(summary.cost);
    document.getElementById("kpi-error-rate").textContent = (100 * summary.error_rate).toFixed(1) + "%";
    document.getElementById("kpi-latency").textContent = `${fmtMs(summary.latency_ms_p50)} / ${fmtMs(summary.latency_ms_p95)}`;
    document.getElementById("kpi-ttft").textContent = `${fmtMs(summary.ttft_ms_p50)} / ${fmtMs(summary.ttft_ms_p95)}`;
    timeSeries(series.data, window);
    breakdown("by-model", models);
    breakdown("by-provider", providers);
    breakdown("by-consumer", consumers);
    recent(rows);
    listOf("services", services.data, (s) => `${s.name || s.id} (${s.protocol}://${s.host}:${s.port})`);
    listOf("routes", routes.data, (r) => `${r.name || r.id}: ${(r.paths || []).join(", ")}`);
    listOf("plugins", plugins.data, (p) => `${p.name}${p.enabled === false ? " (disabled)" : ""}${p.route ? " on a route" : p.service ? " on a service" : " (global)"}`);
    const updated = document.getElementById("updated");
    updated.textContent = "updated " + new Date().toLocaleTimeString();
    updated.dataset.refreshes = String(Number(updated.dataset.refreshes || 0) + 1);
  } catch (err) {
    document.getElementById("updated").textContent = "could not refresh: " + err.message;
  }
}

document.getElementById("window").addEventListener("change", refresh);
window.addEventListener("resize", () => {
  Object.entries(charts).forEach(([id, chart]) => chart.setSize({ width: Math.max(200, document.getElementById(id).clientWidth), height: 200 }));
});
refresh();
setInterval(refresh, REFRESH_MS);
