/**
 * The proxy's control side, in the process that owns the proxy (the engine, or the data-plane
 * process): it owns the listening socket and accepts every connection itself (paused), hands each to
 * a worker process round robin, sends the workers route tables on their control pipes and waits for
 * the acknowledgements, asks them questions, gathers their metrics, and re-forks a worker that crashes.
 *
 * The listening socket can be handed to a successor (`listener()`, then `ProxyOptions.listener`):
 * both serve until this one stops, which closes the socket only in this process.
 */
import { createServer, type Server, type Socket } from "node:net";
import { EngineError, silentLogger, type Logger } from "../core/index.js";
import { formatAuthority, parseListen } from "./address.js";
import type { FromWorker, WorkerConfig } from "./messages.js";
import { mergeBuckets } from "./metrics.js";
import { tableFrame } from "./shared-table.js";
import type { MetricsBucket, Proxy, ProxyOptions, Route, SwitchResult } from "./types.js";
import { WorkerSlot, type OutgoingTable } from "./worker-slot.js";

export { workerExecArgv } from "./worker-slot.js";

/** Whether a proxy serves through the fast lane when its options do not say: yes, unless ENGINEROOM_PROXY_FAST_LANE=0 (every request through Node's HTTP server and undici). */
export function fastLaneByDefault(): boolean {
  return process.env.ENGINEROOM_PROXY_FAST_LANE !== "0";
}

/** Options of the controller beyond ProxyOptions: for tests and benchmarks. */
export interface ControllerOptions extends ProxyOptions {
  logger?: Logger;
  /** Route tables through each worker's control thread (default) or, false, over the worker's IPC (the old path, a baseline). */
  controlThread?: boolean;
  /** Bytes of each worker's shared table buffer; a bigger table takes the slower posted path. Default 1 MiB. */
  tableBufferBytes?: number;
}

interface InFlightQuery {
  waiting: Set<WorkerSlot>;
  count: number;
}

/** Batches of worker metrics that arrive within this window are summed before listeners see them. */
const metricsWindowMs = 100;
/** Connections accepted while no worker is ready wait here; past this many, new ones are closed. */
const maxQueued = 10_000;

/** Which controller in this process serves a listener handed from one to the next in the same process. */
const owners = new WeakMap<Server, ProxyController>();

/** Implements Proxy with worker processes; create it through createProxy(). */
export class ProxyController implements Proxy {
  readonly #listen: string;
  readonly #workerCount: number;
  readonly #config: WorkerConfig;
  readonly #switchTimeoutMs: number;
  readonly #logger: Logger;
  #server: Server | undefined;
  readonly #handedOver: Server | undefined;
  #state: "idle" | "starting" | "running" | "stopping" | "stopped" = "idle";
  #slots: WorkerSlot[] = [];
  #cursor = 0;
  #queue: Socket[] = [];
  #table: OutgoingTable;
  /** Re-evaluated after every worker message, acknowledgement and exit; each resolves its own promise when satisfied. */
  #checks = new Set<() => void>();
  #queries = new Map<number, InFlightQuery>();
  #nextQuery = 0;
  #metricListeners = new Set<(buckets: MetricsBucket[]) => void>();
  #pendingMetrics = new Map<string, MetricsBucket>();
  #metricsTimer: NodeJS.Timeout | undefined;
  #crashes = 0;
  readonly #onConnection = (socket: Socket) => {
    if (owners.get(this.#server!) === this) this.#accept(socket);
  };

  constructor(options: ControllerOptions) {
    this.#listen = options.listen;
    this.#handedOver = options.listener;
    this.#workerCount = Math.max(1, options.workers ?? 1);
    this.#config = {
      upstreamTimeoutMs: options.upstreamTimeoutMs ?? 60_000,
      controlThread: options.controlThread ?? true,
      tableBufferBytes: options.tableBufferBytes ?? 1 << 20,
      fastLane: options.fastLane ?? fastLaneByDefault(),
    };
    this.#switchTimeoutMs = options.switchTimeoutMs ?? 5_000;
    this.#logger = (options.logger ?? silentLogger).child({ component: "proxy" });
    this.#table = this.#encode(0, []);
  }

  async start(): Promise<{ host: string; port: number }> {
    if (this.#state !== "idle") throw new EngineError("INTERNAL", "The proxy was already started.");
    const parsed = this.#handedOver ? undefined : parseListen(this.#listen);
    if (!this.#handedOver && !parsed) throw new EngineError("CONFIG_INVALID", `The proxy address "${this.#listen}" is not host:port.`);
    this.#state = "starting";
    const address = await this.#bind(parsed).catch(async (error: Error) => {
      this.#state = "stopped";
      throw new EngineError("PROXY_LISTEN_FAILED", `The proxy could not listen on ${this.#listen}: ${error.message}.`, {
        details: { listen: this.#listen },
      });
    });
    const slots = Array.from({ length: this.#workerCount }, () => this.#fork());
    const failed = () => slots.find((s) => s.exited);
    await this.#until(() => failed() !== undefined || slots.every((s) => s.ready), 30_000).catch(() => {});
    if (failed() || !slots.every((s) => s.ready)) {
      const reason = failed() ? "a worker exited before it was ready" : "the workers were not ready within 30 s";
      await this.#kill();
      this.#release();
      this.#state = "stopped";
      throw new EngineError("PROXY_LISTEN_FAILED", `The proxy could not serve on ${this.#listen}: ${reason}.`, { details: { listen: this.#listen } });
    }
    this.#state = "running";
    this.#logger.info("proxy listening", { address: formatAuthority(address.host, address.port), workers: slots.length, handedOver: !!this.#handedOver });
    return address;
  }

  async apply(routes: Route[]): Promise<SwitchResult> {
    const started = performance.now();
    const version = this.#table.version + 1;
    this.#table = this.#encode(version, routes);
    for (const slot of this.#slots) slot.sendTable(this.#table);
    // Workers still starting are not waited for: they serve only once they caught up with the latest table.
    const acked = () => this.#slots.every((s) => !s.caughtUp || s.ackedVersion >= version);
    try {
      await this.#until(acked, this.#switchTimeoutMs);
      if (this.#state === "stopping" || this.#state === "stopped") throw new Error("the proxy is stopping");
    } catch (error) {
      const lagging = this.#slots.filter((s) => s.caughtUp && s.ackedVersion < version);
      // A worker that cannot acknowledge is hung or overloaded: it takes no new connection until it catches up.
      for (const slot of lagging) slot.caughtUp = false;
      if (lagging.length > 0) this.#logger.warn("proxy workers out of rotation until they acknowledge the table", { version, pids: lagging.map((s) => s.pid) });
      const pending = lagging.map((s) => s.pid);
      throw new EngineError("DEPLOY_SWITCH_FAILED", `Proxy workers did not acknowledge route table ${version}: ${(error as Error).message}.`, {
        details: { version, pendingWorkerPids: pending },
      });
    }
    return { version, ackMs: Math.round((performance.now() - started) * 100) / 100 };
  }

  async inFlight(releaseId: string): Promise<number> {
    const id = ++this.#nextQuery;
    const query: InFlightQuery = { waiting: new Set(this.#slots.filter((s) => s.hello)), count: 0 };
    this.#queries.set(id, query);
    for (const slot of query.waiting) slot.send({ type: "inflight", id, releaseId });
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
    return this.#table.routes;
  }

  listener(): Server | undefined {
    return this.#server;
  }

  /** The pids of the worker processes running now, or only of those serving (for tests and benchmarks). */
  workerPids(which: "all" | "serving" = "all"): number[] {
    return this.#slots.filter((s) => !s.exited && s.pid !== undefined && (which === "all" || s.ready)).map((s) => s.pid!);
  }

  onMetrics(listener: (buckets: MetricsBucket[]) => void): () => void {
    this.#metricListeners.add(listener);
    return () => void this.#metricListeners.delete(listener);
  }

  async stop(graceMs = 10_000): Promise<void> {
    if (this.#state === "idle" || this.#state === "stopped") return;
    this.#state = "stopping";
    // Closed in this process only: a successor holding the same socket keeps accepting on it.
    this.#release();
    for (const socket of this.#queue.splice(0)) socket.destroy();
    for (const slot of this.#slots) {
      slot.stopping = true;
      slot.send({ type: "stop", graceMs });
    }
    // Workers exit on their own after the grace; the margin covers a worker too busy to notice.
    await this.#until(() => this.#slots.length === 0, graceMs + 3_000).catch(() => this.#kill());
    this.#state = "stopped";
    this.#emitMetrics();
  }

  /** Listens on `listen`, or takes over the handed-over listener; resolves with the bound address. */
  async #bind(address: { host: string; port: number } | undefined): Promise<{ host: string; port: number }> {
    let server = this.#handedOver;
    if (server) {
      if (!server.listening) throw new Error("the handed-over listener is not listening");
      // Accepted sockets must stay unread here: their first bytes belong to the worker that serves them.
      (server as Server & { pauseOnConnect: boolean }).pauseOnConnect = true;
    } else {
      server = createServer({ pauseOnConnect: true, noDelay: true });
      await new Promise<void>((resolve, reject) => {
        server!.once("error", reject);
        server!.listen({ host: address!.host, port: address!.port }, () => {
          server!.off("error", reject);
          resolve();
        });
      });
    }
    this.#server = server;
    owners.set(server, this);
    server.on("connection", this.#onConnection);
    server.on("error", (error) => this.#logger.error("proxy listener error", { error: error.message }));
    const bound = server.address();
    if (bound === null || typeof bound === "string") throw new Error("the listener is not a TCP socket");
    // The host as configured (e.g. "localhost"), with the port the socket got (port 0 resolved).
    return { host: address?.host ?? bound.address, port: bound.port };
  }

  /** Stops serving the listener: closes it unless a successor in this process took it over. */
  #release(): void {
    const server = this.#server;
    if (!server) return;
    server.off("connection", this.#onConnection);
    if (owners.get(server) !== this) return;
    owners.delete(server);
    server.close();
  }

  #accept(socket: Socket): void {
    socket.on("error", () => {}); // a client that resets while its socket waits here
    const slot = this.#nextReady();
    if (slot) return slot.sendSocket(socket, (back) => this.#accept(back));
    if (this.#queue.length >= maxQueued) {
      this.#logger.warn("proxy connection queue full; closing a new connection", { queued: this.#queue.length });
      return void socket.destroy();
    }
    this.#queue.push(socket);
  }

  /** The next ready worker, round robin; undefined when none is. */
  #nextReady(): WorkerSlot | undefined {
    for (let i = 0; i < this.#slots.length; i++) {
      const slot = this.#slots[(this.#cursor + i) % this.#slots.length]!;
      if (slot.ready) {
        this.#cursor = (this.#cursor + i + 1) % this.#slots.length;
        return slot;
      }
    }
    return undefined;
  }

  #flushQueue(): void {
    while (this.#queue.length > 0) {
      const slot = this.#nextReady();
      if (!slot) return;
      const socket = this.#queue.shift()!;
      if (!socket.destroyed) slot.sendSocket(socket, (back) => this.#accept(back));
    }
  }

  #encode(version: number, routes: Route[]): OutgoingTable {
    const frame = this.#config.controlThread ? tableFrame(version, Buffer.from(JSON.stringify(routes))) : undefined;
    return { version, routes, frame };
  }

  #fork(): WorkerSlot {
    const slot = new WorkerSlot(this.#config, {
      message: (s, message) => this.#onMessage(s, message),
      ack: (s) => {
        if (s.ackedVersion >= this.#table.version) s.caughtUp = true;
        this.#flushQueue();
        this.#recheck();
      },
      exit: (s, code, signal) => this.#onExit(s, code, signal),
    });
    this.#slots.push(slot);
    // On the control pipe the table waits until the control thread reads it; over IPC it goes on hello.
    if (this.#config.controlThread) slot.sendTable(this.#table);
    return slot;
  }

  #onMessage(slot: WorkerSlot, message: FromWorker): void {
    switch (message.type) {
      case "hello":
        if (!this.#config.controlThread) slot.sendTable(this.#table);
        this.#flushQueue();
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
        this.#logger[message.level](message.message, { ...message.fields, pid: slot.pid });
        break;
    }
    this.#recheck();
  }

  #onExit(slot: WorkerSlot, code: number | null, signal: string | null): void {
    this.#slots = this.#slots.filter((s) => s !== slot);
    for (const query of this.#queries.values()) query.waiting.delete(slot); // its requests died with it
    this.#recheck();
    if (this.#state !== "running") return;
    // A worker that crashes right after starting would otherwise be re-forked in a tight loop.
    this.#crashes = Date.now() - slot.forkedAt < 10_000 ? this.#crashes + 1 : 0;
    const delay = Math.min(5_000, 50 * 2 ** this.#crashes);
    this.#logger.warn("proxy worker exited; starting another", { pid: slot.pid, code, signal, delayMs: delay });
    setTimeout(() => {
      if (this.#state === "running") this.#fork();
    }, delay).unref();
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
    for (const slot of this.#slots) slot.kill();
    await this.#until(() => this.#slots.length === 0, 5_000).catch(() => {});
  }
}
