/**
 * The scorecard, read from the store: release and incident events, the request history, the health
 * checks' aggregates and the alerts of one period, computed into a Report (see types.ts).
 */
import { noiseReport } from "../alert/index.js";
import { costFigure, unpricedCost, type PriceSheet } from "../cost/index.js";
import { releaseStates, type ActionRepo, type AlertRepo, type CheckRepo, type EventLog, type RequestHistory, type UsageRepo } from "../store/index.js";
import { openActionItems } from "./actions.js";
import { drillReleases, drillsSection } from "./drills.js";
import { incidentsByRelease, incidentTimelines, recoveryFigures } from "./incidents.js";
import { deploymentSuccess, doraKeys, percent, releaseTimelines } from "./releases.js";
import { dayMs, ratio } from "./stats.js";
import type { Report, UptimeRow } from "./types.js";

/** What a report reads: the store's parts (any backend). */
export interface ReportSources {
  events: Pick<EventLog, "list">;
  requests: Pick<RequestHistory, "counts">;
  checks: Pick<CheckRepo, "buckets">;
  alerts: Pick<AlertRepo, "list">;
  /** The post-mortems' action items (the open ones are listed with their age). */
  actions?: Pick<ActionRepo, "list">;
  /** The instances' measured usage, for cost. */
  usage?: Pick<UsageRepo, "totals">;
}

/** The period is [since, until], both included: what happened in the very millisecond of the report counts. */
export interface ReportScope {
  since: number;
  until: number;
  /** Only this environment (uptime, deployment success, incidents, DORA); all when undefined. */
  environment?: string;
  /** The environment DORA's keys are about when `environment` is not given: the last of the chain. */
  production: string;
  /** The services of each environment, for uptime. */
  services: readonly { service: string; environment: string }[];
  /** The price sheet; without one (or without `usage`), cost is not measured. */
  prices?: PriceSheet;
}

/** The operator's targets. */
export const targets = { uptime: 0.999, deploymentSuccess: 0.99, recoveryMs: 15 * 60_000, alertNoise: 0.1 } as const;

/** The incident events the figures read (the incident domain's contract). */
const incidentSteps = ["opened", "acknowledged", "investigating", "mitigated", "resolved", "closed", "cancelled"];

/** Enough for a month of a busy engine; a report over more events than this would be cut, so none is (see bench/report.ts). */
const maxEvents = 1_000_000;

/** Builds the report for `scope` from `sources`. */
export async function collectReport(sources: ReportSources, scope: ReportScope): Promise<Report> {
  const { since, until, environment } = scope;
  const [releaseEvents, pendings, incidentEvents, alerts] = await Promise.all([
    // Exact types, not the "release." prefix: the events' type index finds them without reading the rest of the log.
    sources.events.list({ types: releaseStates.map((s) => `release.${s}`), since, until: until + 1, limit: maxEvents }),
    // A promoted release reuses an artifact deployed earlier (maybe before the period): its commit is the first release's.
    sources.events.list({ types: ["release.pending"], until: since, limit: maxEvents }),
    sources.events.list({ types: incidentSteps.map((s) => `incident.${s}`), since, until: until + 1, limit: maxEvents }),
    sources.alerts.list({ since, limit: maxEvents }),
  ]);
  const timelines = releaseTimelines(releaseEvents);
  const drillEvents = await sources.events.list({ types: ["drill.finished", "drill.fault-injected"], since, until: until + 1, limit: maxEvents });
  // A rollback drill's release is practice: it counts in the drills, not in deployment success or DORA's keys.
  for (const releaseId of drillReleases(drillEvents)) timelines.delete(releaseId);
  const commitsByDigest = new Map<string, { sha: string; time: number }>();
  for (const t of [...releaseTimelines(pendings).values(), ...timelines.values()]) {
    if (t.digest && t.commit && !commitsByDigest.has(t.digest)) commitsByDigest.set(t.digest, t.commit);
  }
  const incidents = incidentTimelines(incidentEvents);

  const noise = noiseReport(alerts, since, until);
  const inPeriod = alerts.filter((a) => a.startsAt >= since && a.startsAt <= until);
  const idsOf = (value: string) => inPeriod.filter((a) => a.outcome?.value === value).map((a) => a.id);
  const falsePositives = noise.overall.falsePositiveRatio;

  const uptime = await uptimeRows(sources, scope);
  const judged = uptime.flatMap((r) => [r.requests.meets, r.checks.meets]).filter((m): m is boolean => m !== null);
  const worst = Math.min(...uptime.flatMap((r) => [r.requests.ratio, r.checks.ratio]).filter((v): v is number => v !== null));

  return {
    period: { since, until, days: Math.round(((until - since) / dayMs) * 100) / 100, environment: environment ?? null },
    scorecard: {
      uptime: {
        target: targets.uptime,
        rows: uptime,
        meets: judged.length === 0 ? null : judged.every(Boolean),
        text: judged.length === 0 ? "no traffic or check runs recorded" : `lowest ${percent(worst)} over ${uptime.length} service/environment pair(s)`,
      },
      deploymentSuccess: deploymentSuccess(timelines.values(), since, until, environment, targets.deploymentSuccess),
      recovery: recoveryFigures(incidents.values(), since, until, environment, targets.recoveryMs),
      alertNoise: {
        target: targets.alertNoise,
        ratio: falsePositives,
        alerts: noise.overall.alerts,
        actionable: noise.overall.actionable,
        noise: noise.overall.noise,
        duplicate: noise.overall.duplicate,
        unclassified: noise.overall.unclassified,
        open: noise.overall.open,
        noisiest: noise.noisiest,
        rules: noise.rules.map((r) => ({ rule: r.rule, alerts: r.alerts, falsePositiveRatio: r.falsePositiveRatio })),
        meets: noise.meetsTarget,
        text: falsePositives === null ? (noise.overall.alerts === 0 ? "no alerts" : "no alert classified yet") : `${percent(falsePositives)} false positives (${noise.overall.noise + noise.overall.duplicate} of ${noise.overall.actionable + noise.overall.noise + noise.overall.duplicate})`,
        from: { alerts: { actionable: idsOf("actionable"), noise: idsOf("noise"), duplicate: idsOf("duplicate") } },
      },
      cost: await periodCost(sources, scope, uptime),
    },
    actionItems: await openActionItems(sources.actions, until),
    drills: drillsSection(drillEvents, environment),
    dora: doraKeys(timelines, commitsByDigest, incidentsByRelease(incidents.values()), { since, until, environment: environment ?? scope.production }),
  };
}

/** The cost of the period from the usage buckets that start in it, with each pair's requests from the uptime rows. */
async function periodCost(sources: ReportSources, scope: ReportScope, uptime: readonly UptimeRow[]) {
  if (!scope.prices || !sources.usage) return unpricedCost();
  const usage = { fromMs: scope.since, toMs: scope.until + 1, environment: scope.environment ?? null };
  const totals = await sources.usage.totals({ fromMs: usage.fromMs, toMs: usage.toMs, ...(scope.environment === undefined ? {} : { environment: scope.environment }) });
  const requests = new Map(uptime.map((r) => [`${r.environment}\0${r.service}`, r.requests.valid]));
  return costFigure(totals, (service, environment) => requests.get(`${environment}\0${service}`) ?? 0, scope.prices, usage);
}

/** Uptime per service and environment, from both sources: the proxy's request counts and the health check's runs. */
async function uptimeRows(sources: ReportSources, scope: ReportScope): Promise<UptimeRow[]> {
  const { since, until } = scope;
  const pairs = scope.services.filter((p) => scope.environment === undefined || p.environment === scope.environment);
  const checks = await checkTotals(sources.checks, since, until);
  return Promise.all(
    pairs.map(async ({ service, environment }) => {
      const counts = await sources.requests.counts({ service, environment, fromMs: since, toMs: until });
      const good = counts.requests - counts.errors;
      const check = `${service}.health.${environment}`;
      const totals = checks.get(check) ?? { runs: 0, failures: 0 };
      const requestRatio = ratio(good, counts.requests);
      const checkRatio = ratio(totals.runs - totals.failures, totals.runs);
      return {
        service,
        environment,
        requests: { good, valid: counts.requests, ratio: requestRatio, meets: requestRatio === null ? null : requestRatio >= targets.uptime, from: { service, environment, fromMs: since, toMs: until } },
        checks: { check, passes: totals.runs - totals.failures, runs: totals.runs, ratio: checkRatio, meets: checkRatio === null ? null : checkRatio >= targets.uptime },
      };
    }),
  );
}

/**
 * Runs and failures per check over [since, until): closed hours from the hour buckets, the minutes
 * after the last closed hour from the minute buckets (hours are written as they close, so the two
 * never overlap). The open minute, still in the monitor's memory, is not counted.
 */
async function checkTotals(checks: ReportSources["checks"], since: number, until: number): Promise<Map<string, { runs: number; failures: number }>> {
  const totals = new Map<string, { runs: number; failures: number }>();
  const add = (name: string, runs: number, failures: number) => {
    const t = totals.get(name) ?? { runs: 0, failures: 0 };
    t.runs += runs;
    t.failures += failures;
    totals.set(name, t);
  };
  const hours = await checks.buckets({ resolution: "hour", from: since, to: until });
  const hoursEnd = new Map<string, number>();
  for (const b of hours) {
    add(b.name, b.runs, b.failures);
    hoursEnd.set(b.name, Math.max(hoursEnd.get(b.name) ?? 0, b.start + 3_600_000));
  }
  const minutes = await checks.buckets({ resolution: "minute", from: since, to: until });
  for (const b of minutes) if (b.start >= (hoursEnd.get(b.name) ?? since)) add(b.name, b.runs, b.failures);
  return totals;
}
