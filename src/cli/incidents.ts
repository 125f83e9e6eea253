import { userInfo } from "node:os";
import type { Command } from "commander";
import { formatDuration } from "../core/index.js";
import type { IncidentView } from "../incident/index.js";
import type { IncidentRecord } from "../store/index.js";
import { connect, type GlobalOptions } from "./connect.js";
import { bold, dim, green, out, red, table, yellow } from "./render.js";

type Json = { json?: boolean };

/**
 * `engineroom incidents`: open incidents (`--all`: every recent one); `show`, `open`, `ack`,
 * `update`, `resolve`, `close`. Everything goes through the running engine's API; who acts is the
 * OS user name.
 */
export function registerIncidentCommands(program: Command, globals: (command: Command) => GlobalOptions): void {
  const list = async (options: Json & { all?: boolean }, command: Command) => {
    const api = await connect(globals(command));
    const { incidents } = await api.get<{ incidents: IncidentRecord[] }>(`/v1/incidents${options.all ? "?all=true" : ""}`);
    out(asJson(options, command) ? JSON.stringify({ incidents }, null, 2) : renderIncidents(incidents, options.all === true));
  };
  const incidents = program
    .command("incidents")
    .description("open incidents (--all: recent ones whatever their state); show, open, ack, update, resolve, close")
    .option("--json", "print JSON")
    .option("--all", "every recent incident, not only the open ones")
    .action(list);

  incidents.command("list").description("open incidents (--all: recent ones whatever their state)").option("--all", "every recent incident").option("--json", "print JSON").action(list);

  incidents
    .command("show <id>")
    .description("one incident: severity and its reasons, milestones, links (releases with their config diff), notes, timeline")
    .option("--json", "print JSON")
    .action(async (id: string, options: Json, command: Command) => {
      const api = await connect(globals(command));
      const view = await api.get<IncidentView>(`/v1/incidents/${encodeURIComponent(id)}`);
      out(asJson(options, command) ? JSON.stringify(view, null, 2) : renderIncident(view));
    });

  incidents
    .command("open")
    .description("open an incident by hand (a new one, even if the engine has one open for the service)")
    .requiredOption("--title <text>", "what is wrong")
    .requiredOption("--service <service>", "the service affected")
    .option("--env <environment>", "the environment (default: the last of the chain)")
    .option("--severity <SEV>", "SEV1–SEV4 (default: from the blast radius)")
    .option("--commander <name>", "who leads the response")
    .option("--note <text>", "a first note")
    .option("--json", "print JSON")
    .action(async (options: Json & { title: string; service: string; env?: string; severity?: string; commander?: string; note?: string }, command: Command) => {
      const api = await connect(globals(command));
      const body = { title: options.title, service: options.service, environment: options.env, severity: options.severity, commander: options.commander, note: options.note, by: who() };
      const incident = await api.post<IncidentRecord>("/v1/incidents", body);
      out(asJson(options, command) ? JSON.stringify(incident, null, 2) : `${red("opened")} ${incident.id} ${incident.severity} ${incident.title}\n${dim(incident.severityReasons.join("\n"))}`);
    });

  incidents
    .command("ack <id>")
    .description("acknowledge an incident: you are on it (stops its escalation)")
    .option("--json", "print JSON")
    .action(async (id: string, options: Json, command: Command) => {
      const api = await connect(globals(command));
      const incident = await api.post<IncidentRecord>(`/v1/incidents/${encodeURIComponent(id)}/ack`, { by: who() });
      out(asJson(options, command) ? JSON.stringify(incident, null, 2) : `${green("acknowledged")} ${incident.id} by ${incident.ack?.by} at ${iso(incident.ack!.at)}`);
    });

  incidents
    .command("update <id>")
    .description("change an incident's status, severity (with --reason), commander, or add a note; each is recorded")
    .option("--status <state>", "investigating, mitigated, resolved, closed or cancelled (one step at a time)")
    .option("--severity <SEV>", "SEV1–SEV4 (needs --reason)")
    .option("--reason <text>", "why the severity changes")
    .option("--commander <name>", "who leads the response")
    .option("--note <text>", "a note for the timeline and the channel")
    .option("--json", "print JSON")
    .action(async (id: string, options: Json & { status?: string; severity?: string; reason?: string; commander?: string; note?: string }, command: Command) => {
      const api = await connect(globals(command));
      const { status, severity, reason, commander, note } = options;
      const incident = await api.post<IncidentRecord>(`/v1/incidents/${encodeURIComponent(id)}/update`, { status, severity, reason, commander, note, by: who() });
      out(asJson(options, command) ? JSON.stringify(incident, null, 2) : `${green("updated")} ${incident.id}: ${incident.state}, ${incident.severity}${incident.commander ? `, commander ${incident.commander}` : ""}`);
    });

  incidents
    .command("resolve <id>")
    .description("resolve a mitigated incident")
    .option("--note <text>", "what fixed it")
    .option("--json", "print JSON")
    .action(async (id: string, options: Json & { note?: string }, command: Command) => {
      const api = await connect(globals(command));
      const incident = await api.post<IncidentRecord>(`/v1/incidents/${encodeURIComponent(id)}/resolve`, { note: options.note, by: who() });
      out(asJson(options, command) ? JSON.stringify(incident, null, 2) : `${green("resolved")} ${incident.id} after ${formatDuration(incident.milestones.resolved!.at - incident.startedAt)} of impact`);
    });

  incidents
    .command("close <id>")
    .description("close a resolved incident")
    .option("--json", "print JSON")
    .action(async (id: string, options: Json, command: Command) => {
      const api = await connect(globals(command));
      const incident = await api.post<IncidentRecord>(`/v1/incidents/${encodeURIComponent(id)}/close`, { by: who() });
      out(asJson(options, command) ? JSON.stringify(incident, null, 2) : `${green("closed")} ${incident.id}`);
    });
}

/** --json given to the subcommand or to `incidents` before it (commander gives it to the parent). */
function asJson(options: Json, command: Command): boolean {
  return options.json === true || (command.optsWithGlobals() as Json).json === true;
}

function who(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? "unknown";
  }
}

const iso = (ms: number) => new Date(ms).toISOString().replace("T", " ").slice(0, 19);
const ago = (ms: number) => `${formatDuration(Math.max(0, Date.now() - ms))} ago`;
const severityColour = (s: string) => (s === "SEV1" || s === "SEV2" ? red(s) : s === "SEV3" ? yellow(s) : s);
const where = (i: IncidentRecord) => `${i.services.join(",") || "-"} / ${i.environments.join(",") || "-"}`;

export function renderIncidents(incidents: IncidentRecord[], all: boolean): string {
  if (incidents.length === 0) return all ? "no incidents" : green("no open incident");
  const rows = incidents.map((i) => [i.id, severityColour(i.severity), i.state, where(i), ago(i.openedAt), i.ack ? i.ack.by : yellow("not acked"), i.commander ?? "-", i.title]);
  return table(["id", "severity", "state", "service / env", "opened", "acked by", "commander", "title"], rows);
}

export function renderIncident({ incident: i, timeline }: IncidentView): string {
  const lines = [
    `${bold(i.id)}  ${severityColour(i.severity)}  ${i.state}  ${i.title}`,
    `cause: ${i.cause.kind} ${i.cause.ref}; opened by ${i.openedBy} at ${iso(i.openedAt)}; impact since ${iso(i.startedAt)}`,
    `where: ${where(i)}; commander: ${i.commander ?? "-"}; acknowledged: ${i.ack ? `${i.ack.by} at ${iso(i.ack.at)}` : "no"}${i.escalatedAt ? `; escalated at ${iso(i.escalatedAt)}` : ""}`,
    bold(`severity ${i.severity} (${i.severitySource}):`),
    ...i.severityReasons.map((r) => `  ${r}`),
    bold("milestones:"),
    ...Object.entries(i.milestones).map(([state, m]) => `  ${state.padEnd(13)} ${iso(m!.at)} by ${m!.by} (${formatDuration(m!.at - i.startedAt)} after the impact began)`),
    bold("links:"),
    ...i.links.map((l) => `  ${l.kind.padEnd(11)} ${l.ref}${linkDetail(l.kind, l.detail)}`),
  ];
  if (i.notes.length) lines.push(bold("notes:"), ...i.notes.map((n) => `  ${iso(n.at)} ${n.by}: ${n.text}`));
  lines.push(bold("timeline:"), table(["time", "type", "message"], timeline.map((e) => [iso(e.time), e.type, e.message])));
  return lines.join("\n");
}

function linkDetail(kind: string, d: Record<string, unknown>): string {
  if (kind === "release") {
    const diff = (d.configDiff as { key: string; from?: unknown; to?: unknown }[] | undefined) ?? [];
    const previous = d.previous as { number: number } | null;
    const head = ` — ${d.service} v${d.number} in ${d.environment} (${String(d.artifactDigest).slice(0, 19)}), ${d.state}; ${d.deployedBy}${d.approvedBy ? `; ${d.approvedBy}` : ""}${d.planHash ? `; plan ${String(d.planHash).slice(0, 12)}` : ""}`;
    const changes = diff.map((c) => `\n      ${c.key}: ${JSON.stringify(c.from) ?? "(absent)"} → ${JSON.stringify(c.to) ?? "(absent)"}`).join("");
    return `${head}\n      config against v${previous?.number ?? "?"}: ${diff.length ? `${diff.length} key(s) changed` : "the same"}${changes}`;
  }
  if (kind === "alert") return ` — ${d.rule}${d.resolvedAt ? ` (resolved ${iso(d.resolvedAt as number)})` : " (firing)"}`;
  if (kind === "runbook-run") return ` — runbook ${d.runbook}${d.automatic ? " (automatic)" : ""} started ${iso(d.startedAt as number)}`;
  return "";
}
