// Checks, SLOs with their budgets, and alerts (acknowledge; silence with a reason and an expiry).
import { get, post } from "/ui/api.js";
import { errorBox, fixed, h, markFirstView, pill, poll, render, table, when } from "/ui/dom.js";

const pageSize = 100;

export async function checksPage({ view, signal }) {
  const summary = h("div", { class: "tiles" });
  const errors = h("div");
  const list = h("div");
  const pager = h("div", { class: "pager" });
  const filter = h("input", { type: "search", placeholder: "filter by name or label", "aria-label": "filter checks" });
  const stateSelect = h("select", { "aria-label": "state" }, ["", "down", "degraded", "pending", "up"].map((s) => h("option", { value: s }, s || "any state")));
  let page = 1;
  let typing;
  // Paged and filtered on the server: 10,000 checks never travel to the page.
  const refresh = async () => {
    const q = new URLSearchParams({ page: String(page), size: String(pageSize) });
    if (filter.value.trim()) q.set("q", filter.value.trim());
    if (stateSelect.value) q.set("state", stateSelect.value);
    const data = await get(`/v1/overview/checks?${q}`);
    if (signal.aborted) return;
    page = data.page;
    const s = data.states;
    render(summary, ["up", "degraded", "down", "pending"].map((k) => h("div", { class: `tile ${s[k] && k !== "pending" ? k : ""}` }, h("b", {}, String(s[k] ?? 0)), h("span", {}, k))));
    render(pager, h("button", { type: "button", disabled: data.page <= 1, onclick: () => (page--, void refresh()) }, "‹ prev"), h("span", { class: "muted" }, `page ${data.page} of ${data.pages} · ${data.total} checks`), h("button", { type: "button", disabled: data.page >= data.pages, onclick: () => (page++, void refresh()) }, "next ›"));
    render(
      list,
      table(
        ["check", "type", "state", "since", "last run", "result", "ms", "labels"],
        data.checks.map((c) =>
          h(
            "tr",
            { dataset: { check: c.name } },
            h("td", {}, c.name, c.derived ? h("span", { class: "muted" }, " (derived)") : null),
            h("td", {}, c.type),
            h("td", {}, pill(c.state), c.consecutiveFailures ? h("div", { class: "muted" }, `${c.consecutiveFailures} failure(s) in a row`) : null),
            h("td", {}, when(c.since)),
            h("td", {}, c.last ? when(c.last.at) : "—"),
            h("td", { class: "muted" }, c.last ? (c.last.ok ? (c.last.error ? `ok, degraded: ${c.last.error}` : "ok") : c.last.failed.join(", ") || c.last.error || "failed") : "—"),
            h("td", { class: "num" }, c.last ? fixed(c.last.durationMs, 0) : "—"),
            h("td", { class: "mono" }, Object.entries(c.labels).map(([k, v]) => `${k}=${v}`).join(" ")),
          ),
        ),
      ),
    );
  };
  filter.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => ((page = 1), void refresh()), 250);
  });
  stateSelect.addEventListener("change", () => ((page = 1), void refresh()));
  render(view, h("h1", {}, "Checks"), summary, h("div", { class: "toolbar" }, filter, stateSelect, pager), errors, list);
  await refresh();
  markFirstView("checks");
  await poll(signal, 10_000, refresh, errors);
}

export async function slosPage({ view, state, signal }) {
  const errors = h("div");
  const list = h("div");
  render(view, h("h1", {}, `SLOs in ${state.environment}`), errors, list);
  const refresh = async () => {
    const report = await get(`/v1/slos?env=${encodeURIComponent(state.environment)}`);
    render(
      list,
      report.slos.length === 0
        ? h("p", { class: "muted" }, "No SLO declared for this environment (engineroom.yaml, slos:).")
        : table(
            ["SLO", "service", "objective", "attained", "budget left", "burn", "exhausts"],
            report.slos.map((s) =>
              h(
                "tr",
                {},
                h("td", {}, s.slo),
                h("td", {}, s.service),
                h("td", {}, `${s.target}% ${s.kind} over ${s.window}`),
                h("td", { class: "num" }, s.attained === null ? "—" : `${s.attained}%`),
                h("td", {}, budgetBar(s.budgetLeft), " ", s.exhausted ? pill("exhausted") : null),
                h("td", { class: "mono" }, (s.burnRates ?? []).map((b) => `${b.window} ${fixed(b.burnRate, 2)}×`).join(" · ")),
                h("td", {}, s.exhaustion?.at ? when(s.exhaustion.at) : "—"),
              ),
            ),
          ),
    );
  };
  await refresh();
  await poll(signal, 10_000, refresh, errors);
}

function budgetBar(left) {
  const pct = Math.max(0, Math.min(100, left));
  const colour = left <= 0 ? "var(--down)" : left < 25 ? "var(--degraded)" : "var(--up)";
  return h("span", {}, h("span", { style: `display:inline-block;width:80px;height:8px;background:#e5e8ec;vertical-align:middle` }, h("span", { style: `display:block;height:8px;width:${pct}%;background:${colour}` })), ` ${left}%`);
}

export async function alertsPage({ view, signal }) {
  const errors = h("div");
  const outcome = h("div", { id: "outcome" });
  const alerts = h("div");
  const silences = h("div");
  render(view, h("h1", {}, "Alerts"), outcome, errors, alerts, h("h2", {}, "Silences"), silences);
  const act = async (work, done) => {
    try {
      await work();
      render(outcome, h("div", { class: "ok" }, done));
    } catch (e) {
      render(outcome, errorBox(e));
    }
    await refresh(true);
  };
  // A round of polling leaves the alerts alone while someone is writing a silence.
  const editing = () => alerts.contains(document.activeElement) || [...alerts.querySelectorAll("input[name=reason]")].some((i) => i.value);
  const refresh = async (force = false) => {
    const [{ alerts: list }, { silences: sils }] = await Promise.all([get("/v1/alerts?all=true&limit=100"), get("/v1/silences")]);
    if (force || !editing()) render(
      alerts,
      list.length === 0
        ? h("p", { class: "muted" }, "No alert.")
        : table(
            ["alert", "severity", "state", "labels", "since", ""],
            list.map((a) => h("tr", { dataset: { alert: a.id } }, h("td", {}, a.rule, h("div", { class: "muted" }, a.annotations.summary ?? "")), h("td", {}, pill(a.severity)), h("td", {}, pill(a.state), a.acknowledged ? [" ", pill("acknowledged")] : null, a.silencedBy ? h("div", { class: "muted" }, `silenced by ${a.silencedBy}`) : null), h("td", { class: "mono" }, Object.entries(a.labels).map(([k, v]) => `${k}=${v}`).join(" ")), h("td", {}, when(a.startsAt)), h("td", {}, a.state === "firing" ? alertActions(a, act) : null))),
          ),
    );
    render(
      silences,
      sils.length === 0
        ? h("p", { class: "muted" }, "No silence.")
        : table(
            ["matchers", "reason", "by", "ends", ""],
            sils.map((s) => h("tr", {}, h("td", { class: "mono" }, s.matchers.join(", ")), h("td", {}, s.reason), h("td", {}, s.createdBy), h("td", {}, s.expiredAt ? ["expired ", when(s.expiredAt)] : new Date(s.endsAt).toLocaleString()), h("td", {}, s.expiredAt ? null : h("button", { type: "button", onclick: () => act(() => post(`/v1/silences/${encodeURIComponent(s.id)}/expire`), "Silence expired.") }, "Expire")))),
          ),
    );
  };
  await refresh(true);
  await poll(signal, 5000, () => refresh(false), errors);
}

function alertActions(alert, act) {
  const matchers = ["alertname", "service", "environment"].filter((k) => alert.labels[k] !== undefined).map((k) => `${k}=${alert.labels[k]}`);
  const reason = h("input", { name: "reason", placeholder: "reason (required)", required: true, "aria-label": "silence reason" });
  const expiry = h("input", { name: "for", value: "2h", size: 5, required: true, "aria-label": "silence for", title: "how long, e.g. 30m, 2h, 1d" });
  const matcherBox = h("input", { name: "matchers", value: matchers.join(", "), size: 36, "aria-label": "matchers" });
  return h(
    "div",
    {},
    h("button", { type: "button", onclick: () => act(() => post(`/v1/alerts/${encodeURIComponent(alert.id)}/ack`, {}), `Alert ${alert.rule} acknowledged.`) }, "Ack"),
    h(
      "form",
      {
        class: "inline silence",
        onsubmit: (event) => {
          event.preventDefault();
          const list = matcherBox.value.split(",").map((m) => m.trim()).filter(Boolean);
          void act(() => post("/v1/silences", { matchers: list, reason: reason.value, for: expiry.value }), `Silenced for ${expiry.value}: ${reason.value}`);
        },
      },
      matcherBox,
      reason,
      "for",
      expiry,
      h("button", { type: "submit" }, "Silence"),
    ),
  );
}
