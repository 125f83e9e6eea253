/**
 * A Runtime starts and stops instances. `local` runs child processes on this machine; `ssh` and
 * `kubernetes` come later behind the same interface, and every implementation passes
 * `runRuntimeContract` (runtime.contract.ts).
 */

export interface InstanceSpec {
  /** Unique id chosen by the caller, e.g. `web-production-v3-1`. */
  id: string;
  service: string;
  releaseId: string;
  /** Shell command line, run with /bin/sh -c in `cwd`. */
  command: string;
  cwd: string;
  /** The environment the instance gets, besides PATH/HOME/LANG and PORT which the runtime adds. */
  env: Record<string, string>;
  /** The port the instance must listen on (given to it as PORT). */
  port: number;
  /** Free-form labels kept with the instance and given back by `list()` and `adopt()` (e.g. environment, slot). */
  labels?: Record<string, string>;
}

export type InstanceStatus = "running" | "stopping" | "exited";

export interface InstanceInfo {
  id: string;
  service: string;
  releaseId: string;
  host: string;
  port: number;
  pid: number | undefined;
  status: InstanceStatus;
  startedAt: number;
  exitCode: number | null;
  signal: string | null;
  /** The labels of its InstanceSpec ({} when none). */
  labels: Record<string, string>;
  /** The folder it runs in. */
  cwd: string;
}

export interface ExitInfo {
  id: string;
  code: number | null;
  signal: string | null;
  /** True when the runtime was asked to stop it; false when it exited on its own (a crash). */
  expected: boolean;
}

/** What a running instance's processes use, measured by its runtime. */
export interface InstanceUsage {
  /** CPU time (user + system) its processes used since they started, ms; it only grows while they run. */
  cpuMs: number;
  /** Their resident memory now, bytes. */
  rssBytes: number;
}

export interface StopOptions {
  /** How long after SIGTERM to wait before SIGKILL. Default 10 s. */
  graceMs?: number;
}

/** One HTTP request to an instance, straight (never through the proxy): a health probe or a smoke test. */
export interface InstanceProbe {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  /** Bytes of the response body kept (the rest is read and dropped). Default 64 KiB. */
  maxBodyBytes?: number;
  signal?: AbortSignal;
}

/** What a probe got: the answer (any status), or why there was none (refused, no answer within its timeout...). */
export type ProbeResult =
  | { ok: true; status: number; headers: Record<string, string>; body: string; ms: number }
  | { ok: false; error: string; ms: number };

export interface Runtime {
  readonly kind: string;
  /** A port free on the instance's host right now. */
  allocatePort(): Promise<number>;
  /** Starts the instance; resolves once it is spawned (not once it is healthy). Rejects with
   * DEPLOY_START_FAILED when it cannot be spawned at all. */
  start(spec: InstanceSpec): Promise<InstanceInfo>;
  /** SIGTERM to the instance's whole process group, then SIGKILL after the grace period.
   * Resolves when it has exited. Stopping an instance that already exited resolves at once. */
  stop(id: string, options?: StopOptions): Promise<ExitInfo>;
  /** The last `lines` lines the instance printed (stdout and stderr, in order). */
  logs(id: string, options?: { lines?: number }): Promise<string[]>;
  /** Called whenever an instance exits, asked or not. Returns an unsubscribe function. */
  onExit(listener: (exit: ExitInfo) => void): () => void;
  /** Instances this runtime started that have not been forgotten (exited ones stay until `forget`). */
  list(): InstanceInfo[];
  /** The measured usage of each running instance, by id; one that cannot be measured is left out. Optional: a runtime that cannot measure has none. */
  usage?(): Promise<Map<string, InstanceUsage>>;
  /**
   * Probes the instance where it runs (on its host, by its agent: the app may listen on loopback
   * there), and resolves with what the probe got. Optional: without it, a probe goes straight to the
   * instance's `host:port` from this machine. Rejects when the instance's host cannot be asked.
   */
  probe?(instanceId: string, request: InstanceProbe): Promise<ProbeResult>;
  /** Drops an exited instance from `list()`; its log file stays. */
  forget(id: string): void;
  /**
   * Takes over the instances an earlier engine process started that still run: each is checked to
   * be the same process that was recorded (pid, process start time, folder) and from then on is
   * tracked like one this runtime started (`list`, `stop`, `logs`, `onExit`, which fires when it
   * exits, with `expected` true only when this runtime was asked to stop it). Whether it still
   * listens on its port is checked too, but an instance whose process runs and whose app no longer
   * listens is adopted anyway: its health check decides what happens to it. Records of instances that
   * are gone, or whose pid now belongs to another process (left alone, never signalled), are dropped.
   * Instances already tracked are skipped. Returns the adopted ones.
   */
  adopt(): Promise<InstanceInfo[]>;
  /**
   * Lets go of every instance without stopping it, for an engine that exits and leaves its instances
   * serving: they keep running (the next engine adopts them), no `onExit` listener hears of them any
   * more, and the runtime no longer keeps the process alive.
   */
  close(): void;
}
