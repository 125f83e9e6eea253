import { MetricsWindow, ProxyMetricSource } from "../metrics/index.js";
/**
 * Helpers for the deploy domain's unit tests: a driver for the ManualClock, a bounded poll, small
 * HTTP servers, a tiny instance app written to a temp folder, and the real parts a Supervisor or a
 * Deployer runs on (SQLite in memory, the local runtime, the artifact store). Loopback only; every
 * wait is bounded in real time.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ArtifactStore } from "../artifact/index.js";
import { serviceSchema, type ServiceConfig } from "../config/index.js";
import { ManualClock, silentLogger } from "../core/index.js";
import type { SwitchResult, Upstream } from "../proxy/index.js";
import { LocalRuntime, type InstanceInfo } from "../runtime/index.js";
import { SqliteStore, type EngineEvent } from "../store/index.js";
import { Deployer, type ConfigSnapshots } from "./deployer.js";
import { Supervisor } from "./instances.js";
import { probe } from "./probe.js";
import type { RouteOptions, TrafficControl } from "./types.js";

const realPause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Awaits `work` while moving `clock` forward `stepMs` at a time, a real millisecond or two apart, so
 * that code sleeping on the clock between real I/O (health probes, backoffs) gets on without a test
 * sleeping through the clock's intervals. The clock moves only while something sleeps on it, so real
 * I/O in between (a probe waiting for its timeout) does not eat clock time. Fails after `timeoutMs`
 * of real time.
 */
export async function drive<T>(clock: ManualClock, work: Promise<T>, { stepMs = 50, timeoutMs = 10_000 } = {}): Promise<T> {
  let settled = false;
  const watched = work.finally(() => (settled = true));
  watched.catch(() => {});
  const deadline = Date.now() + timeoutMs;
  while (!settled) {
    if (Date.now() > deadline) throw new Error(`still pending after ${timeoutMs}ms of real time`);
    if (clock.pendingSleepers > 0) await clock.advance(stepMs);
    await realPause(2);
  }
  return watched;
}

/** Polls `check` every 10 ms of real time until it gives something truthy; fails after `timeoutMs`. */
export async function until<T>(check: () => T | Promise<T>, what: string, timeoutMs = 5_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await realPause(10);
  }
}

/** The error `promise` rejects with; fails the test if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string; details?: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
}

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

export interface TestServer {
  host: string;
  port: number;
  /** Every request received, in order, with its body. */
  seen: SeenRequest[];
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1:0 whose answers `handler` writes; the request body is read first. */
export async function startServer(handler: (res: ServerResponse, req: SeenRequest) => void): Promise<TestServer> {
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => {
      const request = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body };
      seen.push(request);
      handler(res, request);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    host: "127.0.0.1",
    port: (server.address() as AddressInfo).port,
    seen,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A loopback port nothing listens on (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const server = await startServer(() => {});
  await server.close();
  return server.port;
}

/** Makes an instance of the test app exit with code 7 on its own. */
export async function crash(instance: { host: string; port: number }): Promise<void> {
  await probe({ host: instance.host, port: instance.port, path: "/crash", timeoutMs: 500 });
}

/** What an instance of the test app does: its version, its health status, and whether it dies at start. */
export interface AppBehaviour {
  version: string;
  health?: number;
  exitAtStart?: boolean;
}

/**
 * Writes the test app into `<dir>/<version>/`: it listens on $PORT, answers `GET /health` with
 * `health` (503 once `/sick` was asked), `/crash` by exiting with code 7, anything else
 * `hello <version>` with `x-version`.
 */
export function writeApp(dir: string, behaviour: AppBehaviour): string {
  const folder = join(dir, `app-${behaviour.version}-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(folder, { recursive: true });
  writeFileSync(
    join(folder, "server.cjs"),
    `const b = ${JSON.stringify(behaviour)};
if (b.exitAtStart) { console.error("cannot start " + b.version); process.exit(3); }
require("node:http").createServer((req, res) => {
  if (req.url === "/crash") { console.error(b.version + " crashing"); process.exit(7); }
  if (req.url === "/sick") { b.health = 503; res.writeHead(200); return res.end("sick now"); }
  if (req.url === "/health") { res.writeHead(b.health || 200); return res.end("health"); }
  res.writeHead(200, { "x-version": b.version }); res.end("hello " + b.version);
}).listen(Number(process.env.PORT), "127.0.0.1", () => console.log(b.version + " listening"));
`,
  );
  return folder;
}

export interface ServiceOverrides {
  instances?: number;
  health?: Partial<ServiceConfig["health"]>;
  release?: Partial<ServiceConfig["release"]>;
  restart?: Partial<ServiceConfig["restart"]>;
  smoke?: unknown[];
}

/** A service running the test app, with quick probes and budgets measured on the ManualClock. */
export function testService(overrides: ServiceOverrides = {}): ServiceConfig {
  return serviceSchema.parse({
    run: "node server.cjs",
    instances: overrides.instances ?? 2,
    // Live health probes every interval of the clock, which a test drives fast: 500ms keeps their load low.
    health: { path: "/health", interval: 500, timeout: 1000, healthy_threshold: 2, start_timeout: 60_000, ...overrides.health },
    release: { watch: 300_000, drain_timeout: 5_000, stop_grace: 2_000, ...overrides.release },
    restart: { max_restarts: 5, window: 60_000, backoff: 1_000, max_backoff: 30_000, ...overrides.restart },
    smoke: overrides.smoke ?? [],
  });
}

/** A recording fake of the proxy as the deploy domain sees it: remembers every route() call. */
export class RecordingTraffic implements TrafficControl {
  readonly routes: { service: string; releaseId: string; upstreams: Upstream[]; fallback?: Upstream[] }[] = [];
  /** In-flight counts the fake reports per release (0 when unset). */
  readonly inFlightCounts = new Map<string, number>();

  async route(service: string, releaseId: string, upstreams: Upstream[], options?: RouteOptions): Promise<SwitchResult> {
    this.routes.push({ service, releaseId, upstreams, ...(options?.fallback ? { fallback: options.fallback } : {}) });
    return { version: this.routes.length, ackMs: 0 };
  }

  /** Services whose routes were taken out. */
  readonly unrouted: string[] = [];

  async unroute(service: string): Promise<SwitchResult> {
    this.unrouted.push(service);
    return { version: this.routes.length + this.unrouted.length, ackMs: 0 };
  }

  async inFlight(releaseId: string): Promise<number> {
    return this.inFlightCounts.get(releaseId) ?? 0;
  }
}

class MemoryConfigSnapshots implements ConfigSnapshots {
  #saved = new Map<string, ServiceConfig>();
  async save(hash: string, service: ServiceConfig): Promise<void> {
    this.#saved.set(hash, service);
  }
  async load(hash: string): Promise<ServiceConfig | undefined> {
    return this.#saved.get(hash);
  }
}

/** The real parts a Supervisor runs on: a ManualClock, SQLite in memory, the local runtime in a temp folder. */
export class SupervisorRig {
  readonly dir = mkdtempSync(join(tmpdir(), "engineroom-deploy-"));
  readonly clock = new ManualClock();
  readonly store = new SqliteStore({ path: ":memory:", clock: this.clock });
  readonly runtime = new LocalRuntime({ logDir: join(this.dir, "logs") });
  /** Release ids the supervisor said had new upstreams, in order. */
  readonly upstreamChanges: string[] = [];
  /** [releaseId, instanceId] of every instance the supervisor gave up on, in order. */
  readonly gaveUp: [string, string][] = [];
  supervisor = this.newSupervisor();

  /** A supervisor over this rig's runtime and store (a second one stands for a restarted engine). */
  newSupervisor(environment = "production"): Supervisor {
    return new Supervisor({
      runtime: this.runtime,
      events: this.store.events,
      clock: this.clock,
      logger: silentLogger,
      environment,
      onUpstreamsChanged: (releaseId) => this.upstreamChanges.push(releaseId),
      onGaveUp: (releaseId, instanceId) => this.onGaveUp(releaseId, instanceId),
    });
  }

  protected onGaveUp(releaseId: string, instanceId: string): void {
    this.gaveUp.push([releaseId, instanceId]);
  }

  /** Events of this type, oldest first. */
  events(type: string): Promise<EngineEvent[]> {
    return this.store.events.list({ types: [type] });
  }

  async close(): Promise<void> {
    await this.supervisor.stopAll(500);
    await this.runtime.stopAll(500);
    await this.store.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A SupervisorRig with a Deployer of service `web` on top, routing through a RecordingTraffic. */
export class DeployerRig extends SupervisorRig {
  readonly traffic = new RecordingTraffic();
  readonly artifacts = new ArtifactStore({ dir: join(this.dir, "artifacts") });
  readonly configs = new MemoryConfigSnapshots();
  deployer: Deployer;

  constructor(
    readonly service: ServiceConfig,
    readonly requireApproval = false,
  ) {
    super();
    this.deployer = this.newDeployer();
  }

  /**
   * Stands for an engine killed with SIGKILL and started again, while its instances run on (as the
   * data plane does): the old supervisor lets go of them without stopping anything, a new supervisor
   * and deployer take over, and the running instances are what `Runtime.adopt()` would hand the new
   * engine. The old deployer's watch windows end as the process would.
   */
  async restartEngine(): Promise<InstanceInfo[]> {
    this.supervisor.detach();
    await this.deployer.close();
    this.supervisor = this.newSupervisor();
    this.deployer = this.newDeployer();
    return this.runtime.list().filter((i) => i.status === "running");
  }

  /** A deployer over this rig's parts and its current supervisor (or another environment's). */
  newDeployer(options: { environment?: string; supervisor?: Supervisor; requireApproval?: boolean } = {}): Deployer {
    return new Deployer({
      environment: options.environment ?? "production",
      requireApproval: options.requireApproval ?? this.requireApproval,
      store: this.store,
      runtime: this.runtime,
      supervisor: options.supervisor ?? this.supervisor,
      traffic: this.traffic,
      artifacts: this.artifacts,
      configs: this.configs,
      clock: this.clock,
      logger: silentLogger,
      services: () => ({ web: this.service }),
      projectDir: this.dir,
      resolveEnv: async (env) => plainEnv(env),
      // No proxy in this rig: the built-in source over an empty window, so verdicts are inconclusive.
      metricSource: () => new ProxyMetricSource(new MetricsWindow({ clock: this.clock })),
    });
  }

  /** Wired as the engine wires it: the deployer decides what a given-up instance means. */
  protected override onGaveUp(releaseId: string, instanceId: string): void {
    super.onGaveUp(releaseId, instanceId);
    this.deployer.handleGaveUp(releaseId, instanceId);
  }

  /** Makes an artifact folder of the test app. */
  app(behaviour: AppBehaviour): string {
    return writeApp(this.dir, behaviour);
  }

  override async close(): Promise<void> {
    // A drain left waiting by a failed test would hold close() for good: let it end.
    this.traffic.inFlightCounts.clear();
    await drive(this.clock, this.deployer.close()).catch(() => {});
    await super.close();
  }
}

/** Opens a rig's store; call before use. */
export async function ready<R extends SupervisorRig>(rig: R): Promise<R> {
  await rig.store.migrate();
  return rig;
}

/** Tests' env resolution: plain values only (the engine resolves secret references with the secrets adapter). */
function plainEnv(env: Readonly<Record<string, string | { secret: string }>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).map(([name, value]) => {
      if (typeof value !== "string") throw new Error(`test rig cannot resolve secret ${value.secret}`);
      return [name, value];
    }),
  );
}
