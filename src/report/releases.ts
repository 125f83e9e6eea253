/**
 * Releases as their events tell them: one timeline per release from its `release.<state>` events,
 * then the deployment success rate and DORA's four keys over them.
 */
import { formatSpan } from "../core/index.js";
import type { EngineEvent } from "../store/index.js";
import { dayMs, ratio, summarize } from "./stats.js";
import type { FrequencyBucket, Report, ReleaseOutcome, ReleaseRow, ReleaseTrace } from "./types.js";

export interface ReleaseTimeline {
  releaseId: string;
  service: string;
  environment: string;
  number: number | null;
  digest: string | null;
  commit: { sha: string; time: number } | null;
  startedAt: number | null;
  /** Its first switch to traffic (a rollback's "live again" later does not count). */
  liveAt: number | null;
  failedAt: number | null;
  rolledBackAt: number | null;
  state: string;
  eventIds: number[];
}

/** Timelines of the releases the `release.*` events (oldest first) speak of, by release id. */
export function releaseTimelines(events: readonly EngineEvent[]): Map<string, ReleaseTimeline> {
  const timelines = new Map<string, ReleaseTimeline>();
  for (const event of events) {
    if (!event.releaseId || !event.type.startsWith("release.")) continue;
    let t = timelines.get(event.releaseId);
    if (!t) {
      t = { releaseId: event.releaseId, service: event.service ?? "", environment: event.environment ?? "", number: null, digest: null, commit: null, startedAt: null, liveAt: null, failedAt: null, rolledBackAt: null, state: "", eventIds: [] };
      timelines.set(event.releaseId, t);
    }
    const state = event.type.slice("release.".length);
    t.eventIds.push(event.id);
    if (state === "pending") {
      t.number = typeof event.data.number === "number" ? event.data.number : null;
      t.digest = typeof event.data.artifactDigest === "string" ? event.data.artifactDigest : null;
      t.commit = commitOf(event.data.commit);
    } else if (state === "starting") t.startedAt ??= event.time;
    else if (state === "live") t.liveAt ??= event.time;
    else if (state === "failed") t.failedAt ??= event.time;
    else if (state === "rolled-back") t.rolledBackAt ??= event.time;
    // approved, verified… are states too; only the release state machine's names change `state`.
    if (releaseStateNames.has(state)) t.state = state;
  }
  return timelines;
}

const releaseStateNames = new Set(["pending", "starting", "healthy", "verified", "live", "watching", "stable", "failed", "rolled-back", "superseded"]);

function commitOf(value: unknown): { sha: string; time: number } | null {
  const c = value as { sha?: unknown; time?: unknown } | undefined;
  return c && typeof c.sha === "string" && typeof c.time === "number" ? { sha: c.sha, time: c.time } : null;
}

function trace(t: ReleaseTimeline): ReleaseTrace {
  return { releaseId: t.releaseId, service: t.service, environment: t.environment, number: t.number, eventIds: t.eventIds };
}

/** A release that reached `starting` succeeded if it went live and was never rolled back nor failed. */
export function outcomeOf(t: ReleaseTimeline): ReleaseOutcome {
  if (t.failedAt !== null) return "failed";
  if (t.rolledBackAt !== null) return "rolled-back";
  return t.liveAt !== null ? "succeeded" : "in-progress";
}

export const successDefinition =
  "started: every release that reached `starting` in the period; succeeded: went live and was never rolled back nor failed " +
  "(a `superseded` release — replaced by a newer one during its watch — succeeded unless it was later rolled back; one still watching counts as succeeded so far); " +
  "rate = succeeded / (succeeded + failed + rolled back): releases still before their switch (in progress, awaiting approval) are counted apart, not judged";

export function deploymentSuccess(timelines: Iterable<ReleaseTimeline>, since: number, until: number, environment: string | undefined, target: number): Report["scorecard"]["deploymentSuccess"] {
  const rows: ReleaseRow[] = [];
  for (const t of timelines) {
    if (t.startedAt === null || t.startedAt < since || t.startedAt > until) continue;
    if (environment !== undefined && t.environment !== environment) continue;
    rows.push({ ...trace(t), outcome: outcomeOf(t), state: t.state, startedAt: t.startedAt, liveAt: t.liveAt });
  }
  const count = (o: ReleaseOutcome) => rows.filter((r) => r.outcome === o).length;
  const [succeeded, failed, rolledBack, inProgress] = [count("succeeded"), count("failed"), count("rolled-back"), count("in-progress")];
  const rate = ratio(succeeded, succeeded + failed + rolledBack);
  const text = rate === null ? "no releases judged" : `${percent(rate)} (${succeeded} of ${succeeded + failed + rolledBack})`;
  return { target, rate, started: rows.length, succeeded, failed, rolledBack, inProgress, meets: rate === null ? null : rate >= target, text, definition: successDefinition, from: { releases: rows } };
}

/**
 * DORA's deployment frequency bucket as fourkeys computes it (METRICS.md): daily if the median
 * number of days with a deploy per week is at least 3, weekly if the median week has one, monthly
 * if the median month has a week with one, else yearly. Weeks are 7-day blocks and months 30-day
 * blocks counted back from the end of the period (at least one of each; each block holds its end).
 */
export function frequencyBucket(deployTimes: readonly number[], since: number, until: number): FrequencyBucket {
  if (deployTimes.length === 0) return "none";
  const weeks = Math.max(1, Math.floor((until - since) / (7 * dayMs)));
  const months = Math.max(1, Math.floor((until - since) / (30 * dayMs)));
  const daysPerWeek: number[] = [];
  const weekDeployed: number[] = [];
  for (let w = 0; w < weeks; w++) {
    const end = until - w * 7 * dayMs;
    const days = new Set(deployTimes.filter((t) => t <= end && t > end - 7 * dayMs).map((t) => Math.floor((end - t) / dayMs)));
    daysPerWeek.push(days.size);
    weekDeployed.push(days.size > 0 ? 1 : 0);
  }
  if (medianOf(daysPerWeek) >= 3) return "daily";
  if (medianOf(weekDeployed) >= 1) return "weekly";
  const perMonth: number[] = [];
  for (let m = 0; m < months; m++) {
    const end = until - m * 30 * dayMs;
    perMonth.push(deployTimes.filter((t) => t <= end && t > end - 30 * dayMs).length);
  }
  return medianOf(perMonth) >= 1 ? "monthly" : "yearly";
}

function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = (sorted.length - 1) / 2;
  return (sorted[Math.floor(mid)]! + sorted[Math.ceil(mid)]!) / 2;
}

/** fourkeys' lead-time and restore buckets: under a day, a week, a month, six months. */
function durationBucket(ms: number | undefined, withHour: boolean): string | null {
  if (ms === undefined) return null;
  if (withHour && ms < 3_600_000) return "less than one hour";
  if (ms < dayMs) return "less than one day";
  if (ms < 7 * dayMs) return "less than one week";
  if (ms < 30 * dayMs) return "less than one month";
  if (!withHour && ms < 182 * dayMs) return "less than six months";
  return withHour ? "one month or more" : "six months or more";
}

/** fourkeys' colours for change failure rate: up to 15% elite, to 45% medium, above that low. */
function failureBucket(rate: number | null): string | null {
  if (rate === null) return null;
  return rate <= 0.15 ? "0–15%" : rate <= 0.45 ? "16–45%" : "over 45%";
}

/** DORA's four keys for one environment's releases that first went live in [since, until]. */
export function doraKeys(
  all: ReadonlyMap<string, ReleaseTimeline>,
  commitsByDigest: ReadonlyMap<string, { sha: string; time: number }>,
  incidentsByRelease: ReadonlyMap<string, string[]>,
  scope: { since: number; until: number; environment: string },
): Report["dora"] {
  const { since, until, environment } = scope;
  const ofEnv = [...all.values()].filter((t) => t.environment === environment && t.liveAt !== null).sort((a, b) => a.liveAt! - b.liveAt!);
  const deployed = ofEnv.filter((t) => t.liveAt! >= since && t.liveAt! <= until);
  const days = (until - since) / dayMs;

  const daily = new Map<string, number>();
  for (let day = Math.floor(since / dayMs) * dayMs; day < until; day += dayMs) daily.set(new Date(day).toISOString().slice(0, 10), 0);
  for (const t of deployed) {
    const key = new Date(t.liveAt!).toISOString().slice(0, 10);
    daily.set(key, (daily.get(key) ?? 0) + 1);
  }
  const perDay = deployed.length / days;
  const bucket = frequencyBucket(deployed.map((t) => t.liveAt!), since, until);
  const deploymentFrequency = {
    deployments: deployed.length,
    perDay: round(perDay, 3),
    perWeek: round(perDay * 7, 2),
    bucket,
    daily: [...daily].map(([day, count]) => ({ day, count })),
    meets: deployed.length === 0 ? null : bucket === "daily",
    text: deployed.length === 0 ? "no deployments" : `${round(perDay, 2)}/day, ${round(perDay * 7, 1)}/week (${bucket})`,
    from: { releases: deployed.map(trace) },
  };

  const measured: Report["dora"]["leadTime"]["from"]["releases"] = [];
  const notMeasured: string[] = [];
  for (const t of deployed) {
    const commit = t.commit ?? (t.digest ? commitsByDigest.get(t.digest) : undefined);
    if (commit) measured.push({ ...trace(t), commit: commit.sha, commitTime: commit.time, leadTimeMs: t.liveAt! - commit.time });
    else notMeasured.push(t.releaseId);
  }
  const lead = summarize(measured.map((m) => m.leadTimeMs));
  const leadTime = {
    measured: measured.length,
    notMeasured: notMeasured.length,
    summary: lead,
    bucket: durationBucket(lead?.medianMs, false),
    meets: lead === null ? null : lead.medianMs < dayMs,
    text: lead === null ? (deployed.length === 0 ? "no deployments" : "not measured: no commit time recorded") : `median ${span(lead.medianMs)}, p90 ${span(lead.p90Ms)}${notMeasured.length ? ` (${notMeasured.length} not measured)` : ""}`,
    from: { releases: measured, notMeasured },
  };

  const failures = deployed.map((t) => ({ t, rolledBack: t.rolledBackAt !== null, incidentIds: incidentsByRelease.get(t.releaseId) ?? [] })).filter((f) => f.rolledBack || f.incidentIds.length > 0);
  const rate = ratio(failures.length, deployed.length);
  const changeFailureRate = {
    rate,
    deployments: deployed.length,
    failures: failures.length,
    bucket: failureBucket(rate),
    meets: rate === null ? null : rate <= 0.15,
    text: rate === null ? "no deployments" : `${percent(rate)} (${failures.length} of ${deployed.length})`,
    from: { releases: failures.map((f) => ({ ...trace(f.t), rolledBack: f.rolledBack, incidentIds: f.incidentIds })) },
  };

  // From the bad release's switch to traffic on a good one: its rollback, or the next release of the service that went live and was no failure itself.
  const failedIds = new Set(failures.map((f) => f.t.releaseId));
  const recoveries = failures.map(({ t }) => {
    if (t.rolledBackAt !== null) return { ...trace(t), recoveredBy: "rollback", recoveryMs: t.rolledBackAt - t.liveAt! };
    const next = ofEnv.find((n) => n.service === t.service && n.liveAt! > t.liveAt! && !failedIds.has(n.releaseId) && n.rolledBackAt === null);
    return { ...trace(t), recoveredBy: next ? next.releaseId : null, recoveryMs: next ? next.liveAt! - t.liveAt! : null };
  });
  const recovered = summarize(recoveries.flatMap((r) => (r.recoveryMs === null ? [] : [r.recoveryMs])));
  const unrecovered = recoveries.filter((r) => r.recoveryMs === null).length;
  const recoveryTime = {
    summary: recovered,
    unrecovered,
    bucket: durationBucket(recovered?.medianMs, true),
    meets: recovered === null ? (unrecovered > 0 ? false : null) : recovered.medianMs < 3_600_000 && unrecovered === 0,
    text: recovered === null ? (unrecovered > 0 ? `${unrecovered} not recovered` : "no failed deployments") : `median ${span(recovered.medianMs)}, p90 ${span(recovered.p90Ms)}${unrecovered ? `, ${unrecovered} not recovered` : ""}`,
    from: { releases: recoveries },
  };
  return { environment, deploymentFrequency, leadTime, changeFailureRate, recoveryTime };
}

/** 60%, 66.7%, 99.983% (three decimals between 99% and 100%, where the targets are), 100%. */
export function percent(value: number): string {
  const p = value * 100;
  return `${Number(p.toFixed(p >= 99 && p < 100 ? 3 : 1))}%`;
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** 850ms, 42s, 12m, 3h20m, 2d4h: core's formatSpan, under the name the report's parts use. */
export const span = formatSpan;
