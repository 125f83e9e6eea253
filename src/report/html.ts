/**
 * The report as one self-contained page: inline CSS and SVG, no script, no external asset. Tiles
 * first (value against target, green or red), then charts (deploys per day, uptime per service,
 * recovery per incident), then the tables the figures came from.
 */
import type { DurationSummary } from "./stats.js";
import { percent, span } from "./releases.js";
import { barChart, columnChart, escapeHtml as e } from "./svg.js";
import type { Figure, Report } from "./types.js";

const css = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1080px;padding:0 16px;color:#1f2328;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
.sub{color:#59636e;margin:0 0 16px}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:10px}
.tile{border:1px solid #d0d7de;border-left:6px solid #8c959f;border-radius:6px;padding:10px 12px}
.tile.good{border-left-color:#1a7f37}.tile.bad{border-left-color:#cf222e;background:#fff5f5}
.tile .name{color:#59636e;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.tile .value{font-size:20px;font-weight:600;margin:2px 0}.tile .target{color:#59636e;font-size:12px}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:16px}
figure{margin:0}figcaption{font-weight:600;margin-bottom:4px}
svg .axis,svg .label,svg .value{font-size:11px;fill:#59636e}svg .base{stroke:#8c959f}svg .target{stroke:#cf222e;stroke-dasharray:4 3}
table{border-collapse:collapse;width:100%;margin:6px 0 12px;font-size:13px}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eaeef2;vertical-align:top}
th{color:#59636e;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
.good-text{color:#1a7f37}.bad-text{color:#cf222e}.note{color:#59636e;font-size:12px;margin:2px 0}
code{font:12px ui-monospace,monospace}
`;

/** Succeeded releases listed on the page (the newest); the others are in the JSON. */
const shownSucceeded = 50;

function tone(meets: boolean | null): "good" | "bad" | "none" {
  return meets === null ? "none" : meets ? "good" : "bad";
}

function tile(key: string, name: string, figure: Figure, target: string): string {
  const t = tone(figure.meets);
  return `<div class="tile ${t}" data-figure="${key}" data-meets="${figure.meets === null ? "null" : figure.meets}"><div class="name">${e(name)}</div><div class="value">${e(figure.text)}</div><div class="target">target ${e(target)}${t === "none" ? "" : t === "good" ? " · met" : " · missed"}</div></div>`;
}

function table(header: string[], rows: string[][], numeric: number[] = []): string {
  if (rows.length === 0) return `<p class="note">none</p>`;
  const head = header.map((h) => `<th>${e(h)}</th>`).join("");
  const body = rows.map((r) => `<tr>${r.map((c, i) => `<td${numeric.includes(i) ? ' class="num"' : ""}>${c}</td>`).join("")}</tr>`).join("");
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

const ratioText = (value: number | null) => (value === null ? "–" : percent(value));
const at = (ms: number | null) => (ms === null ? "–" : e(new Date(ms).toISOString().replace("T", " ").slice(0, 19)));
const summary = (s: DurationSummary | null, none: string) => (s === null ? none : `median ${span(s.medianMs)} · p90 ${span(s.p90Ms)} · mean ${span(s.meanMs)} (${s.count})`);
/** The cost section: per service a bar of its cost with its idle part said, then the tables the figures came from. */
function costSection(cost: Report["scorecard"]["cost"]): string {
  if (!cost.measured) return `<p class="note">${e(cost.reason)}</p>`;
  const bars = cost.perService.map((r) => ({ label: `${r.service} · ${r.environment}`, value: Number(r.total), text: r.text, tone: "plain" as const }));
  const services = table(
    ["service", "environment", `cost (${cost.currency})`, "idle", "CPU", "memory", "storage", "requests", "per 1,000 requests", "instance-hours"],
    cost.perService.map((r) => [e(r.service), e(r.environment), r.total, r.idle, r.cpu, r.memory, r.storage, String(r.requests), r.per1kRequests ?? "–", (r.from.instanceMs / 3_600_000).toFixed(2)]),
    [2, 3, 4, 5, 6, 7, 8, 9],
  );
  const releases = table(["release", "service", "environment", `cost (${cost.currency})`, "idle"], cost.perRelease.map((r) => [e(r.releaseId), e(r.service), e(r.environment), r.total, r.idle]), [3, 4]);
  return `<p>${e(cost.text)}</p><p class="note">${e(cost.definition)}</p>${bars.length ? barChart(bars, { title: `Cost per service (${cost.currency})`, min: 0 }) : ""}${services}${releases}`;
}

const meetsText = (meets: boolean | null, text: string) => (meets === null ? e(text) : `<span class="${meets ? "good" : "bad"}-text">${e(text)}</span>`);

/** The page for `report` (of project `project`). */
export function renderReportHtml(report: Report, options: { project: string }): string {
  const { scorecard: s, dora: d, period } = report;
  const scope = period.environment ? `environment ${period.environment}` : "all environments";
  const tiles = [
    tile("uptime", "Uptime", s.uptime, `> ${percent(s.uptime.target)}`),
    tile("deployment-success", "Deployment success", s.deploymentSuccess, `> ${percent(s.deploymentSuccess.target)}`),
    tile("recovery", "Mean time to recovery", s.recovery, `< ${span(s.recovery.targetMs)}`),
    tile("alert-noise", "Alert noise", s.alertNoise, `< ${percent(s.alertNoise.target)} false positives`),
    tile("cost", "Cost efficiency", s.cost, "per 1,000 requests"),
    tile("deployment-frequency", `Deployment frequency (${d.environment})`, d.deploymentFrequency, "daily"),
    tile("lead-time", "Lead time for changes", d.leadTime, "< 1 day"),
    tile("change-failure-rate", "Change failure rate", d.changeFailureRate, "≤ 15%"),
    tile("recovery-time", "Failed deployment recovery", d.recoveryTime, "< 1 hour"),
  ].join("");

  const deploys = columnChart(
    d.deploymentFrequency.daily.map((day) => ({ label: day.day.slice(5), value: day.count })),
    { title: `Deploys to ${d.environment} per day` },
  );
  const uptimeBars = s.uptime.rows.flatMap((r) => {
    const value = r.requests.ratio ?? r.checks.ratio;
    if (value === null) return [];
    return [{ label: `${r.service} · ${r.environment}`, value, text: `${percent(value)}${r.requests.ratio === null ? " (checks)" : ""}`, tone: value >= s.uptime.target ? ("good" as const) : ("bad" as const) }];
  });
  const lowest = Math.min(s.uptime.target, ...uptimeBars.map((b) => b.value));
  const uptime = barChart(uptimeBars, { title: "Uptime per service (requests; checks where no traffic)", min: Math.max(0, Math.floor(lowest * 100 - 1) / 100), max: 1, target: s.uptime.target, targetLabel: `target ${percent(s.uptime.target)}` });
  const recoveries = s.recovery.from.incidents.filter((i) => i.recoveryMs !== null);
  const mttr = barChart(
    recoveries.map((i) => ({ label: `${i.incidentId}${i.severity ? ` ${i.severity}` : ""}`, value: i.recoveryMs! / 60_000, text: span(i.recoveryMs!), tone: i.recoveryMs! < s.recovery.targetMs ? ("good" as const) : ("bad" as const) })),
    { title: "Time to recovery per incident (minutes)", target: s.recovery.targetMs / 60_000, targetLabel: "target 15 min" },
  );

  const uptimeTable = table(
    ["service", "environment", "requests good / valid", "uptime (requests)", "check", "passes / runs", "uptime (checks)"],
    s.uptime.rows.map((r) => [
      e(r.service),
      e(r.environment),
      `${r.requests.good} / ${r.requests.valid}`,
      meetsText(r.requests.meets, ratioText(r.requests.ratio)),
      `<code>${e(r.checks.check)}</code>`,
      `${r.checks.passes} / ${r.checks.runs}`,
      meetsText(r.checks.meets, ratioText(r.checks.ratio)),
    ]),
  );
  // Every release that did not succeed, and the newest succeeded ones: a month of deploys is not a page to read.
  const all = s.deploymentSuccess.from.releases;
  const succeeded = all.filter((r) => r.outcome === "succeeded");
  const shown = new Set([...all.filter((r) => r.outcome !== "succeeded"), ...succeeded.slice(-shownSucceeded)]);
  const hidden = all.length - shown.size;
  const releases = table(
    ["release", "service", "environment", "outcome", "last state", "started", "live", "events"],
    all.filter((r) => shown.has(r)).map((r) => [
      `<code>${e(r.releaseId)}</code>`,
      `${e(r.service)}${r.number === null ? "" : ` v${r.number}`}`,
      e(r.environment),
      meetsText(r.outcome === "in-progress" ? null : r.outcome === "succeeded", r.outcome),
      e(r.state),
      at(r.startedAt),
      at(r.liveAt),
      e(r.eventIds.join(", ")),
    ]),
  );
  const incidents = table(
    ["incident", "severity", "services", "started", "opened", "acknowledged", "mitigated", "resolved", "recovery"],
    s.recovery.from.incidents.map((i) => [
      `<code>${e(i.incidentId)}</code>`,
      e(i.severity ?? "–"),
      e(i.services.join(", ")),
      at(i.startedAt),
      at(i.openedAt),
      at(i.acknowledgedAt),
      at(i.mitigatedAt),
      at(i.resolvedAt),
      i.cancelledAt !== null ? "cancelled" : i.recoveryMs === null ? "open" : meetsText(i.recoveryMs < s.recovery.targetMs, span(i.recoveryMs)),
    ]),
  );
  const phases = table(
    ["phase", "from → to", "figures"],
    [
      ["detect", "impact began → opened", summary(s.recovery.detect, "no incidents")],
      ["acknowledge", "opened → acknowledged", summary(s.recovery.acknowledge, "no incidents acknowledged")],
      ["mitigate", "impact began → mitigated", summary(s.recovery.mitigate, "no incidents mitigated")],
      ["resolve", "impact began → resolved", summary(s.recovery.resolve, "no incidents resolved")],
      ["recover (MTTR)", "impact began → mitigated or resolved", summary(s.recovery.recovery, "no incidents")],
    ].map((r) => r.map((c) => e(c))),
  );
  const noise = table(
    ["rule", "alerts", "false positives"],
    s.alertNoise.rules.map((r) => [e(r.rule), String(r.alerts), meetsText(r.falsePositiveRatio === null ? null : r.falsePositiveRatio <= s.alertNoise.target, ratioText(r.falsePositiveRatio))]),
    [1],
  );
  const failures = table(
    ["release", "service", "rolled back", "incidents", "recovered by", "recovery"],
    d.recoveryTime.from.releases.map((r) => {
      const f = d.changeFailureRate.from.releases.find((x) => x.releaseId === r.releaseId);
      return [`<code>${e(r.releaseId)}</code>`, `${e(r.service)}${r.number === null ? "" : ` v${r.number}`}`, f?.rolledBack ? "yes" : "no", e(f?.incidentIds.join(", ") || "–"), e(r.recoveredBy ?? "not recovered"), r.recoveryMs === null ? "–" : span(r.recoveryMs)];
    }),
  );

  const actions = table(
    ["action item", "incident", "type", "owner", "due", "age", "action"],
    report.actionItems.items.map((a) => [`<code>${e(a.id)}</code>`, `<code>${e(a.incidentId)}</code>`, e(a.type), e(a.owner), meetsText(!a.overdue, a.overdue ? `${a.due} (overdue)` : a.due), span(a.ageMs), e(a.text)]),
  );

  const drills = table(
    ["drill", "type", "service / env", "result", "detected", "rolled back", "healthy", "failed in / out of fault", "why"],
    report.drills.rows.map((r) => [e(r.drill), e(r.type), `${e(r.service)} / ${e(r.environment)}`, meetsText(r.passed, r.passed ? "passed" : "failed"), ...[r.detectedAfterMs, r.rolledBackAfterMs, r.healthyAfterMs].map((v) => (v === null ? "–" : span(v))), `${r.failedInsideFault} / ${r.failedOutsideFault} of ${r.requests}`, e(r.reason)]),
  );

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${e(options.project)} · Engineroom report</title><style>${css}</style></head>
<body>
<h1>${e(options.project)}: the scorecard</h1>
<p class="sub">${at(period.since)} → ${at(period.until)} UTC (${period.days} days) · ${e(scope)} · DORA keys for ${e(d.environment)}</p>
<section class="tiles">${tiles}</section>
<h2>Charts</h2>
<section class="charts">${deploys}${uptime}${mttr}</section>
<h2>Uptime per service and environment</h2>${uptimeTable}
<h2>Deployment success</h2><p class="note">${e(s.deploymentSuccess.definition)}</p>
<p>${s.deploymentSuccess.started} started: ${s.deploymentSuccess.succeeded} succeeded, ${s.deploymentSuccess.failed} failed, ${s.deploymentSuccess.rolledBack} rolled back, ${s.deploymentSuccess.inProgress} in progress</p>${releases}${hidden ? `<p class="note">and ${hidden} older succeeded releases (<code>--json</code> lists them all)</p>` : ""}
<h2>Recovery</h2><p class="note">${e(s.recovery.definition)}</p>${phases}${incidents}
<h2>Alert noise</h2><p>${e(s.alertNoise.text)}: ${s.alertNoise.alerts} alerts, ${s.alertNoise.actionable} actionable, ${s.alertNoise.noise} noise, ${s.alertNoise.duplicate} duplicate, ${s.alertNoise.unclassified} unclassified, ${s.alertNoise.open} open</p>${noise}
<h2>DORA: ${e(d.environment)}</h2>
<p>Deployment frequency: ${e(d.deploymentFrequency.text)} · lead time: ${e(d.leadTime.text)} · change failure rate: ${e(d.changeFailureRate.text)} (${e(d.changeFailureRate.bucket ?? "–")}) · failed deployment recovery: ${e(d.recoveryTime.text)}</p>${failures}
<h2>Open action items</h2><p>${e(report.actionItems.text)}</p>${report.actionItems.open ? actions : ""}
<h2>Drills</h2><p>${e(report.drills.text)}</p>${report.drills.runs ? drills : ""}
<h2>Cost</h2>${costSection(s.cost)}
<p class="note">Every figure is traceable: <code>engineroom report --json</code> lists the releases, incidents, alerts and events behind it.</p>
</body></html>
`;
}
