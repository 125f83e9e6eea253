/**
 * A post-mortem draft as the Markdown file kept in the project (Google SRE template's sections).
 * Measured sections say so; the root cause and the lessons carry the marker for the responders.
 */
import { formatDuration, redactor } from "../core/index.js";
import { cell } from "./learnings.js";
import { percentText, rollbackReason, toBeWritten, type PostmortemDraft } from "./draft.js";

const time = (ms: number) => new Date(ms).toISOString().replace("T", " ").slice(0, 19);
const span = (ms: number | null, none = "–") => (ms === null ? none : formatDuration(ms));
const value = (v: unknown) => (v === undefined ? "(unset)" : `\`${cell(typeof v === "string" ? v : JSON.stringify(v))}\``);

/** The Markdown of a draft; every line passes the redactor (no secret value reaches the file). */
export function postmortemMarkdown(d: PostmortemDraft): string {
  const i = d.impact;
  const lines: string[] = [
    `# Post-mortem: ${d.title}`,
    "",
    "| | |",
    "|---|---|",
    `| incident | ${d.incidentId} |`,
    `| date | ${d.date} |`,
    `| status | ${d.status} |`,
    `| severity | ${d.severity} (${cell(d.severityReasons.join("; ") || "–")}) |`,
    `| services | ${d.services.join(", ") || "–"} |`,
    `| environments | ${d.environments.join(", ") || "–"} |`,
    `| commander | ${d.commander ?? "–"} |`,
    "",
    "Drafted by Engineroom from its events at " + `${time(d.generatedAt)} UTC. Sections marked _measured_ were filled from the event log, the request history and the SLOs; the sections marked ${toBeWritten} are for people.`,
    "",
    "## Summary",
    "",
    d.summary,
    "",
    "## Impact (measured)",
    "",
    `- Duration: ${span(i.durationMs, "still going on")} (from ${time(i.startedAt)} to ${i.endedAt === null ? "now" : time(i.endedAt)} UTC)`,
    `- Requests failed: ${i.requestsFailed} of ${i.requests}${i.failedShare === null ? "" : ` (${percentText(i.failedShare)})`}`,
    ...i.samples.map((s) => `  - ${s.where}: ${s.errors} of ${s.requests} failed, ${time(s.fromMs)} → ${time(s.toMs)}`),
    `- Error budget burned:${i.budgets.length === 0 ? " no SLO declared for what it touched" : ""}`,
    ...i.budgets.map((b) => `  - ${b.slo} (${b.kind} ${b.target}% over ${b.window}, ${b.service} in ${b.environment}): ${b.burnedPercent === null ? "not measured for this kind" : `${b.burnedPercent}% of the budget`}; ${b.budgetLeft}% left now`),
    `- Routes affected: ${i.routes.join("; ") || "none"}`,
    "",
    "## Root cause",
    "",
    toBeWritten,
    "",
    "## Trigger (measured)",
    "",
    ...d.trigger.text.split("\n").map((l) => `- ${l}`),
    ...d.trigger.releases.flatMap((r) => [
      "",
      `### ${r.service} v${r.number ?? "?"} in ${r.environment} (${r.releaseId})`,
      "",
      `- Artifact: \`${r.artifactDigest ?? "?"}\`${r.previous ? ` (before: v${r.previous.number}, \`${r.previous.artifactDigest}\`)` : ""}`,
      `- Made by: ${r.deployedBy ?? "?"}${r.planHash ? `; plan hash \`${r.planHash}\`` : ""}`,
      `- Approved: ${r.approvedBy ?? "no approval required"}`,
      `- Switched: ${r.switchedAt === null ? "never went live" : `${time(r.switchedAt)} UTC`}${r.rolledBack ? `; rolled back ${time(r.rolledBack.at)} UTC: ${rollbackReason(r.rolledBack.reason)}` : ""}`,
      ...(r.configDiff.length === 0
        ? ["- Config diff: none"]
        : ["- Config diff:", "", "  | key | before | after |", "  |---|---|---|", ...r.configDiff.map((c) => `  | ${cell(c.key)} | ${value(c.from)} | ${value(c.to)} |`)]),
    ]),
    "",
    "## Detection (measured)",
    "",
    `- How: ${d.detection.how}`,
    `- Signal: ${d.detection.signal}`,
    `- After: ${span(d.detection.detectMs)} from the start of the impact`,
    "",
    "## Response (measured)",
    "",
    "| step | after | by |",
    "|---|---|---|",
    `| acknowledged (from the opening) | ${span(d.response.acknowledgeMs, "not acknowledged")} | ${d.response.acknowledgedBy ?? "–"} |`,
    `| mitigated (from the start of the impact) | ${span(d.response.mitigateMs)} | ${d.response.mitigatedBy ?? "–"} |`,
    `| resolved (from the start of the impact) | ${span(d.response.resolveMs)} | ${d.response.resolvedBy ?? "–"} |`,
    ...(d.response.escalated ? ["", "Escalated: nobody acknowledged it in time."] : []),
    "",
    "## Timeline (measured, UTC)",
    "",
    "| time | event | what happened |",
    "|---|---|---|",
    ...d.timeline.map((e) => `| ${time(e.time)} | ${e.type} | ${cell(e.message)} |`),
    ...(d.notes.length ? ["", "Notes:", "", ...d.notes.map((n) => `- ${time(n.at)} ${n.by}: ${cell(n.text)}`)] : []),
    "",
    "## Action items",
    "",
    ...(d.actionItems.length === 0
      ? [`None yet: \`engineroom actions add ${d.incidentId} --type prevent|mitigate|process --owner <who> --due <yyyy-mm-dd> "text"\``]
      : ["| id | type | action | owner | due | state |", "|---|---|---|---|---|---|", ...d.actionItems.map((a) => `| ${a.id} | ${a.type} | ${cell(a.text)} | ${cell(a.owner)} | ${a.due} | ${a.state} |`)]),
    "",
    "## Lessons learned",
    "",
    "### What went well",
    "",
    toBeWritten,
    "",
    "### What went wrong",
    "",
    toBeWritten,
    "",
    "### Where we got lucky",
    "",
    toBeWritten,
    "",
  ];
  return redactor.redact(lines.join("\n"));
}
