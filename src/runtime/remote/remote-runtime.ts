import { silentLogger, type Logger } from "../../core/index.js";
import type { ExitInfo, InstanceInfo, InstanceProbe, InstanceSpec, InstanceUsage, ProbeResult, Runtime, StopOptions } from "../types.js";
import type { DriftFinding, DriftInstance } from "../local/index.js";

/**
 * How a RemoteRuntime reaches a host's agent: requests over the host's data-plane control socket
 * and the exits it reports. The data plane's client (`DataPlane` of src/dataplane) is one; the
 * socket may be local or forwarded by ssh, the runtime does not know.
 */
export interface AgentChannel {
  /** One request to the agent; it fails (DATAPLANE_UNAVAILABLE) when no answer comes within its bound (`timeoutMs`, else the op's own). */
  request<T>(op: string, args?: Record<string, unknown>, options?: { timeoutMs?: number }): Promise<T>;
  onInstanceExit(listener: (exit: ExitInfo) => void): () => void;
  /** Called after the channel came back from a lost connection. */
  onReconnect?(listener: () => void): () => void;
  /** Lets go of the connection (the host's daemon keeps running). */
  close?(): void;
}

export interface RemoteRuntimeOptions {
  /** The host's name as declared (`hosts:`), for messages. */
  host: string;
  channel: AgentChannel;
  logger?: Logger;
  /** Called by `close()`: lets go of the channel when this runtime owns it. */
  onClose?: () => void;
}

/**
 * A Runtime whose instances run on another host, under that host's agent (the data-plane daemon's
 * LocalRuntime): the same shims, logs and records as `runtime: local`, so they outlive both the
 * engine and the connection. `list()` answers from what this runtime started or adopted, kept up
 * to date by the exits the agent reports (and re-read after a lost connection came back).
 */
export class RemoteRuntime implements Runtime {
  readonly kind = "ssh";
  readonly host: string;
  readonly #channel: AgentChannel;
  readonly #logger: Logger;
  readonly #onClose: (() => void) | undefined;
  readonly #instances = new Map<string, InstanceInfo>();
  readonly #exits = new Map<string, ExitInfo>();
  readonly #stopping = new Set<string>();
  readonly #listeners = new Set<(exit: ExitInfo) => void>();
  readonly #unsubscribe: Array<() => void> = [];
  /**
   * Instances to stop once the host answers again: their start or stop got no answer (the host went
   * silent), so they may run there while the engine counts them failed or stopped.
   */
  readonly #owed = new Set<string>();

  constructor(options: RemoteRuntimeOptions) {
    this.host = options.host;
    this.#channel = options.channel;
    this.#logger = options.logger ?? silentLogger;
    this.#onClose = options.onClose;
    this.#unsubscribe.push(this.#channel.onInstanceExit((exit) => this.#exited(exit)));
    const off = this.#channel.onReconnect?.(() => void this.#resync());
    if (off) this.#unsubscribe.push(off);
  }

  allocatePort(): Promise<number> {
    return this.#channel.request<number>("instance.port");
  }

  async start(spec: InstanceSpec): Promise<InstanceInfo> {
    const info = await this.#channel.request<InstanceInfo>("instance.start", { spec }).catch((error: { code?: string }) => {
      if (error.code === "DATAPLANE_UNAVAILABLE") this.#owed.add(spec.id);
      throw error;
    });
    this.#exits.delete(spec.id);
    this.#instances.set(info.id, info);
    return copy(info);
  }

  async stop(id: string, options: StopOptions = {}): Promise<ExitInfo> {
    const known = this.#exits.get(id);
    if (known) return known;
    this.#stopping.add(id);
    const exit = await this.#channel.request<ExitInfo>("instance.stop", { instance: id, graceMs: options.graceMs }).catch((error: { code?: string }) => {
      if (error.code === "DATAPLANE_UNAVAILABLE") this.#owed.add(id);
      throw error;
    });
    this.#exited(exit);
    return this.#exits.get(id) ?? exit;
  }

  logs(id: string, options: { lines?: number } = {}): Promise<string[]> {
    return this.#channel.request<string[]>("instance.logs", { instance: id, lines: options.lines });
  }

  /**
   * The host's agent probes the instance on the host, at the address it runs on there (loopback
   * unless the daemon has ENGINEROOM_AGENT_HOST). The request waits the probe's timeout and a quick
   * request's bound more; an abort of `signal` ends the wait with a failed probe.
   */
  probe(id: string, request: InstanceProbe): Promise<ProbeResult> {
    const { signal, ...asked } = request;
    const answer = this.#channel.request<ProbeResult>("instance.probe", { instance: id, ...asked }, { timeoutMs: request.timeoutMs + probeAnswerMs });
    if (!signal) return answer;
    return new Promise((resolve, reject) => {
      const started = performance.now();
      const onAbort = () => resolve({ ok: false, error: `aborted: ${String(signal.reason)}`, ms: Math.round(performance.now() - started) });
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      answer.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
    });
  }

  onExit(listener: (exit: ExitInfo) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  list(): InstanceInfo[] {
    return [...this.#instances.values()].map(copy);
  }

  async usage(): Promise<Map<string, InstanceUsage>> {
    const usage = await this.#channel.request<Record<string, InstanceUsage>>("instance.usage");
    return new Map(Object.entries(usage).filter(([id]) => this.#instances.has(id)));
  }

  forget(id: string): void {
    if (this.#instances.get(id)?.status !== "exited") return;
    this.#instances.delete(id);
    this.#exits.delete(id);
    this.#stopping.delete(id);
    this.#channel.request("instance.forget", { instance: id }).catch((error) => this.#logger.warn("could not forget an instance on its host", { host: this.host, instance: id, error: String(error) }));
  }

  /** Takes over what runs under the host's agent (started by an earlier engine). */
  async adopt(): Promise<InstanceInfo[]> {
    const found = await this.#channel.request<InstanceInfo[]>("instance.adopt");
    const adopted: InstanceInfo[] = [];
    for (const info of found) {
      if (this.#instances.has(info.id) || info.status === "exited") continue;
      this.#instances.set(info.id, info);
      adopted.push(copy(info));
    }
    return adopted;
  }

  /**
   * Makes the artifact of `digest` present on the host, copied from `source` (a folder the host
   * reaches: a shared store for now) and verified by digest there; skipped when the host has it.
   * Resolves with its folder on the host.
   */
  ensureArtifact(digest: string, source: string): Promise<{ shipped: boolean; path: string }> {
    return this.#channel.request("artifact.ensure", { digest, source });
  }

  /**
   * Drift on the host, found there by its agent (the same rules as the local runtime's detectDrift):
   * the ports of `instances` (those past their health gate) taken or quiet, and processes working in
   * the host's artifact folders (`artifactDirs` there; default every one its agent keeps) that belong
   * to no instance of `accounted` nor of the agent. It reads the host's /proc: bounded by 30 s, not a
   * quick request's bound (a miss drops the connection).
   */
  drift(input: { instances: DriftInstance[]; accounted: number[]; artifactDirs?: string[] }): Promise<DriftFinding[]> {
    return this.#channel.request("host.drift", { ...input }, { timeoutMs: driftAnswerMs });
  }

  /** What the host's agent reports of its host: name, load averages, free disk, running instances. */
  facts(): Promise<{ hostname: string; load: [number, number, number]; freeDiskBytes: number; running: number }> {
    return this.#channel.request("host.facts");
  }

  close(): void {
    for (const off of this.#unsubscribe.splice(0)) off();
    this.#instances.clear();
    this.#listeners.clear();
    this.#onClose?.();
  }

  #exited(exit: ExitInfo): void {
    const info = this.#instances.get(exit.id);
    if (!info || this.#exits.has(exit.id)) return;
    const settled = { ...exit, expected: exit.expected || this.#stopping.has(exit.id) };
    this.#exits.set(exit.id, settled);
    info.status = "exited";
    info.exitCode = exit.code;
    info.signal = exit.signal;
    for (const listener of [...this.#listeners]) listener(settled);
  }

  /**
   * After a lost connection: the exits reported meanwhile went unheard; the agent's list says which.
   * An instance whose start or stop got no answer, and that runs there, is stopped now.
   */
  async #resync(): Promise<void> {
    try {
      // Only what was known before the list was asked for: an instance started meanwhile is not in it.
      const known = [...this.#instances].filter(([, info]) => info.status !== "exited").map(([id]) => id);
      const now = new Map((await this.#channel.request<InstanceInfo[]>("instance.list")).map((i) => [i.id, i]));
      for (const id of known) {
        const there = now.get(id);
        if (!there || there.status === "exited") this.#exited({ id, code: there?.exitCode ?? null, signal: there?.signal ?? null, expected: false });
      }
      for (const id of [...this.#owed]) {
        this.#owed.delete(id);
        const there = now.get(id);
        if (!there || there.status === "exited") continue;
        this.#logger.warn("stopping an instance whose start or stop got no answer from its host", { host: this.host, instance: id });
        this.#stopping.add(id);
        const exit = await this.#channel.request<ExitInfo>("instance.stop", { instance: id, graceMs: 2_000 });
        if (this.#instances.has(id)) this.#exited(exit);
        else await this.#channel.request("instance.forget", { instance: id });
      }
    } catch (error) {
      this.#logger.warn("could not re-read a host's instances", { host: this.host, error: String(error) });
    }
  }
}

/** The bound of a host's drift scan (`host.drift`). */
const driftAnswerMs = 30_000;

/** How much longer than a probe's own timeout its answer from the host's agent is waited for. */
const probeAnswerMs = 5_000;

function copy(info: InstanceInfo): InstanceInfo {
  return { ...info, labels: { ...info.labels } };
}
