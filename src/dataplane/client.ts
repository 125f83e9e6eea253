/**
 * The engine's side of the data plane: finds the data-plane process of the state folder (or starts
 * one, detached), asks for a handover when its code differs from this build's, and gives each
 * environment a `Proxy` that works over the control socket. When the connection drops (the data
 * plane was killed), it reconnects, starting the data plane again if it is gone; it comes back with
 * its persisted tables.
 *
 * Every request has a bound (`requestTimeoutMs`): a data plane that stops answering without closing
 * the socket (SIGSTOP, a link cut behind an ssh forward) fails the request with DATAPLANE_UNAVAILABLE,
 * and the connection counts as lost (destroyed, then reconnected as after a close), so that later
 * requests do not queue behind a dead one. While a longer request (an instance start, an artifact
 * shipped) waits, a ping every quick bound checks that the data plane still answers: a silent one
 * is found within two quick bounds, whatever the request's own.
 */
import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync } from "node:fs";
import type { Socket } from "node:net";
import { EngineError, childExecArgv, processAlive, silentLogger, waitUntilGone, type Logger } from "../core/index.js";
import type { MetricsBucket } from "../proxy/index.js";
import { answers, codeVersion, daemonEntry, dataPlanePaths, jsonLines, openSocket, type Answer, type ExitEvent, type HelloResult, type MetricsEvent, type ProxySettings } from "./protocol.js";
import { RemoteProxy } from "./remote-proxy.js";

export interface DataPlaneOptions {
  stateDir: string;
  logger?: Logger;
  /** Start a data-plane process when none runs. Default true; `engineroom down` attaches only. */
  start?: boolean;
  /** The data-plane entry to start or hand over to. Default: this build's. */
  entry?: string;
  /** How long a request waits for a lost connection to come back before it fails. Default 15 s. */
  reconnectMs?: number;
  /** The control socket to reach, when it is not the state folder's: a host's daemon through an ssh-forwarded socket. */
  socket?: string;
  /** The bound of a quick request (hello, list, facts, port, in-flight count); the others are multiples of it (`requestTimeoutMs`). Default 5 s. */
  quickRequestMs?: number;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
  /** For a request whose bound is longer than a quick one: pings that tell a silent data plane from a busy one. */
  heartbeat: NodeJS.Timeout | undefined;
}

type ResolvedOptions = Required<Omit<DataPlaneOptions, "socket">>;

const startTimeoutMs = 20_000;

/** The default bound of a quick request. */
export const defaultQuickRequestMs = 5_000;
/** Shipping an artifact copies and digests a whole folder on the host. */
const artifactRequestMs = 600_000;
/** An instance's stop grace when the request names none (the agent's LocalRuntime default). */
const defaultStopGraceMs = 10_000;

/**
 * How long a request of `op` waits for its answer, given the bound of a quick request: a switch
 * (proxy.apply) 2×; setting up a proxy, starting or adopting instances and a handover 6×; stopping
 * an instance or a proxy, and a shutdown, their grace plus 2×; shipping an artifact 10 minutes;
 * anything else 1×.
 */
export function requestTimeoutMs(op: string, args: Record<string, unknown>, quickMs = defaultQuickRequestMs): number {
  switch (op) {
    case "proxy.apply":
      return 2 * quickMs;
    case "proxy.ensure":
    case "instance.start":
    case "instance.adopt":
    case "handover":
      return 6 * quickMs;
    case "instance.stop":
    case "proxy.remove":
    case "shutdown":
      return (typeof args.graceMs === "number" ? args.graceMs : defaultStopGraceMs) + 2 * quickMs;
    case "artifact.ensure":
      return artifactRequestMs;
    default:
      return quickMs;
  }
}

export class DataPlane {
  readonly #options: ResolvedOptions;
  readonly #paths: ReturnType<typeof dataPlanePaths>;
  #socket: Socket | undefined;
  #connecting: Promise<void> | undefined;
  #pending = new Map<number, Pending>();
  /** Why a connection was dropped by this client, for the requests that failed with it. */
  #lostBecause = new WeakMap<Socket, string>();
  #nextId = 0;
  #closed = false;
  #hello: HelloResult | undefined;
  #proxies = new Map<string, RemoteProxy>();
  #metricListeners = new Set<(buckets: MetricsBucket[]) => void>();
  #exitListeners = new Set<(exit: ExitEvent["exit"]) => void>();
  #connectListeners = new Set<() => void>();
  #lastSeq: { bootId: string; seq: number } | undefined;
  /** Batches that arrived before anyone listened (the history replayed at attach): each new listener gets them first. */
  #backlog: MetricsBucket[][] | undefined = [];
  /** Whether the data plane this client found had to be started (false: it was running already). */
  started = false;
  /** Set when a handover replaced a data plane of other code. */
  handedOver: { from: number; to: number } | undefined;

  private constructor(options: DataPlaneOptions) {
    this.#options = { start: true, entry: daemonEntry, reconnectMs: 15_000, logger: silentLogger, ...options, quickRequestMs: options.quickRequestMs ?? defaultQuickRequestMs };
    const paths = dataPlanePaths(options.stateDir);
    this.#paths = options.socket ? { ...paths, socket: options.socket } : paths;
  }

  /** Connects to the state folder's data plane, starting it (or handing it over to this build's code) as needed. */
  static async attach(options: DataPlaneOptions): Promise<DataPlane> {
    const plane = new DataPlane(options);
    try {
      await plane.#connect(true);
    } catch (error) {
      plane.close();
      throw error;
    }
    // Only an engine that will run on it replaces a data plane of other code (`down` does not).
    const ours = codeVersion(plane.#options.entry);
    if (plane.#options.start && plane.#hello!.version !== ours) await plane.#handOver(ours);
    // The environments register their listeners right after attach; the backlog is for them.
    setTimeout(() => (plane.#backlog = undefined), 60_000).unref();
    return plane;
  }

  /** The data plane as it answered last: pid, code version, proxies with their tables. */
  get info(): HelloResult {
    return this.#hello!;
  }

  get logFile(): string {
    return this.#paths.log;
  }

  /** A Proxy for one environment, served by the data plane. */
  proxy(settings: ProxySettings): RemoteProxy {
    const proxy = new RemoteProxy(this, settings, this.#hello?.proxies.find((p) => p.environment === settings.environment));
    this.#proxies.set(settings.environment, proxy);
    return proxy;
  }

  onMetrics(listener: (buckets: MetricsBucket[]) => void): () => void {
    for (const buckets of this.#backlog ?? []) listener(buckets);
    this.#metricListeners.add(listener);
    return () => void this.#metricListeners.delete(listener);
  }

  /** Exits of the host agent's instances, as the data plane reports them. */
  onInstanceExit(listener: (exit: ExitEvent["exit"]) => void): () => void {
    this.#exitListeners.add(listener);
    return () => void this.#exitListeners.delete(listener);
  }

  /** Called after each reconnection (exits may have gone unheard meanwhile). */
  onReconnect(listener: () => void): () => void {
    this.#connectListeners.add(listener);
    return () => void this.#connectListeners.delete(listener);
  }

  /**
   * Sends one request; waits for a lost connection to come back first (bounded by `reconnectMs`).
   * No answer within `timeoutMs` (default: `requestTimeoutMs(op, args)`) rejects it with
   * DATAPLANE_UNAVAILABLE and drops the connection.
   */
  async request<T>(op: string, args: Record<string, unknown> = {}, options: { timeoutMs?: number } = {}): Promise<T> {
    if (this.#closed) throw new EngineError("DATAPLANE_UNAVAILABLE", "The connection to the data plane is closed.");
    if (!this.#socket) await this.#reconnect();
    const socket = this.#socket;
    if (!socket) throw new EngineError("DATAPLANE_UNAVAILABLE", "The connection to the data plane was lost again while it came back.");
    const id = ++this.#nextId;
    const timeoutMs = options.timeoutMs ?? requestTimeoutMs(op, args, this.#options.quickRequestMs);
    const quickMs = this.#options.quickRequestMs;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!this.#pending.delete(id)) return;
        clearInterval(heartbeat);
        const why = `no answer to ${op} within ${timeoutMs} ms`;
        reject(
          new EngineError("DATAPLANE_UNAVAILABLE", `The data plane at ${this.#paths.socket} gave ${why}; the connection counts as lost.`, {
            hint: "The data-plane process may be stopped, overloaded or cut off (a link behind an ssh forward); it is reconnected on the next request.",
            details: { op, timeoutMs },
          }),
        );
        this.#lose(socket, why);
      }, timeoutMs);
      // A ping's own bound drops the connection when the data plane went silent, failing this request with it.
      const heartbeat = timeoutMs > quickMs ? setInterval(() => void this.request("hello", {}, { timeoutMs: quickMs }).catch(() => {}), quickMs) : undefined;
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer, heartbeat });
      socket.write(JSON.stringify({ id, op, ...args }) + "\n");
    });
  }

  /** `engineroom down`: the data plane stops its proxies (draining up to `graceMs`), forgets them and exits. */
  async shutdown(graceMs: number): Promise<void> {
    const pid = this.#hello?.pid;
    await this.request("shutdown", { graceMs });
    this.close();
    if (pid) await waitUntilGone(pid, graceMs + 5_000);
  }

  /** Leaves the data plane running (the engine stops; the data plane keeps serving). */
  close(): void {
    this.#closed = true;
    this.#socket?.destroy();
    this.#socket = undefined;
    this.#failPending("the engine closed its connection to the data plane");
  }

  async #connect(first: boolean): Promise<void> {
    let socket: Socket;
    try {
      socket = await this.#openWhileAlive();
    } catch (error) {
      if (!this.#options.start) {
        throw new EngineError("DATAPLANE_UNAVAILABLE", `No data plane runs for ${this.#options.stateDir}.`, { hint: "Nothing to stop: `engineroom up` starts it." });
      }
      socket = await this.#spawn(error as Error);
      if (first) this.started = true;
    }
    if (this.#closed) {
      socket.destroy();
      throw new EngineError("DATAPLANE_UNAVAILABLE", "The connection to the data plane is closed.");
    }
    this.#adopt(socket);
    try {
      this.#hello = await this.request<HelloResult>("hello");
      await this.request("metrics.subscribe", this.#lastSeq ? { bootId: this.#lastSeq.bootId, afterSeq: this.#lastSeq.seq } : {});
    } catch (error) {
      this.#drop(socket, (error as Error).message);
      throw error;
    }
  }

  /**
   * Connects to the control socket. While the recorded data-plane process lives (it may be starting,
   * or a successor may be taking the socket over), a failed connect is retried rather than answered
   * by starting a second data plane.
   */
  async #openWhileAlive(): Promise<Socket> {
    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      try {
        return await openSocket(this.#paths.socket);
      } catch (error) {
        const pid = recordedPid(this.#paths.info);
        if (pid === undefined || !processAlive(pid) || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }

  #adopt(socket: Socket): void {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on(
      "data",
      jsonLines((value) => this.#onValue(value), (line) => this.#options.logger.warn("bad line from the data plane", { line })),
    );
    socket.on("error", () => {});
    socket.on("close", () => {
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      this.#failPending(this.#lostBecause.get(socket) ?? "the data plane went away");
      if (!this.#closed) {
        this.#options.logger.warn("lost the data plane; reconnecting");
        void this.#reconnect().catch((error) => this.#options.logger.error("could not reconnect to the data plane", { error: String(error) }));
      }
    });
  }

  #onValue(value: unknown): void {
    const message = value as Answer | MetricsEvent | ExitEvent;
    if ("event" in message) {
      if (message.event === "exit") for (const listener of this.#exitListeners) listener(message.exit);
      if (message.event !== "metrics") return;
      this.#lastSeq = { bootId: message.bootId, seq: message.seq };
      if (this.#backlog && this.#metricListeners.size === 0 && this.#backlog.length < 10_000) this.#backlog.push(message.buckets);
      for (const listener of this.#metricListeners) listener(message.buckets);
      return;
    }
    const pending = this.#pending.get(message.id);
    if (!pending) return;
    this.#pending.delete(message.id);
    clearTimeout(pending.timer);
    clearInterval(pending.heartbeat);
    if (message.ok) pending.resolve(message.result);
    else {
      const { code, message: text, hint, details } = message.error;
      pending.reject(new EngineError(code as never, text, { hint, details }));
    }
  }

  /** One reconnection at a time: every request waits for it. The proxies are set up again on the (maybe new) data plane. */
  #reconnect(): Promise<void> {
    this.#connecting ??= (async () => {
      const deadline = Date.now() + this.#options.reconnectMs;
      for (;;) {
        try {
          await this.#connect(false);
          for (const proxy of this.#proxies.values()) await proxy.reattach();
          for (const listener of this.#connectListeners) listener();
          this.#options.logger.info("data plane connected again", { pid: this.#hello!.pid });
          return;
        } catch (error) {
          // A connection that came up but could not be set up again (a proxy's reattach failed) is not kept.
          if (this.#socket) this.#drop(this.#socket, (error as Error).message);
          if (this.#closed || Date.now() > deadline) {
            throw new EngineError("DATAPLANE_UNAVAILABLE", `The data plane did not come back: ${(error as Error).message}.`, { cause: error });
          }
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    })().finally(() => (this.#connecting = undefined));
    return this.#connecting;
  }

  async #handOver(version: string): Promise<void> {
    const from = this.#hello!.pid;
    this.#options.logger.info("the data plane runs other code; handing over to this build's", { pid: from, running: this.#hello!.version, ours: version });
    const { pid } = await this.request<{ pid: number }>("handover", { entry: this.#options.entry, execArgv: childExecArgv() });
    // The predecessor drains and exits; the successor owns the control socket already, so the
    // reconnection (started by the close) reaches it.
    this.#socket?.destroy();
    await this.#reconnect();
    if (this.#hello?.pid !== pid) {
      throw new EngineError("DATAPLANE_HANDOVER_FAILED", `Expected the new data plane (pid ${pid}) on the control socket, found pid ${this.#hello?.pid}.`);
    }
    this.handedOver = { from, to: pid };
  }

  /** Starts a data-plane process detached from us: its own session, its output on its log file. */
  async #spawn(why: Error): Promise<Socket> {
    mkdirSync(this.#paths.dir, { recursive: true, mode: 0o700 });
    const log = openSync(this.#paths.log, "a", 0o600);
    let child;
    try {
      child = spawn(process.execPath, [...childExecArgv(), this.#options.entry], {
        detached: true,
        stdio: ["ignore", log, log],
        env: { ...process.env, ENGINEROOM_DATAPLANE_STATE: this.#options.stateDir },
      });
    } finally {
      closeSync(log);
    }
    child.unref();
    this.#options.logger.info(`started the data plane (pid ${child.pid}); its log: ${this.#paths.log}`);
    this.#options.logger.debug("no data plane answered", { error: why.message });
    let exited = false;
    child.once("exit", () => (exited = true));
    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      try {
        return await openSocket(this.#paths.socket);
      } catch (error) {
        if (Date.now() > deadline || (exited && !(await answers(this.#paths.socket)))) {
          throw new EngineError("DATAPLANE_UNAVAILABLE", `The data plane did not start: ${(error as Error).message}. Its log: ${this.#paths.log}\n${tail(this.#paths.log)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }

  /** The connection counts as lost (a request had no answer in time): closed, which fails what waits on it and reconnects. */
  #lose(socket: Socket, why: string): void {
    if (socket.destroyed) return;
    this.#lostBecause.set(socket, why);
    if (this.#socket === socket) this.#options.logger.warn("the data plane does not answer; dropping the connection", { why });
    socket.destroy();
  }

  /** Drops a connection that is being set up: no reconnection from its close (the caller retries or gives up). */
  #drop(socket: Socket, why: string): void {
    if (this.#socket === socket) this.#socket = undefined;
    socket.destroy();
    this.#failPending(why);
  }

  #failPending(why: string): void {
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      clearInterval(pending.heartbeat);
      pending.reject(new EngineError("DATAPLANE_UNAVAILABLE", `No answer from the data plane: ${why}.`));
    }
    this.#pending.clear();
  }
}

function recordedPid(infoFile: string): number | undefined {
  try {
    const pid = (JSON.parse(readFileSync(infoFile, "utf8")) as { pid?: unknown }).pid;
    return typeof pid === "number" && Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-6).join("\n");
  } catch {
    return "";
  }
}
