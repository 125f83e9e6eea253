// Per environment: every service with its live release, health and traffic, a page at a time.
import { get } from "/ui/api.js";
import { sparkline } from "/ui/charts.js";
import { fixed, h, markFirstView, percent, pill, poll, render, short, when } from "/ui/dom.js";

const refreshMs = 2000;

export async function overviewPage({ view, state, params, signal }) {
  let page = Number(params.get("page") ?? 1) || 1;
  let search = params.get("q") ?? "";
  const tiles = h("div", { class: "tiles" });
  const errors = h("div");
  const pager = h("div", { class: "pager" });
  const body = h("tbody");
  const searchBox = h("input", { type: "search", placeholder: "filter services", value: search, "aria-label": "filter services" });
  let typing;
  searchBox.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => ((search = searchBox.value), (page = 1), void refresh()), 250);
  });
  render(
    view,
    h("h1", {}, `Services in ${state.environment}`),
    tiles,
    h("div", { class: "toolbar" }, searchBox, pager),
    errors,
    h("table", { id: "services" }, h("thead", {}, h("tr", {}, ["service", "health", "live release", "instances", "req/s", "error rate", "p95 ms"].map((t) => h("th", {}, t)))), body),
  );
  const rows = new Map();
  let shown = "";

  const refresh = async () => {
    const q = new URLSearchParams({ env: state.environment, page: String(page), size: "50" });
    if (search) q.set("q", search);
    // The shell's first read, when it is this very page (used once).
    const prefetched = state.prefetched?.key === q.toString() ? state.prefetched.overview : undefined;
    state.prefetched = undefined;
    const o = prefetched ?? (await get(`/v1/overview?${q}`));
    if (signal.aborted) return;
    page = o.page;
    const t = o.totals;
    render(
      tiles,
      tile(o.total, "services"),
      tile(t.services.up, "up", t.services.up ? "up" : ""),
      tile(t.services.degraded, "degraded", t.services.degraded ? "degraded" : ""),
      tile(t.services.down, "down", t.services.down ? "down" : ""),
      tile(t.services.idle, "no live release"),
      tile(`${t.checks.up}/${t.checks.up + t.checks.down + t.checks.pending + t.checks.degraded}`, "checks up"),
      h("a", { href: "#/alerts" }, tile(t.alertsFiring, "alerts firing", t.alertsFiring ? "down" : "")),
      h("a", { href: "#/incidents" }, tile(t.incidentsOpen, "open incidents", t.incidentsOpen ? "down" : "")),
    );
    render(
      pager,
      h("button", { type: "button", disabled: o.page <= 1, onclick: () => ((page = o.page - 1), void refresh()) }, "‹ prev"),
      h("span", { class: "muted" }, `page ${o.page} of ${o.pages} · ${o.total} services`),
      h("button", { type: "button", disabled: o.page >= o.pages, onclick: () => ((page = o.page + 1), void refresh()) }, "next ›"),
    );
    const names = o.services.map((s) => s.name).join("\n");
    if (names !== shown) {
      for (const row of rows.values()) row.charts.forEach((c) => c.destroy());
      rows.clear();
      render(body, o.services.map((s) => newRow(s, rows)));
      shown = names;
    }
    for (const s of o.services) fillRow(rows.get(s.name), s);
  };
  await refresh();
  markFirstView("overview");
  await poll(signal, refreshMs, refresh, errors);
  for (const row of rows.values()) row.charts.forEach((c) => c.destroy());
}

function tile(value, label, kind = "") {
  return h("div", { class: `tile ${kind}` }, h("b", {}, String(value)), h("span", {}, label));
}

function newRow(s, rows) {
  const cells = { health: h("td"), live: h("td"), instances: h("td", { class: "num" }) };
  const chartCells = ["rps", "errorRate", "p95"].map(() => h("td"));
  const figures = chartCells.map(() => h("div", { class: "mono" }));
  const tr = h("tr", { dataset: { service: s.name } }, h("td", {}, h("a", { href: `#/service/${encodeURIComponent(s.name)}` }, s.name)), cells.health, cells.live, cells.instances, chartCells);
  const charts = [];
  chartCells.forEach((td, i) => {
    const holder = h("div", { class: "chart" });
    td.append(holder, figures[i]);
    const key = ["rps", "errorRate", "p95"][i];
    charts.push(sparkline(holder, s.series, key, key));
  });
  rows.set(s.name, { tr, cells, charts, figures });
  return tr;
}

function fillRow(row, s) {
  render(row.cells.health, pill(s.health), " ", h("span", { class: "muted" }, s.healthReason), s.busy ? h("div", { class: "muted" }, `⟳ ${s.busy}`) : null);
  render(row.cells.live, s.live ? [h("b", {}, `v${s.live.number}`), " ", pill(s.live.state), " ", short(s.live.artifactDigest), h("div", { class: "muted" }, "switched ", when(s.live.switchedAt))] : h("span", { class: "muted" }, "none"));
  render(row.cells.instances, `${s.instances.healthy}/${s.instances.total}`);
  row.figures[0].textContent = `${fixed(s.traffic.rps, 1)} req/s`;
  row.figures[1].textContent = percent(s.traffic.errorRate);
  row.figures[2].textContent = s.traffic.p95 === null ? "—" : `${s.traffic.p95} ms`;
  row.charts.forEach((c) => c.update(s.series));
}
