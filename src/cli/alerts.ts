import type { Command } from "commander";
import type { AlertView, NoiseReport } from "../alert/index.js";
import { EngineError, formatDuration } from "../core/index.js";
import type { DeliveryRecord, SilenceRecord } from "../store/index.js";
import { connect, type GlobalOptions } from "./connect.js";
import { operatorName, wantsJson } from "./group-support.js";
import { bold, dim, green, out, red, table, yellow } from "./render.js";

/**
 * `engineroom alerts`: firing alerts; `ack`, `outcome`, `silence add|list|expire`, `noise`,
 * `deliveries`. Everything goes through the running engine's API; who acts is the OS user name.
 */
export function registerAlertsCommands(program: Command, globals: (command: Command) => GlobalOptions): void {
  const alerts = program
    .command("alerts")
    .description("firing alerts (--all: recent resolved ones too); acknowledge, silence, classify; noise and deliveries")
    .option("--json", "print JSON")
    .option("--all", "recent resolved alerts too")
    .action(async (options: { json?: boolean; all?: boolean }, command: Command) => {
      const api = await connect(globals(command));
      const { alerts: list } = await api.get<{ alerts: AlertView[] }>(`/v1/alerts${options.all ? "?all=true" : ""}`);
      out(options.json ? JSON.stringify({ alerts: list }, null, 2) : renderAlerts(list, options.all === true));
    });

  alerts
    .command("ack <id>")
    .description("acknowledge a firing alert: it stops repeating until --for passes or it resolves")
    .option("--for <duration>", "how long, e.g. 1h (default: until it resolves)")
    .option("--comment <text>", "what you are doing about it")
    .option("--json", "print JSON")
    .action(async (id: string, options: { for?: string; comment?: string; json?: boolean }, command: Command) => {
      const api = await connect(globals(command));
      const alert = await api.post<AlertView>(`/v1/alerts/${encodeURIComponent(id)}/ack`, { by: operatorName(), for: options.for, comment: options.comment });
      const until = alert.ack?.until ? `until ${iso(alert.ack.until)}` : "until it resolves";
      out(wantsJson(options, command) ? JSON.stringify(alert, null, 2) : `${green("acknowledged")} ${alert.id} (${alert.rule}) by ${alert.ack?.by} ${until}`);
    });

  alerts
    .command("outcome <id> <outcome>")
    .description("set an alert's outcome (actionable, noise or duplicate), overriding the inferred one")
    .option("--reason <text>", "why")
    .option("--json", "print JSON")
    .action(async (id: string, outcome: string, options: { reason?: string; json?: boolean }, command: Command) => {
      const api = await connect(globals(command));
      const alert = await api.post<AlertView>(`/v1/alerts/${encodeURIComponent(id)}/outcome`, { outcome, reason: options.reason, by: operatorName() });
      out(wantsJson(options, command) ? JSON.stringify(alert, null, 2) : `${green("recorded")} ${alert.id} (${alert.rule}) is ${alert.outcome?.value}, by ${alert.outcome?.by}`);
    });

  const silence = alerts.command("silence").description("silences: add, list, expire");
  silence
    .command("add")
    .description("silence the alerts that match every --match, for --for, with a --reason (all required)")
    .option("--match <matcher>", "name=value, name!=value, name=~regex or name!~regex (repeatable)", (value: string, previous: string[] = []) => [...previous, value])
    .option("--reason <text>", "why (required)")
    .option("--for <duration>", "how long, e.g. 2h (required; at most alerts.silences.max_duration)")
    .option("--json", "print JSON")
    .action(async (options: { match?: string[]; reason?: string; for?: string; json?: boolean }, command: Command) => {
      const missing = [!options.match?.length && "--match", !options.reason && "--reason", !options.for && "--for"].filter(Boolean);
      if (missing.length) throw new EngineError("SILENCE_INVALID", `The silence was not created: ${missing.join(", ")} required.`);
      const api = await connect(globals(command));
      const created = await api.post<SilenceRecord>("/v1/silences", { matchers: options.match, reason: options.reason, for: options.for, by: operatorName() });
      out(wantsJson(options, command) ? JSON.stringify(created, null, 2) : `${green("silenced")} ${created.id}: ${created.matchers.join(", ")} until ${iso(created.endsAt)} (${created.reason})`);
    });
  silence
    .command("list")
    .description("silences, active and expired, newest first")
    .option("--json", "print JSON")
    .action(async (options: { json?: boolean }, command: Command) => {
      const api = await connect(globals(command));
      const { silences } = await api.get<{ silences: SilenceRecord[] }>("/v1/silences");
      out(wantsJson(options, command) ? JSON.stringify({ silences }, null, 2) : renderSilences(silences));
    });
  silence
    .command("expire <id>")
    .description("expire a silence now")
    .action(async (id: string, _options: unknown, command: Command) => {
      const api = await connect(globals(command));
      const expired = await api.post<SilenceRecord>(`/v1/silences/${encodeURIComponent(id)}/expire`, { by: operatorName() });
      out(`${green("expired")} ${expired.id} (${expired.expiredReason})`);
    });

  alerts
    .command("noise")
    .description("the false-positive ratio per rule and overall against the 10% target")
    .option("--since <duration>", "how far back (default 7d)", "7d")
    .option("--json", "print JSON")
    .action(async (options: { since: string; json?: boolean }, command: Command) => {
      const api = await connect(globals(command));
      const report = await api.get<NoiseReport>(`/v1/alerts/noise?since=${encodeURIComponent(options.since)}`);
      out(wantsJson(options, command) ? JSON.stringify(report, null, 2) : renderNoise(report, options.since));
    });

  alerts
    .command("deliveries")
    .description("the delivery log: each notification per channel, newest first")
    .option("--limit <n>", "how many (default 50)", "50")
    .option("--json", "print JSON")
    .action(async (options: { limit: string; json?: boolean }, command: Command) => {
      const api = await connect(globals(command));
      const { deliveries } = await api.get<{ deliveries: DeliveryRecord[] }>(`/v1/alerts/deliveries?limit=${encodeURIComponent(options.limit)}`);
      out(wantsJson(options, command) ? JSON.stringify({ deliveries }, null, 2) : renderDeliveries(deliveries));
    });
}

const iso = (ms: number) => new Date(ms).toISOString().replace("T", " ").slice(0, 19);
const ago = (ms: number) => `${formatDuration(Math.max(0, Date.now() - ms))} ago`;

function labelText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .filter(([k]) => k !== "alertname" && k !== "severity")
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}

export function renderAlerts(alerts: AlertView[], all: boolean): string {
  if (alerts.length === 0) return all ? "no alerts" : `${green("no alert firing")}`;
  const rows = alerts.map((a) => [
    a.id,
    a.rule,
    a.severity,
    a.state,
    a.state === "firing" ? ago(a.startsAt) : `${iso(a.startsAt)} (${formatDuration((a.endsAt ?? a.startsAt) - a.startsAt)})`,
    !a.ack ? "-" : a.acknowledged ? `${a.ack.by}${a.ack.until ? ` until ${iso(a.ack.until)}` : ""}` : `${a.ack.by} (ended)`,
    a.silencedBy ?? (a.inhibitedBy ? `inhibited by ${a.inhibitedBy}` : "-"),
    a.outcome ? `${a.outcome.value}${a.outcome.source === "person" ? ` (${a.outcome.by})` : ""}` : "-",
    labelText(a.labels),
  ]);
  return table(["id", "rule", "severity", "state", "since", "acked by", "silenced / inhibited", "outcome", "labels"], rows);
}

export function renderSilences(silences: SilenceRecord[]): string {
  if (silences.length === 0) return "no silences";
  const rows = silences.map((s) => [
    s.id,
    s.expiredAt === null ? green("active") : dim(`expired (${s.expiredReason})`),
    s.matchers.join(","),
    s.createdBy,
    s.expiredAt === null ? iso(s.endsAt) : iso(s.expiredAt),
    s.reason,
  ]);
  return table(["id", "state", "matchers", "by", "until", "reason"], rows);
}

export function renderNoise(report: NoiseReport, since: string): string {
  const pct = (r: number | null) => (r === null ? "-" : `${(r * 100).toFixed(1)}%`);
  const rows = [...report.rules, report.overall].map((r) => [r.rule, String(r.alerts), String(r.actionable), String(r.noise), String(r.duplicate), String(r.unclassified), String(r.open), pct(r.falsePositiveRatio)]);
  const lines = [bold(`alert noise over the last ${since} (target: false positives ≤ ${pct(report.target)})`), table(["rule", "alerts", "actionable", "noise", "duplicate", "unclassified", "open", "false positives"], rows)];
  if (report.meetsTarget === null) lines.push(dim("no classified alert yet"));
  else lines.push(report.meetsTarget ? green(`overall ${pct(report.overall.falsePositiveRatio)}: within the target`) : red(`overall ${pct(report.overall.falsePositiveRatio)}: above the target`));
  if (report.noisiest.length) lines.push(yellow(`noisiest rules: ${report.noisiest.join(", ")}`));
  return lines.join("\n");
}

export function renderDeliveries(deliveries: DeliveryRecord[]): string {
  if (deliveries.length === 0) return "no deliveries yet";
  const colour = (s: string) => (s === "delivered" ? green(s) : s === "failed" ? red(s) : yellow(s));
  const rows = deliveries.map((d) => [iso(d.createdAt), d.channel, colour(d.state), String(d.attempts), d.lastStatus === null ? "-" : String(d.lastStatus), d.title, d.lastError ?? ""]);
  return table(["time", "channel", "state", "attempts", "status", "title", "last error"], rows);
}
