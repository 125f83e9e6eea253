import type { ChildProcess } from "node:child_process";
import { appendFileSync } from "node:fs";
import { mkdir, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { EngineError, redactor as processRedactor, silentLogger, systemClock } from "../../core/index.js";
import type { Clock, Logger, Redactor } from "../../core/index.js";
import type { ExitInfo, InstanceInfo, InstanceSpec, InstanceUsage, Runtime, StopOptions } from "../types.js";
import { InstanceFiles, safeName, type InstanceRecord } from "./instance-files.js";
import { findLog, tailLog } from "./log-file.js";
import { PortAllocator } from "./ports.js";
import { whyNotAdoptable } from "./adoption.js";
import { groupListensOn, isRunning, procSnapshot, readStat, signalGroupExcept } from "./procfs.js";
import { launchShim, type LaunchedShim } from "./shim-launch.js";
import { groupUsage } from "./usage.js";

export interface LocalRuntimeOptions {
  /** Instance output goes to `<logDir>/<service>/<id>.log`. */
  logDir: string;
  /** Instance records go to `<stateDir>/instances/`, where a later runtime finds them to adopt. Default: the parent of `logDir`. */
  stateDir?: string;
  /** The address instances are reached on and ports are allocated on. Default 127.0.0.1. */
  host?: string;
  /** A log file is rotated before it grows past this. Default 10 MiB. */
  logMaxBytes?: number;
  /** How many rotated log files are kept per instance. Default 3. */
  logFiles?: number;
  /** Stamps `startedAt` and times the grace period of `stop`. */
  clock?: Clock;
  /** Secret values are replaced in instance output before it reaches the log. Default: the process-wide redactor. */
  redactor?: Redactor;
  logger?: Logger;
}

const defaultGraceMs = 10_000;
const defaultLogLines = 100;
/** How often instances this runtime is not the parent of (adopted ones) are checked for life. Real time. */
const pollMs = 200;
/** After the grace period killed its app, how long a shim may take to drain and exit before it is killed too. */
const shimDrainMs = 5_000;
const baseEnvNames = ["PATH", "HOME", "LANG", "TZ"];

interface Tracked {
  info: InstanceInfo;
  record: InstanceRecord;
  /** The shim, when this runtime started it (its exit is then heard at once, not at the next poll). */
  child: ChildProcess | undefined;
  /** Settles once the shim ignores SIGTERM (at once for an adopted one). */
  ready: Promise<unknown>;
  shimSignal: string | null;
  /** When stop() was first asked (real time, as the shim stamps its exit record). */
  stopRequestedAt: number | undefined;
  /** The shim did not drain in time and was killed with its group. */
  shimKilled: boolean;
  /** Keeps the process alive while a stop is under way. */
  hold: NodeJS.Timeout | undefined;
  finishing: boolean;
  exit: ExitInfo | undefined;
  exited: Promise<ExitInfo>;
  settle: (exit: ExitInfo) => void;
}

/**
 * Runs instances on this machine, each under its own log shim (shim.ts): the shim leads the
 * instance's session and process group, runs `/bin/sh -c <command>` in it, and writes its output,
 * redacted, to `<logDir>/<service>/<id>.log` as `<ISO time> <out|err> <text>`. Nothing of an instance
 * goes through the engine, so instances outlive it: a record per instance in `<stateDir>/instances/`
 * lets a later runtime `adopt()` them. An instance is its whole process group: stopping it reaches
 * every process it started, and what is left of a crashed one is killed.
 *
 * The runtime keeps the process alive while it tracks a running instance; `close()` lets go of them.
 *
 * @example
 * const runtime = new LocalRuntime({ logDir: ".engineroom/logs", stateDir: ".engineroom" });
 * const adopted = await runtime.adopt(); // what an earlier engine left running
 * const port = await runtime.allocatePort();
 * await runtime.start({ id: "web-1", service: "web", releaseId: "rel_1", command: "node server.js", cwd, env: {}, port });
 */
export class LocalRuntime implements Runtime {
  readonly kind = "local";
  readonly #logDir: string;
  readonly #files: InstanceFiles;
  readonly #host: string;
  readonly #logMaxBytes: number;
  readonly #logFiles: number;
  readonly #clock: Clock;
  readonly #redactor: Redactor;
  readonly #logger: Logger;
  readonly #ports: PortAllocator;
  readonly #instances = new Map<string, Tracked>();
  readonly #listeners = new Set<(exit: ExitInfo) => void>();
  #poller: NodeJS.Timeout | undefined;

  constructor(options: LocalRuntimeOptions) {
    // Absolute: the shim works in the instance's folder, not ours.
    this.#logDir = resolve(options.logDir);
    this.#files = new InstanceFiles(resolve(options.stateDir ?? dirname(this.#logDir)));
    this.#host = options.host ?? "127.0.0.1";
    this.#logMaxBytes = options.logMaxBytes ?? 10 * 1024 * 1024;
    this.#logFiles = options.logFiles ?? 3;
    this.#clock = options.clock ?? systemClock;
    this.#redactor = options.redactor ?? processRedactor;
    this.#logger = options.logger ?? silentLogger;
    this.#ports = new PortAllocator(this.#host, this.#clock);
  }

  allocatePort(): Promise<number> {
    return this.#ports.allocate();
  }

  async start(spec: InstanceSpec): Promise<InstanceInfo> {
    for (const [what, name] of [["id", spec.id], ["service", spec.service]] as const) {
      if (!safeName.test(name)) throw startFailed(spec, `its ${what} "${name}" may hold only letters, digits, '.', '_' and '-'`);
    }
    const previous = this.#instances.get(spec.id);
    if (previous && previous.info.status !== "exited") throw startFailed(spec, "an instance with this id is already running");
    const cwd = resolve(spec.cwd);
    await assertFolder(spec, cwd);

    const serviceDir = join(this.#logDir, spec.service);
    await mkdir(serviceDir, { recursive: true });
    this.#files.ensure();
    this.#files.clearExit(spec.id);
    const logPath = join(serviceDir, `${spec.id}.log`);
    const base = {
      version: 1 as const,
      id: spec.id,
      service: spec.service,
      releaseId: spec.releaseId,
      labels: { ...spec.labels },
      cwd,
      host: this.#host,
      port: spec.port,
      logPath,
      startedAt: this.#clock.now(),
    };
    let record: InstanceRecord | undefined;
    let launched: LaunchedShim;
    try {
      const start = {
        command: spec.command,
        cwd,
        env: instanceEnv(spec),
        logPath,
        logMaxBytes: this.#logMaxBytes,
        logFiles: this.#logFiles,
        exitPath: this.#files.exitPath(spec.id),
        secrets: this.#redactor.entries(),
      };
      launched = await launchShim(start, this.#files.shimErrorsPath(spec.id), (pid) => {
        // Recorded before anything else can fail, so that no instance ever runs unrecorded.
        record = { ...base, pid, pidStartTime: readStat(pid)?.startTime ?? -1 };
        this.#files.write(record);
      });
    } catch (error) {
      if (record) killGroup(record.pid, "SIGKILL");
      this.#files.remove(spec.id);
      throw startFailed(spec, `node could not be spawned for its log shim: ${(error as Error).message}`, error);
    }
    const tracked = this.#track(record!, launched.child, launched.ready);
    // A shim that never got ready is ended; its exit (a crash, with what it said in the log) follows.
    void launched.ready.then((ready) => ready || killGroup(tracked.record.pid, "SIGKILL"));
    return { ...tracked.info };
  }

  async stop(id: string, options: StopOptions = {}): Promise<ExitInfo> {
    const tracked = this.#instances.get(id);
    if (!tracked) return { id, code: null, signal: null, expected: true };
    if (tracked.exit) return tracked.exit;
    if (tracked.stopRequestedAt === undefined) {
      tracked.stopRequestedAt = Date.now();
      if (tracked.info.status === "running") tracked.info.status = "stopping";
      tracked.hold = setInterval(() => {}, 60_000);
      const { pid, pidStartTime } = tracked.record;
      const abort = new AbortController();
      void tracked.exited.then(() => abort.abort());
      // Not before the shim ignores SIGTERM, which would kill it before it ran its app.
      void tracked.ready.then(() => {
        if (tracked.exit) return;
        // Signal the group only while its leader is still the process we recorded.
        if (!isRunning(pid, pidStartTime)) return this.#check(tracked);
        killGroup(pid, "SIGTERM");
        this.#clock.sleep(options.graceMs ?? defaultGraceMs, abort.signal).then(
          () => this.#killAfterGrace(tracked, abort.signal),
          () => {},
        );
      });
    }
    return tracked.exited;
  }

  /** Stops every instance that is still running, in parallel; for shutting the engine down. */
  stopAll(graceMs?: number): Promise<ExitInfo[]> {
    const running = [...this.#instances.values()].filter((t) => !t.exit);
    return Promise.all(running.map((t) => this.stop(t.info.id, { graceMs })));
  }

  /**
   * Lets go of every instance without stopping it: they keep running (a later runtime adopts them),
   * no listener hears of them any more, and this runtime no longer keeps the process alive.
   */
  close(): void {
    clearInterval(this.#poller);
    this.#poller = undefined;
    for (const tracked of this.#instances.values()) clearInterval(tracked.hold);
    this.#instances.clear();
    this.#listeners.clear();
  }

  /**
   * The last lines of an instance's output, each `<ISO time> <out|err> <text>`. Works for instances
   * started by an earlier engine process too, found by their log file.
   */
  async logs(id: string, options: { lines?: number } = {}): Promise<string[]> {
    const path = this.#instances.get(id)?.record.logPath ?? (await findLog(this.#logDir, id));
    return path ? tailLog(path, options.lines ?? defaultLogLines) : [];
  }

  onExit(listener: (exit: ExitInfo) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  list(): InstanceInfo[] {
    return [...this.#instances.values()].map((t) => ({ ...t.info, labels: { ...t.info.labels } }));
  }

  /** CPU time and resident memory of each running instance's process group, from /proc (usage.ts). */
  async usage(): Promise<Map<string, InstanceUsage>> {
    const running = [...this.#instances.values()].filter((t) => !t.exit);
    const groups = await groupUsage(running.map((t) => t.record.pid));
    const usage = new Map<string, InstanceUsage>();
    for (const t of running) {
      const group = groups.get(t.record.pid);
      if (group) usage.set(t.record.id, { cpuMs: group.cpuMs, rssBytes: group.rssBytes });
    }
    return usage;
  }

  /** Drops an exited instance from `list()` and removes its record; does nothing while it still runs. */
  forget(id: string): void {
    if (!this.#instances.get(id)?.exit) return;
    this.#instances.delete(id);
    this.#files.remove(id);
  }

  /**
   * Adopts the instances recorded in `<stateDir>/instances/` that still run: the shim's pid is alive,
   * its /proc start time is the recorded one, and it works in the recorded folder. Whether its app
   * listens on the recorded port (a process of its group holds the socket) is checked and logged, but
   * an instance whose app no longer listens is adopted anyway: its health check decides what to do.
   *
   * A record whose process is gone is dropped (its exit file says how it ended; what is left of its
   * process group is killed). A record whose pid now names another process (another start time), or
   * works elsewhere, is dropped and that process left alone. Instances this runtime already tracks
   * are skipped, so calling it twice adopts nothing the second time.
   */
  async adopt(): Promise<InstanceInfo[]> {
    const adopted: InstanceInfo[] = [];
    const records = this.#files.readAll((file) => this.#logger.warn("instance record is damaged; ignoring it", { file }));
    const snapshot = await procSnapshot();
    for (const record of records) {
      if (this.#instances.has(record.id)) continue;
      const refusal = whyNotAdoptable(record, this.#files, snapshot);
      if (refusal) {
        this.#logger.info(`not adopting instance ${record.id}: ${refusal}`, { id: record.id, pid: record.pid });
        this.#files.remove(record.id);
        continue;
      }
      if (!(await groupListensOn(record.pid, record.port, snapshot))) {
        this.#logger.warn(`adopted instance ${record.id}, but nothing of it listens on its port ${record.port}`, { id: record.id, pid: record.pid });
      }
      adopted.push({ ...this.#track(record, undefined).info });
    }
    return adopted;
  }

  /** Tracks an instance from now on, whether this runtime started it or adopted it: one exit path for both. */
  #track(record: InstanceRecord, child: ChildProcess | undefined, ready: Promise<unknown> = Promise.resolve()): Tracked {
    let settle!: (exit: ExitInfo) => void;
    const tracked: Tracked = {
      info: {
        id: record.id,
        service: record.service,
        releaseId: record.releaseId,
        host: record.host,
        port: record.port,
        pid: record.pid,
        status: "running",
        startedAt: record.startedAt,
        exitCode: null,
        signal: null,
        labels: { ...record.labels },
        cwd: record.cwd,
      },
      record,
      child,
      ready,
      shimSignal: null,
      stopRequestedAt: undefined,
      shimKilled: false,
      hold: undefined,
      finishing: false,
      exit: undefined,
      exited: new Promise((resolve) => (settle = resolve)),
      settle,
    };
    this.#instances.set(record.id, tracked);
    if (child) {
      child.unref(); // the poller keeps the process alive, and close() lets go
      child.once("exit", (_code, signal) => {
        tracked.shimSignal = signal;
        this.#check(tracked);
      });
    }
    this.#poller ??= setInterval(() => this.#instances.forEach((t) => this.#check(t)), pollMs);
    return tracked;
  }

  /** Notices a shim that is gone. Its exit is then reported once. */
  #check(tracked: Tracked): void {
    if (tracked.finishing || isRunning(tracked.record.pid, tracked.record.pidStartTime)) return;
    // A shim this runtime started is ours to reap: the poll may see it gone (a zombie) before Node has
    // reaped it, and only the child's exit event knows the signal that ended it.
    if (tracked.child && tracked.child.exitCode === null && tracked.child.signalCode === null) return;
    tracked.finishing = true;
    const { id, pid } = tracked.record;
    const recorded = this.#files.readExit(id);
    // A shim that exits has ended its group; one that was killed may leave its app behind.
    killGroup(pid, "SIGKILL");
    if (!recorded) {
      const lines = this.#files.readShimErrors(id).split("\n").map((line) => line.replace(/^\d{4}-\S+Z /, "").trim());
      const said = this.#redactor.redact(lines.filter(Boolean).join(" | "));
      this.#logger.warn(`the log shim of instance ${id} ended without recording its app's exit`, { id, pid, ...(said ? { shim: said } : {}) });
      // Where whoever looks at the instance's last lines will see it.
      if (said) appendLine(tracked.record.logPath, `${new Date().toISOString()} err [engineroom] the instance's log shim failed: ${said}`);
    }
    const code = recorded ? recorded.code : null;
    const signal = recorded ? recorded.signal : (tracked.shimSignal ?? (tracked.shimKilled ? "SIGKILL" : null));
    const asked = tracked.stopRequestedAt;
    // Asked to stop, and the app ended after that (not a crash the poll had not noticed yet).
    const expected = asked !== undefined && (!recorded || recorded.exitedAt >= asked);
    const exit: ExitInfo = { id, code, signal, expected };
    Object.assign(tracked.info, { status: "exited", exitCode: code, signal });
    tracked.exit = exit;
    clearInterval(tracked.hold);
    if (![...this.#instances.values()].some((t) => !t.exit)) {
      clearInterval(this.#poller);
      this.#poller = undefined;
    }
    tracked.settle(exit);
    for (const listener of this.#listeners) {
      try {
        listener(exit);
      } catch (error) {
        this.#logger.error("onExit listener threw", { id, error: String(error) });
      }
    }
  }

  /** The grace period is over: kill the app and the rest of its group, but let the shim drain their output. */
  #killAfterGrace(tracked: Tracked, done: AbortSignal): void {
    const { pid, pidStartTime } = tracked.record;
    if (tracked.exit || !isRunning(pid, pidStartTime)) return;
    signalGroupExcept(pid, pid, "SIGKILL");
    const timer = setTimeout(() => {
      if (tracked.exit || !isRunning(pid, pidStartTime)) return;
      tracked.shimKilled = true;
      killGroup(pid, "SIGKILL");
    }, shimDrainMs);
    done.addEventListener("abort", () => clearTimeout(timer), { once: true });
  }
}

function instanceEnv(spec: InstanceSpec): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of baseEnvNames) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...spec.env, PORT: String(spec.port) };
}

async function assertFolder(spec: InstanceSpec, cwd: string): Promise<void> {
  const found = await stat(cwd).catch(() => undefined);
  if (!found) throw startFailed(spec, `its folder ${spec.cwd} does not exist`);
  if (!found.isDirectory()) throw startFailed(spec, `${spec.cwd} is not a folder`);
}

function appendLine(path: string, line: string): void {
  try {
    appendFileSync(path, line + "\n");
  } catch {
    // the log folder is gone: the warning above is all there is
  }
}

function startFailed(spec: InstanceSpec, reason: string, cause?: unknown): EngineError {
  return new EngineError("DEPLOY_START_FAILED", `Could not start instance ${spec.id} of ${spec.service}: ${reason}.`, {
    details: { id: spec.id, service: spec.service, releaseId: spec.releaseId },
    cause,
  });
}

/** Signals a whole process group. A group that is already gone (ESRCH) is what we wanted anyway,
 * and this runs from event handlers, where throwing would take the engine down: errors are ignored. */
function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // see above
  }
}
