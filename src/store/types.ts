/**
 * The Store: everything the engine must remember across restarts. One interface, two backends
 * (SQLite embedded by default, PostgreSQL by URL) that pass the same contract suite
 * (`runStoreContract` in store.contract.ts). All methods are async so both backends fit.
 */
import type { AlertRepo } from "./alert-types.js";
import type { IncidentRepo } from "./incident-types.js";
import type { UsageRepo } from "./usage-types.js";
import type { TokenRepo } from "./token-types.js";
import type { BlobRepo, StateRepo } from "./state-types.js";
import type { ActionRepo, LearningRepo, PostmortemRepo } from "./postmortem-types.js";
import type { RunbookRunRepo } from "./runbook-types.js";
import type { DrillRepo } from "./drill-types.js";
import type { LeaderLease } from "./leader-types.js";

export * from "./alert-types.js";
export * from "./incident-types.js";
export * from "./usage-types.js";
export * from "./token-types.js";
export * from "./postmortem-types.js";
export * from "./runbook-types.js";
export * from "./drill-types.js";
export * from "./leader-types.js";
export * from "./state-types.js";

/** The release state machine of DESIGN.md (rules in src/deploy/state.ts). `failed` and `rolled-back`
 * are terminal; `stable` and `superseded` (replaced while still watching) are too, except that an
 * operator's rollback may still move them to `rolled-back`. */
export const releaseStates = [
  "pending",
  "starting",
  "healthy",
  "verified",
  "live",
  "watching",
  "stable",
  "failed",
  "rolled-back",
  "superseded",
] as const;
export type ReleaseState = (typeof releaseStates)[number];

export interface Release {
  /** Globally unique, sortable by creation time, e.g. `rel_lx2k9a1b_8f3c2d1e`. */
  id: string;
  service: string;
  environment: string;
  /** 1, 2, 3… per service and environment; shown to people as `v3`. */
  number: number;
  /** sha256 of the artifact's content, `sha256:<hex>`. */
  artifactDigest: string;
  /** sha256 of the service's resolved config at deploy time. */
  configHash: string;
  state: ReleaseState;
  /** Why the release is in its current state (the reason of its last transition). */
  reason: string;
  createdAt: number;
  updatedAt: number;
}

export interface NewRelease {
  service: string;
  environment: string;
  artifactDigest: string;
  configHash: string;
  reason: string;
  /** The git commit the artifact was built from, when known: kept in the `release.pending` event's data (lead time for changes). */
  commit?: { sha: string; time: number };
  /** Where the artifact came from, when it was uploaded from CI: kept in the `release.pending` event's data too. */
  provenance?: ArtifactProvenance;
}

/** One append-only record of something that happened: the audit log and the source of every report. */
export interface EngineEvent {
  /** Increases with every event appended (1, 2, 3… per store). */
  id: number;
  time: number;
  /** Dotted type, e.g. `release.live`, `instance.crashed`, `deploy.started`. */
  type: string;
  service: string | null;
  environment: string | null;
  releaseId: string | null;
  message: string;
  data: Record<string, unknown>;
}

export type NewEvent = Omit<EngineEvent, "id" | "time" | "service" | "environment" | "releaseId" | "data"> & {
  service?: string | null;
  environment?: string | null;
  releaseId?: string | null;
  data?: Record<string, unknown>;
};

export interface EventQuery {
  service?: string;
  environment?: string;
  releaseId?: string;
  /** Only events with an id greater than this (for following). */
  afterId?: number;
  /** Only these types (exact match), or type prefixes ending in `.`, e.g. `release.`. */
  types?: string[];
  /** Only events at or after this time, epoch ms (reports read a period). */
  since?: number;
  /** Only events before this time, epoch ms. */
  until?: number;
  /** At most this many, newest last. Default 100. */
  limit?: number;
}

export interface ReleaseRepo {
  /** Creates a release in state `pending` with the next number for its service and environment,
   * and appends a `release.pending` event in the same transaction. */
  create(input: NewRelease): Promise<Release>;
  get(id: string): Promise<Release | undefined>;
  /** Newest first. */
  list(query: { service: string; environment: string; limit?: number }): Promise<Release[]>;
  /** Releases of any service in one of these states (e.g. to find deploys an engine crash interrupted). */
  listInStates(states: readonly ReleaseState[]): Promise<Release[]>;
  /** Sets the state and reason and appends a `release.<state>` event carrying `data`, atomically.
   * The state machine's rules are the deploy domain's; the store records what it is told. */
  transition(id: string, to: ReleaseState, reason: string, data?: Record<string, unknown>): Promise<Release>;
}

export interface EventLog {
  append(event: NewEvent): Promise<EngineEvent>;
  /** Oldest first, after `afterId`; without `afterId`, the newest `limit` events (still oldest first). */
  list(query?: EventQuery): Promise<EngineEvent[]>;
}

/** Which release each service's routes point at, per environment: the proxy's desired state. */
export interface LiveRecord {
  service: string;
  environment: string;
  releaseId: string;
  /** The release that was live before (the warm rollback target), if any. */
  previousReleaseId: string | null;
  switchedAt: number;
}

export interface LiveTable {
  get(service: string, environment: string): Promise<LiveRecord | undefined>;
  /** Points the service at `releaseId`, remembering `previousReleaseId`. */
  set(service: string, environment: string, releaseId: string, previousReleaseId: string | null): Promise<LiveRecord>;
  list(environment?: string): Promise<LiveRecord[]>;
  remove(service: string, environment: string): Promise<void>;
}

export interface LockHolder {
  /** What holds it, e.g. `deploy web`. */
  command: string;
  pid: number;
  host: string;
  /**
   * When the holding process started, as its host counts it (on Linux, field 22 of /proc/<pid>/stat:
   * clock ticks since boot), so that a pid reused by another process is not taken for the holder.
   * Absent when the holder could not tell.
   */
  startTime?: number;
}

export interface Lock extends LockHolder {
  key: string;
  /** Secret to the holder: needed to renew or release. */
  token: string;
  acquiredAt: number;
  expiresAt: number;
}

export type LockResult = { acquired: true; lock: Lock } | { acquired: false; heldBy: Omit<Lock, "token"> };

/** Leases: one holder per key at a time; a lease that is not renewed expires and may be taken over. */
export interface LockTable {
  acquire(key: string, holder: LockHolder, ttlMs: number): Promise<LockResult>;
  /** Extends the lease; false if the token no longer holds the key (it expired and was taken). */
  renew(key: string, token: string, ttlMs: number): Promise<boolean>;
  /** Releases the lease; false if the token no longer holds it. */
  release(key: string, token: string): Promise<boolean>;
  /** The lease on `key` while it holds; an expired lease is free, so it gives undefined. */
  get(key: string): Promise<Omit<Lock, "token"> | undefined>;
  /** Removes the lease whoever holds it, returning whom it was taken from. */
  forceRelease(key: string): Promise<Omit<Lock, "token"> | undefined>;
  /**
   * Takes the lease over from `from` (a holder known to be gone, or one an engine's restore may not
   * wait for any longer), whether or not it expired — but only if `from` still holds it: a lease that
   * changed hands meanwhile is left alone and returned as `heldBy`.
   */
  takeOver(key: string, from: Omit<Lock, "token">, holder: LockHolder, ttlMs: number): Promise<LockResult>;
}

/** Where an artifact uploaded from CI came from, as its signed statement says (`POST /v1/artifacts`). */
export interface ArtifactProvenance {
  /** The git commit it was built from. */
  commit: string;
  /** The commit's time, epoch ms, when CI gave it: lead time for changes starts there. */
  commitTime: number | null;
  branch: string;
  /** The CI run that built it. */
  runUrl: string;
  /** The test summary of that run, from its JUnit reports. */
  tests: { tests: number; failures: number; errors: number; skipped: number; timeMs: number } | null;
  /** The name of the trusted CI key that signed it. */
  signedBy: string;
  uploadedAt: number;
}

export interface ArtifactRecord {
  digest: string;
  /** Where it came from (a path as given by the user), for people. */
  source: string;
  sizeBytes: number;
  fileCount: number;
  createdAt: number;
  /** Only for an artifact uploaded from CI: its signed provenance. */
  provenance?: ArtifactProvenance;
}

export interface ArtifactIndex {
  /** Records an artifact; recording the same digest again keeps the first record, except that a provenance is added to a record without one. */
  put(record: Omit<ArtifactRecord, "createdAt">): Promise<ArtifactRecord>;
  get(digest: string): Promise<ArtifactRecord | undefined>;
}

/** A check's verdict as the monitor keeps it: `pending` until its first verdict, then `up` or `down`. */
export type CheckStateName = "pending" | "up" | "down";

/** One check's state, saved so that a restarted engine resumes it (and does not announce a down check as new). */
export interface CheckStateRecord {
  name: string;
  state: CheckStateName;
  /** When the check entered this state, epoch ms. */
  since: number;
  consecutiveFailures: number;
  consecutivePasses: number;
  /** The last result (a CheckResult as JSON), or null before the first run. */
  lastResult: Record<string, unknown> | null;
  updatedAt: number;
}

/** The resolutions check results are kept at. */
export type CheckResolution = "minute" | "hour" | "day";

/**
 * A check's results over one minute, hour or day: counts and a latency histogram with the fixed
 * bounds of metrics' `latencyBoundsMs`, so buckets merge by addition.
 */
export interface CheckBucketRecord {
  name: string;
  /** Start of the minute, hour or day (UTC), epoch ms. */
  start: number;
  runs: number;
  failures: number;
  sumMs: number;
  maxMs: number;
  /** Counts per latency bucket, length latencyBoundsMs.length + 1. */
  latency: number[];
}

/** Check state and results as aggregates (not one row per probe). */
export interface CheckRepo {
  /** Every saved check state. */
  states(): Promise<CheckStateRecord[]>;
  /** Saves states (insert or replace), all in one transaction. */
  saveStates(records: readonly CheckStateRecord[]): Promise<void>;
  /** Saves one state and appends its event in one transaction (a transition: check.down, check.up). */
  transition(record: CheckStateRecord, event: NewEvent): Promise<EngineEvent>;
  /** Writes buckets (insert or replace by name and start), and optionally states, in one transaction. */
  writeBuckets(resolution: CheckResolution, buckets: readonly CheckBucketRecord[], states?: readonly CheckStateRecord[]): Promise<void>;
  /** Buckets with `from <= start < to` (of one check, or all), ordered by name then start. */
  buckets(query: { resolution: CheckResolution; from: number; to?: number; name?: string }): Promise<CheckBucketRecord[]>;
  /** The start of the newest bucket at a resolution, if any. */
  newest(resolution: CheckResolution): Promise<number | undefined>;
  /** Deletes buckets that start before `before`; returns how many. */
  prune(resolution: CheckResolution, before: number): Promise<number>;
}

/** Responses by status class, as the proxy counts them. */
export interface StatusCounts {
  "1xx": number;
  "2xx": number;
  "3xx": number;
  "4xx": number;
  "5xx": number;
}

/**
 * What one release served in one minute or one hour, summed from the proxies' per-second buckets
 * (metrics/histogram.ts `MetricsBucket`, whose fields these are).
 */
export interface RequestBucket {
  service: string;
  environment: string;
  releaseId: string;
  /** Start of the minute (or hour), epoch milliseconds. */
  time: number;
  status: StatusCounts;
  /** Tries the upstream failed, retried ones included (see `retried`). */
  upstreamErrors: number;
  upstreamTimeouts: number;
  /** The upstream errors the proxy retried elsewhere: no client saw them. */
  retried: number;
  clientAborts: number;
  /** Counts per latency bucket, with metrics' latencyBoundsMs (16 buckets: 15 bounds and the rest). */
  latency: number[];
}

/** Sums of request buckets over a time range; `requests` and `errors` are what clients saw. */
export interface RequestCounts extends Omit<RequestBucket, "service" | "environment" | "releaseId" | "time"> {
  /** Answered requests plus the upstream errors clients saw (upstreamErrors − retried): the valid events of availability. */
  requests: number;
  /** 5xx answers plus the upstream errors clients saw: the bad events of availability. */
  errors: number;
}

export interface RequestQuery {
  service?: string;
  environment?: string;
  releaseId?: string;
  /** Inclusive start, epoch ms. */
  fromMs: number;
  /** Exclusive end, epoch ms. */
  toMs: number;
}

/**
 * The request history: per-minute buckets (kept a few days) and per-hour ones (kept longer), per
 * service, environment and release. Every minute recorded is added to its hour in the same
 * transaction, so the hours are the rollup of the minutes at all times and pruning minutes loses
 * nothing the hours hold. SLOs read it; so will reports (uptime, cost per 1,000 requests).
 */
export interface RequestHistory {
  /** Adds each bucket to its minute (a minute recorded twice holds the sum) and to its hour, in one transaction. */
  record(minutes: readonly RequestBucket[]): Promise<void>;
  /**
   * Sums over [fromMs, toMs): the whole hours inside from the hours, the edges from the minutes, so
   * minute-aligned bounds are exact while the minutes are kept; an edge whose minutes were pruned
   * counts from the next whole hour.
   */
  counts(query: RequestQuery): Promise<RequestCounts>;
  /** The buckets in [fromMs, toMs) at one resolution, oldest first (then by environment, service, release). */
  list(query: RequestQuery & { resolution: "minute" | "hour" }): Promise<RequestBucket[]>;
  /** Start of the newest minute recorded for the environment, if any. */
  lastMinute(environment: string): Promise<number | undefined>;
  /** Deletes minutes that start before `minutesBefore` and hours before `hoursBefore`; answers how many rows went. */
  prune(before: { minutesBefore: number; hoursBefore: number }): Promise<{ minutes: number; hours: number }>;
}

export interface Store {
  readonly kind: "sqlite" | "postgres";
  readonly releases: ReleaseRepo;
  readonly events: EventLog;
  readonly live: LiveTable;
  readonly locks: LockTable;
  readonly artifacts: ArtifactIndex;
  /** Requests per minute and hour, per service, environment and release. */
  readonly requests: RequestHistory;
  readonly checks: CheckRepo;
  /** The alert manager's alerts, groups, silences and delivery log. */
  readonly alerts: AlertRepo;
  /** Incidents, each whole; written with the events of each change. */
  readonly incidents: IncidentRepo;
  /** Measured usage of instances (CPU time, resident memory, reservations) per 5 minutes, for cost. */
  readonly usage: UsageRepo;
  /** API tokens, by the hash of their secret. */
  readonly tokens: TokenRepo;
  /** The learning log: dated entries from incidents, drills and people. */
  readonly learnings: LearningRepo;
  /** Post-mortems' action items, tracked until closed. */
  readonly actions: ActionRepo;
  /** Each incident's post-mortem draft, with the hash of the file as written. */
  readonly postmortems: PostmortemRepo;
  /** Runbook runs, each whole (steps, output, approval, verification); written with the events of each change. */
  readonly runbookRuns: RunbookRunRepo;
  /** Drill runs, each whole, with their timings and pass rules' results. */
  readonly drills: DrillRepo;
  /** Config snapshots by hash and the engine's named values (the applied revision), so every engine on the database has them. */
  readonly state: StateRepo;
  /** Chunked blobs: the `postgres` artifact store. */
  readonly blobs: BlobRepo;
  /** The control plane's leader lease (PostgreSQL: several engines, one leads; its term fences every write). */
  readonly leader: LeaderLease;
  /** Brings the schema up to date with the numbered migrations; idempotent. */
  migrate(): Promise<void>;
  close(): Promise<void>;
}
