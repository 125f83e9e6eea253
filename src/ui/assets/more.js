// The report (the engine's own HTML scorecard, in a sandboxed frame) and the approvals queue.
import { get, post } from "/ui/api.js";
import { confirmDialog, errorBox, h, pill, poll, render, table, when } from "/ui/dom.js";

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
  const outcome = h("div", { id: "outcome" });
  const list = h("div");
  render(view, h("h1", {}, "Approvals waiting for a person"), outcome, errors, list);
  const decide = async (a, grant, reason) => {
    if (grant && !(await confirmDialog(`Approve ${a.summary}? It is bound to ${a.hash.slice(0, 19)}… and was asked for by ${a.requestedBy?.name ?? "?"}.`, "Approve"))) return;
    try {
      if (grant) await post(`/v1/approvals/${encodeURIComponent(a.id)}/grant`, {});
      else await post(`/v1/approvals/${encodeURIComponent(a.id)}/deny`, reason ? { reason } : {});
      render(outcome, h("div", { class: "ok" }, grant ? `Approved: ${a.summary}` : `Denied: ${a.summary}`));
    } catch (e) {
      render(outcome, errorBox(e));
    }
    await refresh(true);
  };
  // A round of polling leaves the list alone while someone writes a reason.
  const editing = () => list.contains(document.activeElement) || [...list.querySelectorAll("input[name=reason]")].some((i) => i.value);
  const refresh = async (force = false) => {
    let approvals;
    try {
      ({ approvals } = await get("/v1/approvals?all=true"));
    } catch (e) {
      if (e.code !== "API_NOT_FOUND") throw e;
      render(list, h("p", { class: "muted" }, "This engine has no approvals queue (GET /v1/approvals)."));
      return;
    }
    if (!force && editing()) return;
    const waiting = approvals.filter((a) => a.status === "pending");
    render(
      list,
      waiting.length === 0 ? h("p", { class: "muted" }, "Nothing waits for approval.") : null,
      approvals.length === 0
        ? null
        : table(
            ["change", "scope", "asked by", "asked", "expires", "status", ""],
            approvals.map((a) => {
              const reason = h("input", { name: "reason", placeholder: "reason to deny", "aria-label": "reason to deny" });
              return h(
                "tr",
                { dataset: { approval: a.id } },
                h("td", {}, a.summary, h("div", { class: "muted mono" }, a.hash)),
                h("td", {}, h("code", {}, a.scope)),
                h("td", {}, a.requestedBy?.name ?? "—"),
                h("td", {}, when(a.requestedAt)),
                h("td", {}, a.expiresAt ? new Date(a.expiresAt).toLocaleString() : "—"),
                h("td", {}, pill(a.status), a.decidedBy ? h("div", { class: "muted" }, `by ${a.decidedBy.name}${a.reason ? `: ${a.reason}` : ""}`) : null),
                h("td", {}, a.status === "pending" ? [h("button", { type: "button", class: "primary", onclick: () => decide(a, true) }, "Approve"), " ", reason, h("button", { type: "button", onclick: () => decide(a, false, reason.value.trim()) }, "Deny")] : null),
              );
            }),
          ),
    );
  };
  await refresh(true);
  await poll(signal, 5000, () => refresh(false), errors);
}
