// One service in one environment: its live release (a deploy in its watch window, live), traffic,
// one-click rollback with a confirmation, and its release history with diffs, who and evidence.
import { get, stream } from "/ui/api.js";
import { sparkline } from "/ui/charts.js";
import { confirmDialog, errorBox, h, pill, poll, render, short, when } from "/ui/dom.js";

const refreshMs = 1500;
const targetStates = ["stable", "superseded", "watching", "live"];

export async function servicePage({ view, state, signal }, service) {
  const env = state.environment;
  const q = (extra = {}) => new URLSearchParams({ env, ...extra });
  const head = h("div");
  const watch = h("div");
  const charts = h("div", { class: "tiles" });
  const errors = h("div");
  const outcome = h("div", { id: "outcome" });
  const history = h("div");
  render(view, h("h1", {}, service, h("span", { class: "muted" }, ` in ${env}`)), head, watch, outcome, errors, h("h2", {}, "Traffic (last 5 minutes)"), charts, h("h2", {}, "Releases"), history);
  let plots;
  let busy = false;

  const rollback = async (live, target) => {
    const ok = await confirmDialog(`Roll back ${service} in ${env} from v${live.number} to v${target.number}? Traffic switches at once when v${target.number} is still warm.`, "Roll back");
    if (!ok) return;
    busy = true;
    render(outcome, h("div", { class: "muted" }, `Rolling back ${service}…`));
    try {
      const result = await stream(`/v1/services/${encodeURIComponent(service)}/rollback`, { env }, (p) => render(outcome, h("div", { class: "muted" }, p.message)));
      const to = result?.release ?? result?.to;
      render(outcome, h("div", { class: "ok" }, `Rolled back: ${service} v${to?.number ?? target.number} serves.`));
    } catch (e) {
      render(outcome, errorBox(e));
    } finally {
      busy = false;
      await refresh();
    }
  };

  const abort = async (live) => {
    if (!(await confirmDialog(`Abort ${service} v${live.number}: roll it back now, before its watch window ends?`, "Abort"))) return;
    try {
      await stream(`/v1/services/${encodeURIComponent(service)}/abort`, { env });
      render(outcome, h("div", { class: "ok" }, `v${live.number} aborted and rolled back.`));
    } catch (e) {
      render(outcome, errorBox(e));
    }
    await refresh();
  };

  const refresh = async () => {
    const [{ history: entries }, overview] = await Promise.all([get(`/v1/services/${encodeURIComponent(service)}/history?${q({ limit: "20" })}`), get(`/v1/overview?${q({ q: service, size: "200" })}`)]);
    if (signal.aborted) return;
    const row = overview.services.find((s) => s.name === service);
    const liveEntry = entries.find((e) => e.live);
    const live = liveEntry?.release;
    const target = live && entries.find((e) => e.release.number < live.number && targetStates.includes(e.release.state))?.release;
    const button = h(
      "button",
      { type: "button", class: "danger", id: "rollback", disabled: !live || !target || busy, title: target ? `switch back to v${target.number}` : "no earlier release to go back to", onclick: () => rollback(live, target) },
      target ? `Roll back to v${target.number}` : "Roll back",
    );
    render(
      head,
      h(
        "div",
        { class: "toolbar" },
        row ? pill(row.health) : null,
        row ? h("span", { class: "muted" }, row.healthReason) : null,
        live ? h("span", { id: "live" }, "live: ", h("b", {}, `v${live.number}`), " ", pill(live.state), " ", short(live.artifactDigest)) : h("span", { class: "muted" }, "no live release"),
        row?.busy ? h("span", { class: "muted" }, `⟳ ${row.busy}`) : null,
        button,
      ),
    );
    render(watch, live && (live.state === "watching" || live.state === "live") ? watchPanel(liveEntry, () => abort(live)) : null);
    if (row) {
      if (!plots) {
        plots = ["rps", "errorRate", "p95"].map((key, i) => {
          const holder = h("div", { class: "chart" });
          charts.append(h("div", { class: "tile" }, h("span", {}, ["req/s", "error rate", "p95 ms"][i]), holder));
          return sparkline(holder, row.series, key, key);
        });
      } else plots.forEach((p) => p.update(row.series));
    }
    render(history, historyTable(entries));
    document.body.dataset.ready = "service";
  };
  await refresh();
  await poll(signal, refreshMs, refresh, errors);
  plots?.forEach((p) => p.destroy());
}

function watchPanel(entry, onAbort) {
  const { release, evidence } = entry;
  return h(
    "div",
    { class: "watch", id: "watch" },
    h("b", {}, `v${release.number} is ${release.state === "watching" ? "in its watch window" : "live"}`),
    " since ",
    when(release.updatedAt),
    ". ",
    evidence ? [pill(evidence.outcome), " ", evidence.reason] : h("span", { class: "muted" }, "no analysis verdict yet"),
    evidence ? evidenceList(evidence) : null,
    release.state === "watching" ? h("div", {}, h("button", { type: "button", onclick: onAbort }, "Abort (roll back now)")) : null,
  );
}

function evidenceList(verdict) {
  return h(
    "ul",
    { class: "diff" },
    (verdict.checks ?? []).map((c) => h("li", {}, `${c.name} (${c.metric}): ${c.outcome}; observed ${show(c.observed)}, baseline ${show(c.baseline)}, limit ${show(c.limit)} (${c.test})`)),
  );
}

function historyTable(entries) {
  const rows = entries.map((e) => {
    const r = e.release;
    return h(
      "tr",
      { dataset: { release: r.id, number: r.number } },
      h("td", {}, h("b", {}, `v${r.number}`), e.live ? [" ", pill("live")] : null),
      h("td", {}, pill(r.state), h("div", { class: "muted" }, r.reason)),
      h("td", {}, short(r.artifactDigest)),
      h("td", {}, e.commit ? [h("code", {}, e.commit.sha.slice(0, 10)), h("div", { class: "muted" }, when(e.commit.time))] : "—"),
      h("td", {}, e.deployedBy ?? "—", e.approvedBy ? h("div", {}, "approved by ", e.approvedBy) : null),
      h("td", {}, when(r.createdAt)),
      h("td", {}, changes(e.configChanges)),
      h("td", {}, e.evidence ? h("details", {}, h("summary", {}, pill(e.evidence.outcome), " ", e.evidence.reason), evidenceList(e.evidence)) : "—"),
      h("td", {}, h("details", {}, h("summary", {}, `${e.events.length} events`), h("ul", { class: "timeline" }, e.events.map((ev) => h("li", {}, when(ev.time), " ", h("code", {}, ev.type), " ", ev.message))))),
    );
  });
  return h("table", { id: "releases" }, h("thead", {}, h("tr", {}, ["release", "state", "digest", "commit", "deployed by", "created", "config vs previous", "analysis", "events"].map((t) => h("th", {}, t)))), h("tbody", {}, rows));
}

function changes(list) {
  if (list === null) return h("span", { class: "muted" }, "first release");
  if (list.length === 0) return h("span", { class: "muted" }, "same config");
  return h("details", {}, h("summary", {}, `${list.length} change${list.length > 1 ? "s" : ""}`), h("ul", { class: "diff" }, list.map((d) => h("li", {}, `${d.path}: ${show(d.before)} → ${show(d.after)}`))));
}

function show(value) {
  return value === undefined ? "(none)" : JSON.stringify(value);
}

