import type { ServiceConfig } from "../config/index.js";
import type { Clock, Logger } from "../core/index.js";
import type { MetricSource } from "../metrics/index.js";
import type { HostLeftOut, Upstream, SwitchResult } from "../proxy/index.js";
import type { Runtime } from "../runtime/index.js";
import type { Release, Store } from "../store/index.js";
import type { Supervisor } from "./instances.js";
import type { WriterLock } from "./locks.js";

export interface RouteOptions {
  /** The warm previous release's upstreams, kept through a watch window: the proxy retries a request there once when the new release's instance refused or reset it. */
  fallback?: Upstream[];
  /** The release `fallback` belongs to, so that a change of its upstreams (a crash, a restart) can refresh the fallback too. */
  fallbackReleaseId?: string;
}

/** What the deploy domain needs from the data plane. The engine implements it over the proxy. */
export interface TrafficControl {
  /** Points the service's routes at `releaseId`'s upstreams. Resolves when every proxy worker acknowledged. */
  route(service: string, releaseId: string, upstreams: Upstream[], options?: RouteOptions): Promise<SwitchResult>;
  /** Takes the service's routes out of the table (the service is no longer declared). */
  unroute(service: string): Promise<SwitchResult>;
  /** Requests in flight to the release, summed over proxy workers. */
  inFlight(releaseId: string): Promise<number>;
}

/** What the deploy domain needs from the content-addressed artifact store. */
export interface Artifacts {
  add(source: string): Promise<{ digest: string; path: string; sizeBytes: number; fileCount: number; existed: boolean }>;
  path(digest: string): string;
  /** The artifact's folder, fetched first from a shared artifact store when it is not on this machine (verified by digest). */
  local?(digest: string): Promise<string>;
  /** True when the artifact is here or in a shared artifact store. */
  has(digest: string): Promise<boolean> | boolean;
  remove(digest: string): Promise<unknown>;
}

/** A step of a deploy or rollback, as the CLI shows it. */
export interface Progress {
  step: string;
  message: string;
  releaseId?: string;
  data?: Record<string, unknown>;
}

export type ProgressListener = (progress: Progress) => void;

/** Keeps the resolved config of each release, so a cold rollback runs a release with its own config. */
export interface ConfigSnapshots {
  save(hash: string, service: ServiceConfig): Promise<void>;
  load(hash: string): Promise<ServiceConfig | undefined>;
}

export interface DeployerOptions {
  environment: string;
  store: Store;
  runtime: Runtime;
  supervisor: Supervisor;
  traffic: TrafficControl;
  artifacts: Artifacts;
  configs: ConfigSnapshots;
  clock: Clock;
  logger: Logger;
  /** The services as the project declares them now. */
  services: () => Readonly<Record<string, ServiceConfig>>;
  /** Folder that relative artifact paths are resolved against. */
  projectDir: string;
  /** Turns a service's `env` (plain values and secret references) into the values an instance gets. */
  resolveEnv: (env: ServiceConfig["env"]) => Promise<Record<string, string>>;
  /** The environment's writer lock, shared with whatever else writes there (apply). Default: a lock of its own. */
  lock?: WriterLock;
  /** Where a service's request metrics come from (the proxy's, or Prometheus), for release analysis. */
  metricSource: (service: ServiceConfig) => MetricSource;
  /** Verified releases wait for `approve()` before their switch. */
  requireApproval?: boolean;
}

export interface RunOptions {
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  /** Who asked, for the event log, e.g. "cli". */
  actor?: string;
}

export interface RollbackOptions extends RunOptions {
  /** Why, for the record (default: "rolled back to vN by <actor>"). */
  reason?: string;
  /** What the decision rests on (an analysis verdict), kept with the rolled-back release's event. */
  evidence?: Record<string, unknown>;
  /** Only if this release is still the live one (an automatic rollback must not hit its successor). */
  expectLive?: string;
  /** The engine's own rollback: waits for a running deploy instead of being refused. */
  internal?: boolean;
}

export interface DeployResult {
  release: Release;
  previousReleaseId: string | null;
  /** From the switch decision to the route recorded in the store. */
  switchMs: number;
  /** From the switch decision to the last proxy worker's acknowledgement of the new route table. */
  ackMs: number;
  totalMs: number;
  /** The release is verified and waits for `approve()`; it has no traffic yet. */
  awaitingApproval?: boolean;
  /** On a fleet with `min_hosts`: the hosts the release went live without (they get none of its traffic), and why. */
  hostsLeftOut?: HostLeftOut[];
}

export interface RollbackResult {
  from: Release;
  to: Release;
  /** True when the target was still running, so the switch needed no start. */
  warm: boolean;
  switchMs: number;
  ackMs: number;
  totalMs: number;
}

