/**
 * The data-plane process's state: one proxy per environment, the route tables persisted before every
 * switch, recent metric buckets kept for an engine that attaches later, and the control socket's
 * request handling. It never depends on an engine being connected: it serves its last tables.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Server } from "node:net";
import { EngineError, formatAddress, toEngineError, type Logger } from "../core/index.js";
import { createProxy, type MetricsBucket, type Proxy, type Route, type SwitchResult } from "../proxy/index.js";
import { dataPlanePaths, type ProxyRecord, type ProxySettings } from "./protocol.js";

/** The name of a route-table generation file (see DataPlaneHost's #persist). */
const generationFile = /^proxies\.[0-9a-f]+-\d+\.json$/;

/** At most this many metric batches are kept for an engine that attaches later (about 15 minutes of traffic). */
const historyLimit = 900 * 4;

interface Running {
  record: ProxyRecord;
  proxy: Proxy;
  unsubscribe: () => void;
}

export interface HostOptions {
  stateDir: string;
  logger: Logger;
}

/** A batch of metric buckets as the data plane numbered it. */
export interface NumberedBatch {
  seq: number;
  buckets: MetricsBucket[];
}

export class DataPlaneHost {
  readonly bootId = randomBytes(6).toString("hex");
  readonly startedAt = new Date().toISOString();
  readonly #paths: ReturnType<typeof dataPlanePaths>;
  readonly #logger: Logger;
  readonly #proxies = new Map<string, Running>();
  readonly #history: NumberedBatch[] = [];
  readonly #metricListeners = new Set<(batch: NumberedBatch) => void>();
  #seq = 0;
  /** Serialises changes of the proxy set. */
  #queue: Promise<unknown> = Promise.resolve();
  /** Generation files of the route tables this process wrote (see #persist). */
  #generation = 0;
  #written: string | undefined;

  constructor(options: HostOptions) {
    this.#paths = dataPlanePaths(options.stateDir);
    this.#logger = options.logger;
    mkdirSync(this.#paths.dir, { recursive: true, mode: 0o700 });
  }

  /** Starts every proxy the state folder records, on the address it had, with its last route table. */
  async restore(listeners: Map<string, Server> = new Map()): Promise<void> {
    this.#removeStaleGenerations();
    for (const record of this.#readRecords()) {
      try {
        await this.#startProxy({ ...record, listen: record.address }, record.routes, listeners.get(record.environment), record.listen);
      } catch (error) {
        this.#logger.error("could not start a recorded proxy again", { environment: record.environment, error: toEngineError(error).message });
      }
    }
  }

  records(): ProxyRecord[] {
    return [...this.#proxies.values()].map((p) => ({ ...p.record, routes: p.proxy.routes() }));
  }

  /** The listening servers by environment, for a successor process. */
  listeners(): Map<string, Server> {
    const out = new Map<string, Server>();
    for (const [environment, running] of this.#proxies) {
      const server = running.proxy.listener();
      if (server) out.set(environment, server);
    }
    return out;
  }

  /** The proxy of an environment, started if it does not run, or moved if its settings changed. */
  ensure(settings: ProxySettings): Promise<ProxyRecord> {
    return this.#serial(async () => {
      const running = this.#proxies.get(settings.environment);
      if (running && sameSettings(running.record, settings)) return { ...running.record, routes: running.proxy.routes() };
      const routes = running?.proxy.routes() ?? [];
      // Same listen, other settings: the new proxy takes the listening socket, so nothing is refused.
      const listener = running && running.record.listen === settings.listen ? running.proxy.listener() : undefined;
      const listen = running && running.record.listen === settings.listen ? running.record.address : settings.listen;
      const record = await this.#startProxy({ ...settings, listen }, routes, listener, settings.listen);
      if (running) await this.#stopProxy(running, 10_000);
      this.#persist();
      return record;
    });
  }

  /**
   * Switches to the table and persists it while the workers take it; resolves once every worker
   * acknowledged it, and it is written by then, so an engine that got the answer knows a data plane
   * killed and restarted comes back with this table.
   *
   * The write is synchronous on purpose: `proxy.apply` has put the table on every worker's control
   * pipe before it returns, so the write overlaps the workers' acknowledgements, and a small file
   * goes to the page cache in well under a millisecond. Written through the thread pool (open,
   * write, close, rename, each a wake-up of this loop) it took four scheduling hops on a loaded
   * machine, and the answer waited for the slowest of them.
   */
  apply(environment: string, routes: Route[]): Promise<SwitchResult> {
    const running = this.#get(environment);
    running.record.routes = routes;
    const switched = running.proxy.apply(routes);
    try {
      this.#persist();
    } catch (error) {
      switched.catch(() => {}); // the answer is the write's error; the switch goes on
      return Promise.reject(error);
    }
    return switched;
  }

  inFlight(environment: string, releaseId: string): Promise<number> {
    return this.#get(environment).proxy.inFlight(releaseId);
  }

  remove(environment: string, graceMs: number): Promise<void> {
    return this.#serial(async () => {
      const running = this.#proxies.get(environment);
      if (!running) return;
      this.#proxies.delete(environment);
      this.#persist();
      await this.#stopProxy(running, graceMs);
    });
  }

  /** Metric batches after `afterSeq` of this boot (all of them for another boot), and every later one. */
  subscribe(listener: (batch: NumberedBatch) => void, from: { bootId?: string; afterSeq?: number } = {}): () => void {
    const after = from.bootId === this.bootId ? (from.afterSeq ?? 0) : 0;
    for (const batch of this.#history) if (batch.seq > after) listener(batch);
    this.#metricListeners.add(listener);
    return () => void this.#metricListeners.delete(listener);
  }

  /** Every batch kept, for a successor process. */
  history(): MetricsBucket[][] {
    return this.#history.map((b) => b.buckets);
  }

  /** Takes a predecessor's metric history, numbered in this boot. */
  addHistory(batches: MetricsBucket[][]): void {
    for (const buckets of batches) this.#record(buckets);
  }

  /** Stops every proxy, letting in-flight requests finish up to `graceMs`. With `forget`, the records are removed too (`engineroom down`). */
  stopAll(graceMs: number, options: { forget?: boolean } = {}): Promise<void> {
    return this.#serial(async () => {
      const all = [...this.#proxies.values()];
      this.#proxies.clear();
      if (options.forget) this.#persist();
      await Promise.all(all.map((running) => this.#stopProxy(running, graceMs)));
    });
  }

  async #startProxy(settings: ProxySettings, routes: Route[], listener: Server | undefined, configuredListen: string): Promise<ProxyRecord> {
    const logger = this.#logger.child({ environment: settings.environment });
    const proxy = createProxy({ listen: settings.listen, workers: settings.workers, upstreamTimeoutMs: settings.upstreamTimeoutMs, listener, logger });
    // The table first: a worker takes connections only once it has the latest table.
    await proxy.apply(routes);
    const address = await proxy.start();
    const unsubscribe = proxy.onMetrics((buckets) => this.#record(buckets));
    const record: ProxyRecord = {
      environment: settings.environment,
      listen: configuredListen,
      workers: settings.workers,
      upstreamTimeoutMs: settings.upstreamTimeoutMs,
      address: formatAddress(address.host, address.port),
      routes,
    };
    this.#proxies.set(settings.environment, { record, proxy, unsubscribe });
    logger.info("proxy serving", { address: record.address, routes: routes.length, handedOver: listener !== undefined });
    return { ...record };
  }

  async #stopProxy(running: Running, graceMs: number): Promise<void> {
    await running.proxy.stop(graceMs).catch((error) => this.#logger.warn("proxy stop failed", { error: String(error) }));
    running.unsubscribe();
  }

  #record(buckets: MetricsBucket[]): void {
    const batch = { seq: ++this.#seq, buckets };
    this.#history.push(batch);
    if (this.#history.length > historyLimit) this.#history.splice(0, this.#history.length - historyLimit);
    for (const listener of this.#metricListeners) listener(batch);
  }

  #get(environment: string): Running {
    const running = this.#proxies.get(environment);
    if (!running) throw new EngineError("DATAPLANE_UNAVAILABLE", `The data plane runs no proxy for ${environment}.`, { hint: "The engine sets it up at start; restart the engine." });
    return running;
  }

  #readRecords(): ProxyRecord[] {
    try {
      const parsed = JSON.parse(readFileSync(this.#paths.proxies, "utf8")) as { proxies?: ProxyRecord[] };
      return Array.isArray(parsed.proxies) ? parsed.proxies : [];
    } catch {
      return [];
    }
  }

  /**
   * Writes the records as they are now, so that a crash leaves the old tables or the new ones, never
   * half; being synchronous, writes land in the order of the changes. `proxies.json` is a symlink to
   * the generation file in force: each write creates a new file (`proxies.<boot>-<n>.json`), points a
   * new symlink at it, renames that over `proxies.json`, and removes the generation before. Readers
   * (this build's and others', in a handover either way) just read `proxies.json`.
   *
   * Why not write a temporary file and rename it over `proxies.json`: on ext4 a rename that replaces
   * a file flushes the new file's data first (auto_da_alloc), which took 3 to 20 ms at p99 on a busy
   * shared disk, inside every switch's answer. Renaming a symlink has no data to flush, and creating a
   * file is not flushed: the whole write is about 0.2 ms (p99 1 to 2 ms on the same disk).
   *
   * Not fsynced: the table is in the kernel's page cache when this returns, which a data plane that is
   * killed or crashes (what the file is for) finds again. A power loss or a kernel crash may lose it,
   * and then every instance and proxy is gone too: the engine's store is the source of truth, and a
   * starting engine sets the proxies up and routes each environment's live release again.
   */
  #persist(): void {
    const text = JSON.stringify({ proxies: [...this.#proxies.values()].map((p) => p.record) }) + "\n";
    // The boot id, not the pid: a pid comes back after a reboot, maybe that of the generation in force.
    const generation = `proxies.${this.bootId}-${++this.#generation}.json`;
    const link = `${this.#paths.proxies}.${this.bootId}.link`;
    const before = this.#written ?? this.#linkTarget();
    try {
      writeFileSync(join(this.#paths.dir, generation), text, { mode: 0o600, flag: "wx" });
      rmSync(link, { force: true });
      symlinkSync(generation, link);
      renameSync(link, this.#paths.proxies);
    } catch (error) {
      this.#logger.error("could not persist the route tables", { error: String(error) });
      throw error;
    }
    if (before && generationFile.test(before)) rmSync(join(this.#paths.dir, before), { force: true });
    this.#written = generation;
  }

  /** The generation file `proxies.json` points at; undefined when there is none yet or it is a plain file (an earlier build's). */
  #linkTarget(): string | undefined {
    try {
      return readlinkSync(this.#paths.proxies);
    } catch {
      return undefined;
    }
  }

  /** Generation files no symlink points at (a crash between writing one and pointing at it, or a predecessor's). */
  #removeStaleGenerations(): void {
    const current = this.#linkTarget();
    for (const name of readdirSync(this.#paths.dir)) {
      if (generationFile.test(name) && name !== current) rmSync(join(this.#paths.dir, name), { force: true });
    }
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(work, work);
    this.#queue = next.catch(() => {});
    return next;
  }
}

function sameSettings(a: ProxySettings, b: ProxySettings): boolean {
  return a.listen === b.listen && a.workers === b.workers && a.upstreamTimeoutMs === b.upstreamTimeoutMs;
}
