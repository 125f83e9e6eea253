/**
 * Writers of a known history through the real store, for the report's tests and bench/report.ts:
 * releases through their transitions, incidents through their lifecycle events (the incident
 * domain's event contract), alerts, request minutes and check buckets.
 */
import type { ManualClock } from "../core/index.js";
import type { AlertOutcome, AlertRecord, CheckBucketRecord, ReleaseState, RequestBucket, Store } from "../store/index.js";

let artifacts = 0;

/** Creates a release (of a new artifact unless `digest` is given) and moves it through `states` (after `pending`), `stepMs` of the clock apart; answers its id. */
export async function recordRelease(
  store: Store,
  clock: ManualClock,
  r: { service: string; environment: string; states: readonly ReleaseState[]; stepMs?: number; commit?: { sha: string; time: number }; digest?: string; data?: Partial<Record<ReleaseState, Record<string, unknown>>> },
): Promise<string> {
  const release = await store.releases.create({
    service: r.service,
    environment: r.environment,
    artifactDigest: r.digest ?? `sha256:${String(++artifacts).padStart(64, "0")}`,
    configHash: "cfg",
    reason: "test",
    ...(r.commit && { commit: r.commit }),
  });
  for (const state of r.states) {
    await clock.advance(r.stepMs ?? 1000);
    await store.releases.transition(release.id, state, state, r.data?.[state]);
  }
  return release.id;
}

/** The states of a release that went live and earned stable. */
export const stableStates: readonly ReleaseState[] = ["starting", "healthy", "verified", "live", "watching", "stable"];

/** Appends an incident's lifecycle: `opened` at the clock's time (impact began `detectMs` before), then each step `after` ms from the opening. */
export async function recordIncident(
  store: Store,
  clock: ManualClock,
  i: { id: string; severity?: string; service: string; environment: string; releaseIds?: string[]; cause?: { kind: string; ref: string }; detectMs: number; steps: readonly [string, number][] },
): Promise<number[]> {
  const opened = clock.now();
  const ids: number[] = [];
  const base = { service: i.service, environment: i.environment };
  const open = await store.events.append({
    ...base,
    type: "incident.opened",
    message: `incident ${i.id} opened`,
    data: { incidentId: i.id, severity: i.severity ?? "SEV2", cause: i.cause ?? { kind: "manual", ref: "" }, startedAt: opened - i.detectMs, services: [i.service], environments: [i.environment], releaseIds: i.releaseIds ?? [] },
  });
  ids.push(open.id);
  let previous = "triage";
  for (const [step, after] of i.steps) {
    await clock.advance(opened + after - clock.now());
    const event = await store.events.append({ ...base, type: `incident.${step}`, message: `incident ${i.id} ${step}`, data: { incidentId: i.id, from: previous, by: "ops" } });
    ids.push(event.id);
    previous = step;
  }
  return ids;
}

/** A resolved alert with an outcome (or none). */
export function alertRecord(id: string, startsAt: number, outcome: AlertOutcome | null, rule = "web-down"): AlertRecord {
  return {
    id,
    fingerprint: `fp-${rule}`,
    rule,
    severity: "page",
    labels: { service: "web", environment: "production" },
    annotations: {},
    state: "resolved",
    startsAt,
    endsAt: startsAt + 60_000,
    resolveAt: null,
    silencedBy: null,
    inhibitedBy: null,
    duplicateOf: null,
    ack: null,
    outcome: outcome && { value: outcome, source: "inferred", by: null, reason: "test", at: startsAt + 60_000 },
    updatedAt: startsAt + 60_000,
  };
}

/** One minute of a release's traffic: `ok` 2xx answers and `failed` 5xx ones. */
export function requestMinute(service: string, environment: string, releaseId: string, time: number, ok: number, failed: number): RequestBucket {
  const latency = new Array<number>(16).fill(0);
  latency[3] = ok + failed;
  return { service, environment, releaseId, time, status: { "1xx": 0, "2xx": ok, "3xx": 0, "4xx": 0, "5xx": failed }, upstreamErrors: 0, upstreamTimeouts: 0, retried: 0, clientAborts: 0, latency };
}

/** One bucket of a check's results. */
export function checkBucket(name: string, start: number, runs: number, failures: number): CheckBucketRecord {
  const latency = new Array<number>(16).fill(0);
  latency[2] = runs;
  return { name, start, runs, failures, sumMs: runs * 5, maxMs: 9, latency };
}
