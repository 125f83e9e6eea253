import { formatDuration, type EngineError } from "../core/index.js";
import type { Progress } from "../deploy/index.js";
import type { ProjectStatus, ServiceStatus } from "../engine/index.js";
import type { EngineEvent, Release } from "../store/index.js";

const tty = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: number) => (text: string) => (tty ? `\x1b[${code}m${text}\x1b[0m` : text);
export const green = paint(32);
export const red = paint(31);
export const yellow = paint(33);
export const dim = paint(2);
export const bold = paint(1);

/**
 * Rows as columns padded to their widest cell, two spaces apart, under a dimmed header: the human
 * output of every read command. Colour codes in a cell do not count towards its width.
 */
export function table(header: string[], rows: string[][]): string {
  const visible = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "").length;
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => visible(r[i] ?? ""))));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell + " ".repeat(widths[i]! - visible(cell))))
      .join("  ")
      .trimEnd();
  return [dim(line(header)), ...rows.map(line)].join("\n");
}

/** Writes one line to standard output. */
export const out = (text: string): void => {
  process.stdout.write(text + "\n");
};

/** Prints a progress line of a deploy or rollback: elapsed time, step, message. */
export function progressPrinter(write: (line: string) => void = (l) => process.stderr.write(l + "\n")): (p: Progress) => void {
  const started = Date.now();
  return (p) => write(`${dim(`[${formatDuration(Date.now() - started).padStart(6)}]`)} ${bold(p.step.padEnd(9))} ${p.message}`);
}

export function renderError(error: EngineError): string {
  const lines = [`${red("error")} ${error.code}: ${error.message}`, `${dim("hint:")} ${error.hint}`];
  const verdict = error.details?.verdict as { checks?: { outcome: string; summary: string }[] } | undefined;
  for (const check of verdict?.checks ?? []) lines.push(`  ${check.outcome === "fail" ? red("✗") : check.outcome === "pass" ? green("✓") : dim("?")} ${check.summary}`);
  const last = error.details?.lastLines;
  if (Array.isArray(last) && last.length > 0) {
    lines.push(dim(`last lines of ${String(error.details?.instanceId ?? "the instance")}:`));
    for (const line of last) lines.push(`  ${String(line)}`);
  }
  return lines.join("\n");
}

const stateColour: Record<string, (s: string) => string> = {
  live: green,
  watching: yellow,
  stable: green,
  failed: red,
  "rolled-back": red,
  superseded: dim,
};

function colourVerdict(outcome: string): string {
  return outcome === "fail" ? red(outcome) : outcome === "pass" ? green(outcome) : yellow(outcome);
}

export function colourState(state: string): string {
  return (stateColour[state] ?? ((s: string) => s))(state);
}

function ago(time: number): string {
  return `${formatDuration(Math.max(0, Date.now() - time))} ago`;
}

/** `engineroom status` as text; `api` is the URL the CLI reached the engine's API at. */
export function renderStatus(status: ProjectStatus, options: { api?: string } = {}): string {
  const chain = status.environments.map((e) => e.name).join(" → ");
  const api = options.api ? `, api ${options.api}` : "";
  const plane = status.dataPlane ? `, data plane pid ${status.dataPlane.pid}` : "";
  const out = [`${bold(status.project)} — ${status.environments.length > 1 ? `chain ${chain}, ` : ""}store ${status.store}${api}${plane}`];
  const lead = status.leadership;
  if (lead && lead.role !== "single") {
    const leader = lead.leader ? `${lead.leader.holder}${lead.leader.address ? ` at ${lead.leader.address}` : ""}, term ${lead.leader.term}` : "none";
    out.push(lead.role === "leader" ? `${green("leader")} (term ${lead.term}) of the engines on this store` : `${yellow("standby")}: the leader is ${leader}`);
  }
  for (const env of status.environments) {
    out.push("", `${bold(`[${env.name}]`)} proxy http://${env.proxy}${env.requireApproval ? "  (releases wait for approval)" : ""}`);
    if (env.lock) out.push(yellow(`  locked by "${env.lock.command}" (pid ${env.lock.pid} on ${env.lock.host}) since ${ago(env.lock.acquiredAt)}`));
    for (const s of env.services) out.push(...renderService(s, env.name));
  }
  if (status.hosts?.length) {
    out.push("", bold("hosts"));
    for (const h of status.hosts) {
      const name = h.environment ? `${h.name} (${h.environment})` : h.name;
      out.push(
        h.reachable
          ? `  ${green("●")} ${name}  load ${h.load!.map((l) => l.toFixed(2)).join(" ")}  free disk ${(h.freeDiskBytes! / 2 ** 30).toFixed(1)} GiB  ${h.running} running`
          : `  ${red("●")} ${name}  unreachable  ${dim(h.error ?? "")}`,
      );
    }
  }
  if (status.drift.length) {
    out.push("", bold(yellow("drift (changes made outside the engine)")));
    for (const d of status.drift) out.push(`  ${yellow("!")} ${d.message}`);
  }
  if (status.events.length) {
    out.push("", bold("recent events"));
    for (const e of status.events) out.push(renderEvent(e));
  }
  return out.join("\n");
}

function renderService(s: ServiceStatus, environment: string): string[] {
  const out = [`${bold(s.name)}  routes ${s.routes.join(", ")}${s.busy ? yellow(`  busy: ${s.busy}`) : ""}`];
  if (s.live) {
    out.push(`  live      v${s.live.number} ${colourState(s.live.state)}  ${s.live.artifactDigest.slice(0, 19)}  switched ${ago(s.live.switchedAt)}  ${dim(s.live.reason)}`);
  } else {
    out.push(`  live      ${dim(`none in ${environment}`)}`);
  }
  if (s.previous) out.push(`  previous  v${s.previous.number} ${colourState(s.previous.state)}  ${s.previous.warm ? green("warm") : dim("cold")} (rollback target)`);
  if (s.traffic && s.traffic.requests + s.traffic.upstreamErrors > 0) {
    const t = s.traffic;
    const upstream = [
      t.upstreamErrors ? `${t.upstreamErrors} upstream errors` : "",
      t.upstreamTimeouts ? `${t.upstreamTimeouts} timeouts` : "",
      t.retried ? `${t.retried} retried` : "",
    ].filter(Boolean);
    out.push(`  traffic   ${t.rps.toFixed(1)} req/s  errors ${(t.errorRate * 100).toFixed(2)}%${upstream.length ? ` (${upstream.join(", ")})` : ""}  p50 ≤${t.p50}ms p95 ≤${t.p95}ms p99 ≤${t.p99}ms  (last minute)`);
  }
  if (s.analysis) out.push(`  analysis  ${colourVerdict(s.analysis.outcome)} ${dim(s.analysis.reason)}`);
  if (s.cost) out.push(`  cost      ${s.cost.text} ${dim(`at the current rate (${s.instances.filter((i) => i.status === "running").length} running instances × max(reserved, used) × price, 730 h)`)}`);
  for (const i of s.instances) {
    out.push(`  instance  ${i.id.padEnd(24)} :${i.port}  pid ${i.pid ?? "-"}  ${i.status}${i.healthy ? green(" healthy") : red(" unhealthy")}${i.restarts ? `  restarts ${i.restarts}` : ""}`);
  }
  return out;
}

export function renderEvent(e: EngineEvent): string {
  return `  ${dim(new Date(e.time).toISOString().replace("T", " ").slice(0, 19))} ${e.type.padEnd(20)} ${e.message}`;
}

export function renderReleases(releases: (Release & { provenance?: { commit: string; branch: string; runUrl: string } | null })[]): string {
  if (releases.length === 0) return "no releases yet";
  // The build's origin, for an artifact uploaded from CI: its commit and branch (the run's URL with --json).
  const origin = (r: (typeof releases)[number]) => (r.provenance ? `${r.provenance.commit.slice(0, 12)} ${r.provenance.branch}`.slice(0, 30) : "–");
  const width = Math.max(6, ...releases.map((r) => origin(r).length));
  const rows = releases.map((r) => `v${String(r.number).padEnd(4)} ${colourState(r.state.padEnd(11))} ${r.artifactDigest.slice(0, 19)}  ${origin(r).padEnd(width)}  ${ago(r.createdAt).padEnd(12)} ${r.reason}`);
  return [dim(`${"rel".padEnd(5)} ${"state".padEnd(11)} ${"artifact".padEnd(19)}  ${"commit".padEnd(width)}  ${"created".padEnd(12)} reason`), ...rows].join("\n");
}
