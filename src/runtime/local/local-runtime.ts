import { spawn, type ChildProcess } from "node:child_process";
import { access, mkdir, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { EngineError, redactor as processRedactor, silentLogger, systemClock } from "../../core/index.js";
import type { Clock, Logger, Redactor } from "../../core/index.js";
import type { ExitInfo, InstanceInfo, InstanceSpec, Runtime, StopOptions } from "../types.js";
import { LineSplitter, LogWriter, tailLog } from "./log-file.js";
import { PortAllocator } from "./ports.js";

export interface LocalRuntimeOptions {
  /** Instance output goes to `<logDir>/<service>/<id>.log`. */
  logDir: string;
  /** The address instances are reached on and ports are allocated on. Default 127.0.0.1. */
  host?: string;
  /** A log file is rotated before it grows past this. Default 10 MiB. */
  logMaxBytes?: number;
  /** How many rotated log files are kept per instance. Default 3. */
  logFiles?: number;
  /** Stamps log lines and times the grace period of `stop`. */
  clock?: Clock;
  /** Secret values are replaced in instance output before it reaches the log. Default: the process-wide redactor. */
  redactor?: Redactor;
  logger?: Logger;
}

const defaultGraceMs = 10_000;
const defaultLogLines = 100;
/** Output waiting for the disk beyond this pauses the instance's pipes (and so the instance). */
const pauseAtChars = 1024 * 1024;
/** After the leader exits, how long its pipes may stay open (held by an escaped process) before we stop reading. */
const pipeCloseTimeoutMs = 2_000;
const baseEnvNames = ["PATH", "HOME", "LANG", "TZ"];
const safeName = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

interface Tracked {
  info: InstanceInfo;
  child: ChildProcess;
  log: LogWriter;
  logPath: string;
  stopRequested: boolean;
  /** Set at the leader's exit: true when it exited before anyone asked it to stop. */
  crashed: boolean;
  exit: ExitInfo | undefined;
  exited: Promise<ExitInfo>;
}

/**
 * Runs instances as child processes on this machine. Each instance is `/bin/sh -c <command>` leading
 * its own process group, so stopping it reaches every process it started. When the leader exits on
 * its own (a crash), whatever is left of its group is killed too: an instance is its whole group.
 *
 * Output lines go, redacted, to `<logDir>/<service>/<id>.log` as `<ISO time> <out|err> <text>`.
 *
 * @example
 * const runtime = new LocalRuntime({ logDir: ".engineroom/logs" });
 * const port = await runtime.allocatePort();
 * await runtime.start({ id: "web-1", service: "web", releaseId: "rel_1", command: "node server.js", cwd, env: {}, port });
 */
export class LocalRuntime implements Runtime {
  readonly kind = "local";
  readonly #logDir: string;
  readonly #host: string;
  readonly #logMaxBytes: number;
  readonly #logFiles: number;
  readonly #clock: Clock;
  readonly #redactor: Redactor;
  readonly #logger: Logger;
  readonly #ports: PortAllocator;
  readonly #instances = new Map<string, Tracked>();
  readonly #listeners = new Set<(exit: ExitInfo) => void>();

  constructor(options: LocalRuntimeOptions) {
    this.#logDir = options.logDir;
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
    await assertFolder(spec);

    const serviceDir = join(this.#logDir, spec.service);
    await mkdir(serviceDir, { recursive: true });
    const logPath = join(serviceDir, `${spec.id}.log`);
    const log = new LogWriter({
      path: logPath,
      maxBytes: this.#logMaxBytes,
      files: this.#logFiles,
      onError: (error) => this.#logger.warn("instance output could not be written; dropping it", { id: spec.id, error: String(error) }),
    });

    let child: ChildProcess;
    try {
      child = spawn("/bin/sh", ["-c", spec.command], {
        cwd: spec.cwd,
        env: instanceEnv(spec),
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
      });
      await new Promise<void>((resolve, reject) => {
        child.once("spawn", resolve);
        child.once("error", reject);
      });
    } catch (error) {
      await log.close();
      throw startFailed(spec, (error as Error).message, error);
    }
    child.on("error", (error) => this.#logger.warn("instance process error", { id: spec.id, error: error.message }));

    const info: InstanceInfo = {
      id: spec.id,
      service: spec.service,
      releaseId: spec.releaseId,
      host: this.#host,
      port: spec.port,
      pid: child.pid,
      status: "running",
      startedAt: this.#clock.now(),
      exitCode: null,
      signal: null,
      labels: { ...spec.labels },
      cwd: spec.cwd,
    };
    let settle!: (exit: ExitInfo) => void;
    const tracked: Tracked = {
      info,
      child,
      log,
      logPath,
      stopRequested: false,
      crashed: false,
      exit: undefined,
      exited: new Promise((resolve) => (settle = resolve)),
    };
    this.#instances.set(spec.id, tracked);
    this.#capture(tracked);
    this.#watch(tracked, settle);
    return { ...info };
  }

  async stop(id: string, options: StopOptions = {}): Promise<ExitInfo> {
    const tracked = this.#instances.get(id);
    if (!tracked) return { id, code: null, signal: null, expected: true };
    if (tracked.exit) return tracked.exit;
    if (!tracked.stopRequested) {
      tracked.stopRequested = true;
      if (tracked.info.status === "running") tracked.info.status = "stopping";
      const pid = tracked.child.pid!;
      killGroup(pid, "SIGTERM");
      const abort = new AbortController();
      this.#clock.sleep(options.graceMs ?? defaultGraceMs, abort.signal).then(
        () => killGroup(pid, "SIGKILL"),
        () => {},
      );
      void tracked.exited.then(() => abort.abort());
    }
    return tracked.exited;
  }

  /** Stops every instance that is still running, in parallel; for shutting the engine down. */
  stopAll(graceMs?: number): Promise<ExitInfo[]> {
    const running = [...this.#instances.values()].filter((t) => !t.exit);
    return Promise.all(running.map((t) => this.stop(t.info.id, { graceMs })));
  }

  /**
   * The last lines of an instance's output, each `<ISO time> <out|err> <text>`. Works for instances
   * started by an earlier engine process too, found by their log file.
   */
  async logs(id: string, options: { lines?: number } = {}): Promise<string[]> {
    const tracked = this.#instances.get(id);
    await tracked?.log.flush();
    const path = tracked?.logPath ?? (await this.#findLog(id));
    return path ? tailLog(path, options.lines ?? defaultLogLines) : [];
  }

  onExit(listener: (exit: ExitInfo) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  list(): InstanceInfo[] {
    return [...this.#instances.values()].map((t) => ({ ...t.info }));
  }

  /** Drops an exited instance from `list()`; does nothing while it still runs. */
  forget(id: string): void {
    if (this.#instances.get(id)?.exit) this.#instances.delete(id);
  }

  async adopt(): Promise<InstanceInfo[]> {
    return []; // instances do not outlive this runtime yet
  }

  #capture(tracked: Tracked): void {
    const { child, log } = tracked;
    const sources = [[child.stdout!, "out"], [child.stderr!, "err"]] as const;
    const streams = sources.map(([stream]) => stream);
    let paused = false;
    for (const [stream, tag] of sources) {
      const splitter = new LineSplitter((line) => {
        log.write(`${new Date(this.#clock.now()).toISOString()} ${tag} ${this.#redactor.redact(line)}`);
      });
      stream.on("data", (chunk: Buffer) => {
        splitter.push(chunk);
        if (paused || log.pendingChars < pauseAtChars) return;
        // The disk is behind: stop reading until it catches up, which in turn blocks the instance's writes.
        paused = true;
        for (const s of streams) s.pause();
        void log.flush().then(() => {
          paused = false;
          for (const s of streams) s.resume();
        });
      });
      stream.on("end", () => splitter.end());
      stream.on("close", () => splitter.end());
    }
  }

  #watch(tracked: Tracked, settle: (exit: ExitInfo) => void): void {
    const { child, info } = tracked;
    const pid = child.pid!;
    let pipeTimer: NodeJS.Timeout | undefined;
    child.once("exit", () => {
      tracked.crashed = !tracked.stopRequested;
      // A crashed instance takes the rest of its group with it; a stopping one had its SIGTERM and grace.
      if (tracked.crashed) killGroup(pid, "SIGKILL");
      // An I/O safeguard, not a policy, so it runs on real time: stop waiting for pipes a process
      // that left the group (setsid) may hold open forever.
      pipeTimer = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
      }, pipeCloseTimeoutMs);
      pipeTimer.unref();
    });
    child.once("close", (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(pipeTimer);
      killGroup(pid, "SIGKILL"); // anything left that had closed its output
      void tracked.log.close().finally(() => {
        info.status = "exited";
        info.exitCode = code;
        info.signal = signal;
        const exit: ExitInfo = { id: info.id, code, signal, expected: !tracked.crashed };
        tracked.exit = exit;
        settle(exit);
        for (const listener of this.#listeners) {
          try {
            listener(exit);
          } catch (error) {
            this.#logger.error("onExit listener threw", { id: info.id, error: String(error) });
          }
        }
      });
    });
  }

  async #findLog(id: string): Promise<string | undefined> {
    if (!safeName.test(id)) return undefined;
    let services: string[];
    try {
      services = await readdir(this.#logDir);
    } catch {
      return undefined;
    }
    for (const service of services) {
      const path = join(this.#logDir, service, `${id}.log`);
      if (await access(path).then(() => true, () => false)) return path;
    }
    return undefined;
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

async function assertFolder(spec: InstanceSpec): Promise<void> {
  const found = await stat(spec.cwd).catch(() => undefined);
  if (!found) throw startFailed(spec, `its folder ${spec.cwd} does not exist`);
  if (!found.isDirectory()) throw startFailed(spec, `${spec.cwd} is not a folder`);
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
