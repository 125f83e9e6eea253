// The report (the engine's own HTML scorecard, in a sandboxed frame) and the approvals queue.
import { get, post, stream } from "/ui/api.js";
import { errorBox, h, pill, poll, render, table, when } from "/ui/dom.js";

export async function reportPage({ view, state }) {
  const since = h("select", { "aria-label": "period" }, ["7d", "30d", "90d"].map((p) => h("option", { value: p, selected: p === "30d" }, p)));
  const frame = h("iframe", { class: "report", sandbox: "", title: "report" });
  const errors = h("div");
  const load = async () => {
    try {
      frame.srcdoc = await get(`/v1/report.html?since=${since.value}&env=${encodeURIComponent(state.environment)}`);
      render(errors);
    } catch (e) {
      render(errors, errorBox(e));
    }
  };
  since.addEventListener("change", load);
  render(view, h("h1", {}, "Report"), h("div", { class: "toolbar" }, "period ", since), errors, frame);
  await load();
}

export async function approvalsPage({ view, signal }) {
  const errors = h("div");
  const outcome = h("div");
  const list = h("div");
  render(view, h("h1", {}, "Approvals waiting for a person"), outcome, errors, list);
  const decide = async (a, grant) => {
    try {
      if (grant) await approve(a);
      else await post(`/v1/approvals/${encodeURIComponent(a.id)}/deny`, {});
      render(outcome, h("div", { class: "ok" }, grant ? `Approved: ${a.summary}` : `Denied: ${a.summary}`));
    } catch (e) {
      render(outcome, errorBox(e));
    }
    await refresh();
  };
  const refresh = async () => {
    let approvals;
    try {
      ({ approvals } = await get("/v1/approvals"));
    } catch (e) {
      if (e.code !== "API_NOT_FOUND") throw e;
      render(list, h("p", { class: "muted" }, "This engine has no approvals queue (GET /v1/approvals)."));
      return;
    }
    render(
      list,
      approvals.length === 0
        ? h("p", { class: "muted" }, "Nothing waits for approval.")
        : table(
            ["change", "scope", "asked by", "asked", "expires", "status", ""],
            approvals.map((a) =>
              h(
                "tr",
                {},
                h("td", {}, a.summary, h("div", { class: "muted mono" }, a.hash)),
                h("td", {}, h("code", {}, a.scope)),
                h("td", {}, a.requestedBy?.name ?? String(a.requestedBy ?? "—")),
                h("td", {}, when(a.requestedAt)),
                h("td", {}, a.expiresAt ? new Date(a.expiresAt).toLocaleString() : "—"),
                h("td", {}, pill(a.status)),
                h("td", {}, a.status === "pending" ? [h("button", { type: "button", class: "primary", onclick: () => decide(a, true) }, "Approve"), " ", h("button", { type: "button", onclick: () => decide(a, false) }, "Deny")] : null),
              ),
            ),
          ),
    );
  };
  await refresh();
  await poll(signal, 5000, refresh, errors);
}

/** A release that waits switches as it is approved: that answer streams. */
async function approve(a) {
  if (a.kind === "release" && a.releaseId && !a.id) return stream(`/v1/releases/${encodeURIComponent(a.releaseId)}/approve`, {});
  return stream(`/v1/approvals/${encodeURIComponent(a.id)}/approve`, {}).catch((e) => {
    if (e.code === "API_NOT_FOUND" && a.releaseId) return stream(`/v1/releases/${encodeURIComponent(a.releaseId)}/approve`, {});
    throw e;
  });
}
