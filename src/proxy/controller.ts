/**
 * The proxy's control side, in the engine process: forks the workers (node:cluster), hands them
 * route tables and waits for their acknowledgements, asks them questions, gathers their metrics,
 * and re-forks a worker that crashes. Only this file touches node:cluster.
 */
import cluster, { type Worker } from "node:cluster";
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { EngineError, silentLogger, type Logger } from "../core/index.js";
import { formatAuthority, parseListen } from "./address.js";
import { isFromWorker, workerConfigEnv, type FromWorker, type ToWorker, type WorkerConfig } from "./messages.js";
import { mergeBuckets } from "./metrics.js";
import type { MetricsBucket, Proxy, ProxyOptions, Route, SwitchResult } from "./types.js";

// The worker sits beside this file with the same extension: .ts under tsx (forked workers inherit
// execArgv, so `--import tsx` with them), .js in the compiled dist/.
const here = fileURLToPath(import.meta.url);
const workerFile = join(dirname(here), `worker${extname(here)}`);

/**
 * The engine's node flags, for the workers: loaders (`--import tsx`) and limits carry over, but not
 * flags that would run something else or clash: an -e/-p script, the test runner, watch mode, or an
 * inspector port the engine already holds.
 */
export function workerExecArgv(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    if (arg === "-e" || arg === "--eval" || arg === "-p" || arg === "--print" || arg === "--input-type") i++; // and its value
    else if (!/^(--eval=|--print=|--input-type=|--test|--watch|--inspect|--debug)/.test(arg)) out.push(arg);
  }
  return out;
}

interface Slot {
  worker: Worker;
  forkedAt: number;
  hello: boolean;
  listening: boolean;
  port: number;
  listenError: string | undefined;
  ackedVersion: number;
}

interface InFlightQuery {
  waiting: Set<Slot>;
  count: number;
}

/** Batches of worker metrics that arrive within this window are summed before listeners see them. */
const metricsWindowMs = 100;

/** Implements Proxy with cluster workers; create it through createProxy(). */
export class ProxyController implements Proxy {
  readonly #listen: string;
  readonly #workerCount: number;
  readonly #upstreamTimeoutMs: number;
  readonly #switchTimeoutMs: number;
  readonly #logger: Logger;
  #address: { host: string; port: number } | undefined;
  #state: "idle" | "starting" | "running" | "stopping" | "stopped" = "idle";
  #slots = new Set<Slot>();
  #version = 0;
  #routes: Route[] = [];
  /** Re-evaluated after every worker message and exit; each resolves its own promise when satisfied. */
  #checks = new Set<() => void>();
  #queries = new Map<number, InFlightQuery>();
  #nextQuery = 0;
  #metricListeners = new Set<(buckets: MetricsBucket[]) => void>();
  #pendingMetrics = new Map<string, MetricsBucket>();
  #metricsTimer: NodeJS.Timeout | undefined;
  #crashes = 0;

  constructor(options: ProxyOptions & { logger?: Logger }) {
    this.#listen = options.listen;
    this.#workerCount = Math.max(1, options.workers ?? 1);
    this.#upstreamTimeoutMs = options.upstreamTimeoutMs ?? 60_000;
    this.#switchTimeoutMs = options.switchTimeoutMs ?? 5_000;
    this.#logger = (options.logger ?? silentLogger).child({ component: "proxy" });
  }

  async start(): Promise<{ host: string; port: number }> {
    if (this.#state !== "idle") throw new EngineError("INTERNAL", "The proxy was already started.");
    const address = parseListen(this.#listen);
    if (!address) throw new EngineError("CONFIG_INVALID", `The proxy address "${this.#listen}" is not host:port.`);
    this.#address = address;
    this.#state = "starting";
    cluster.setupPrimary({ exec: workerFile, args: [], execArgv: workerExecArgv(process.execArgv) });
    const slots = Array.from({ length: this.#workerCount }, () => this.#fork());
    const failure = () => slots.find((s) => s.listenError !== undefined || (!s.listening && !this.#slots.has(s)));
    await this.#until(() => failure() !== undefined || slots.every((s) => s.listening), 30_000).catch(() => {});
    const failed = failure();
    if (failed || !slots.every((s) => s.listening)) {
      const reason = failed?.listenError ?? (failed ? "a worker exited before it listened" : "the workers did not start in 30 s");
      await this.#kill();
      this.#state = "stopped";
      throw new EngineError("PROXY_LISTEN_FAILED", `The proxy could not listen on ${this.#listen}: ${reason}.`, {
        details: { listen: this.#listen },
      });
    }
    // Port 0: cluster's primary binds once and every worker shares that port.
    address.port = slots[0]!.port;
    if (slots.some((s) => s.port !== address.port)) this.#logger.warn("proxy workers listen on different ports", { ports: slots.map((s) => s.port) });
    this.#state = "running";
    this.#logger.info("proxy listening", { address: formatAuthority(address.host, address.port), workers: slots.length });
    return { ...address };
  }

  async apply(routes: Route[]): Promise<SwitchResult> {
    const started = performance.now();
    const version = ++this.#version;
    this.#routes = routes;
    for (const slot of this.#slots) if (slot.hello) this.#send(slot, { type: "routes", version, routes });
    const acked = () => [...this.#slots].every((s) => s.ackedVersion >= version);
    try {
      await this.#until(acked, this.#switchTimeoutMs);
      if (this.#state === "stopping" || this.#state === "stopped") throw new Error("the proxy is stopping");
    } catch (error) {
      const pending = [...this.#slots].filter((s) => s.ackedVersion < version).map((s) => s.worker.process.pid);
      throw new EngineError("DEPLOY_SWITCH_FAILED", `Proxy workers did not acknowledge route table ${version}: ${(error as Error).message}.`, {
        details: { version, pendingWorkerPids: pending },
      });
    }
    return { version, ackMs: Math.round((performance.now() - started) * 100) / 100 };
  }

  async inFlight(releaseId: string): Promise<number> {
    const id = ++this.#nextQuery;
    const query: InFlightQuery = { waiting: new Set([...this.#slots].filter((s) => s.hello)), count: 0 };
    this.#queries.set(id, query);
    for (const slot of query.waiting) this.#send(slot, { type: "inflight", id, releaseId });
    try {
      await this.#until(() => query.waiting.size === 0, 2_000);
    } catch {
      throw new EngineError("INTERNAL", `${query.waiting.size} proxy worker(s) did not answer how many requests are in flight.`);
    } finally {
      this.#queries.delete(id);
    }
    return query.count;
  }

  routes(): Route[] {
    return this.#routes;
  }

  listener(): undefined {
    return undefined;
  }

  onMetrics(listener: (buckets: MetricsBucket[]) => void): () => void {
    this.#metricListeners.add(listener);
    return () => void this.#metricListeners.delete(listener);
  }

  async stop(graceMs = 10_000): Promise<void> {
    if (this.#state === "idle" || this.#state === "stopped") return;
    this.#state = "stopping";
    for (const slot of this.#slots) this.#send(slot, { type: "stop", graceMs });
    // Workers exit on their own after the grace; the margin covers a worker too busy to notice.
    await this.#until(() => this.#slots.size === 0, graceMs + 3_000).catch(() => this.#kill());
    this.#state = "stopped";
    this.#emitMetrics();
  }

  #fork(): Slot {
    const config: WorkerConfig = { host: this.#address!.host, port: this.#address!.port, upstreamTimeoutMs: this.#upstreamTimeoutMs };
    const worker = cluster.fork({ [workerConfigEnv]: JSON.stringify(config) });
    const slot: Slot = { worker, forkedAt: Date.now(), hello: false, listening: false, port: 0, listenError: undefined, ackedVersion: -1 };
    this.#slots.add(slot);
    worker.on("message", (message: unknown) => {
      if (isFromWorker(message)) this.#onMessage(slot, message);
      this.#recheck();
    });
    worker.on("error", (error) => this.#logger.warn("proxy worker IPC error", { error: error.message }));
    worker.on("exit", (code, signal) => this.#onExit(slot, code, signal));
    return slot;
  }

  #onMessage(slot: Slot, message: FromWorker): void {
    switch (message.type) {
      case "hello":
        slot.hello = true;
        this.#send(slot, { type: "routes", version: this.#version, routes: this.#routes });
        break;
      case "ack":
        slot.ackedVersion = Math.max(slot.ackedVersion, message.version);
        break;
      case "listening":
        slot.listening = true;
        slot.port = message.port;
        break;
      case "listen-error":
        slot.listenError = `${message.code} (${message.message})`;
        if (this.#state === "running") this.#logger.error("a restarted proxy worker could not listen", { error: slot.listenError });
        break;
      case "inflight": {
        const query = this.#queries.get(message.id);
        if (query?.waiting.delete(slot)) query.count += message.count;
        break;
      }
      case "metrics":
        mergeBuckets(this.#pendingMetrics, message.buckets);
        this.#metricsTimer ??= setTimeout(() => this.#emitMetrics(), metricsWindowMs);
        break;
      case "log":
        this.#logger[message.level](message.message, { ...message.fields, pid: slot.worker.process.pid });
        break;
    }
  }

  #onExit(slot: Slot, code: number | null, signal: string | null): void {
    this.#slots.delete(slot);
    for (const query of this.#queries.values()) query.waiting.delete(slot); // its requests died with it
    this.#recheck();
    if (this.#state !== "running") return;
    // A worker that crashes right after starting would otherwise be re-forked in a tight loop.
    this.#crashes = Date.now() - slot.forkedAt < 10_000 ? this.#crashes + 1 : 0;
    const delay = Math.min(5_000, 50 * 2 ** this.#crashes);
    this.#logger.warn("proxy worker exited; starting another", { pid: slot.worker.process.pid, code, signal, delayMs: delay });
    setTimeout(() => {
      if (this.#state === "running") this.#fork();
    }, delay).unref();
  }

  #send(slot: Slot, message: ToWorker): void {
    try {
      if (slot.worker.isConnected()) slot.worker.send(message);
    } catch {
      // The worker is exiting; its exit event updates every wait.
    }
  }

  #emitMetrics(): void {
    clearTimeout(this.#metricsTimer);
    this.#metricsTimer = undefined;
    if (this.#pendingMetrics.size === 0) return;
    const buckets = [...this.#pendingMetrics.values()].sort((a, b) => a.time - b.time);
    this.#pendingMetrics.clear();
    for (const listener of this.#metricListeners) {
      try {
        listener(buckets);
      } catch (error) {
        this.#logger.error("a proxy metrics listener threw", { error: (error as Error).message });
      }
    }
  }

  /** Resolves when `done()` holds (checked after every worker event), rejects after `timeoutMs`. */
  #until(done: () => boolean, timeoutMs: number): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!done()) return;
        this.#checks.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#checks.delete(check);
        reject(new Error(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#checks.add(check);
    });
  }

  #recheck(): void {
    for (const check of [...this.#checks]) check();
  }

  async #kill(): Promise<void> {
    for (const slot of this.#slots) slot.worker.process.kill("SIGKILL");
    await this.#until(() => this.#slots.size === 0, 5_000).catch(() => {});
  }
}
