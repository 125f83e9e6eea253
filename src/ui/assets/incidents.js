// Incidents: the open ones (and recent), one with its links, timeline and post-mortem.
import { get, post } from "/ui/api.js";
import { errorBox, h, pill, poll, render, table, when } from "/ui/dom.js";

export async function incidentsPage({ view, signal }) {
  const errors = h("div");
  const list = h("div");
  render(view, h("h1", {}, "Incidents"), errors, list);
  const refresh = async () => {
    const { incidents } = await get("/v1/incidents?all=true&limit=100");
    render(
      list,
      incidents.length === 0
        ? h("p", { class: "muted" }, "No incident.")
        : table(
            ["incident", "severity", "state", "services", "opened", "commander"],
            incidents.map((i) => h("tr", {}, h("td", {}, h("a", { href: `#/incident/${encodeURIComponent(i.id)}` }, i.title)), h("td", {}, pill(i.severity)), h("td", {}, pill(i.state)), h("td", {}, i.services.join(", ")), h("td", {}, when(i.openedAt), h("div", { class: "muted" }, `by ${i.openedBy}`)), h("td", {}, i.commander ?? "—"))),
          ),
    );
  };
  await refresh();
  await poll(signal, 5000, refresh, errors);
}

export async function incidentPage({ view, signal }, id) {
  const errors = h("div");
  const outcome = h("div");
  const body = h("div");
  render(view, h("p", {}, h("a", { href: "#/incidents" }, "‹ Incidents")), outcome, errors, body);
  const act = async (path, done) => {
    try {
      await post(`/v1/incidents/${encodeURIComponent(id)}/${path}`, {});
      render(outcome, h("div", { class: "ok" }, done));
    } catch (e) {
      render(outcome, errorBox(e));
    }
    await refresh();
  };
  const refresh = async () => {
    const [{ incident: i, timeline }, postmortem] = await Promise.all([
      get(`/v1/incidents/${encodeURIComponent(id)}`),
      get(`/v1/incidents/${encodeURIComponent(id)}/postmortem`).catch((e) => {
        if (e.code === "POSTMORTEM_NOT_FOUND" || e.code === "API_NOT_FOUND") return null;
        throw e;
      }),
    ]);
    const actions = [];
    if (!i.ack && ["triage", "investigating"].includes(i.state)) actions.push(h("button", { type: "button", onclick: () => act("ack", "Acknowledged.") }, "Acknowledge"));
    if (i.state === "mitigated") actions.push(h("button", { type: "button", onclick: () => act("resolve", "Resolved.") }, "Resolve"));
    if (i.state === "resolved") actions.push(h("button", { type: "button", onclick: () => act("close", "Closed.") }, "Close"));
    render(
      body,
      h("h1", {}, i.title),
      h("div", { class: "toolbar" }, pill(i.severity), pill(i.state), h("span", { class: "muted" }, `${i.services.join(", ")} in ${i.environments.join(", ")} · opened `, when(i.openedAt), ` by ${i.openedBy}`, i.commander ? ` · commander ${i.commander}` : ""), actions),
      h("p", { class: "muted" }, "Severity: ", i.severityReasons.join("; ")),
      h("h2", {}, "Timeline"),
      h("ul", { class: "timeline" }, timeline.map((t) => h("li", {}, when(t.time), " ", h("code", {}, t.type), " ", t.message))),
      h("h2", {}, "Post-mortem"),
      postmortem ? postmortemView(postmortem) : h("p", { class: "muted" }, "No post-mortem yet: one is drafted when a SEV1–SEV2 incident, or one with a rollback, is resolved."),
    );
  };
  await refresh();
  await poll(signal, 5000, refresh, errors);
}

function postmortemView(pm) {
  return h(
    "div",
    { id: "postmortem" },
    h("p", { class: "muted" }, h("code", {}, pm.path), pm.edited ? " · edited by a person" : " · the engine's draft", pm.draftPath ? [" · a newer draft is at ", h("code", {}, pm.draftPath)] : null),
    h("pre", { style: "white-space: pre-wrap; background: #fff; border: 1px solid var(--line); padding: 12px" }, pm.markdown),
  );
}
