/**
 * The host agent: the part of the data-plane process that supervises instances on its host, for a
 * `runtime: ssh` environment whose engine runs elsewhere. It is a LocalRuntime inside the daemon
 * (the same shims, records, logs and adoption as `runtime: local`), answered over the control
 * socket, plus the host's facts (load, free disk) and an artifact cache by digest.
 *
 * Instances outlive the engine (they belong to the daemon) and the daemon too: a restarted or
 * handed-over daemon adopts them again from `<state>/agent/instances/`.
 */
import { cp, mkdir, readdir, rename, rm, stat, statfs } from "node:fs/promises";
import { hostname, loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { digestFolder } from "../artifact/index.js";
import { EngineError, type Logger } from "../core/index.js";
import { detectDrift, LocalRuntime, probe, type DriftFinding, type ExitInfo, type InstanceProbe, type InstanceSpec, type ProbeResult } from "../runtime/index.js";

/** One instance whose port `host.drift` checks: `pid` leads its process group. */
type DriftInstance = Parameters<typeof detectDrift>[0]["instances"][number];

/** What `host.facts` answers: what `status` shows of a host. */
export interface HostFacts {
  hostname: string;
  /** 1, 5 and 15 minute load averages. */
  load: [number, number, number];
  /** Free bytes on the file system of the state folder. */
  freeDiskBytes: number;
  running: number;
}

/** The ops the agent answers, each `{ op, ...args }` on the control socket. */
export const agentOps = ["instance.port", "instance.start", "instance.stop", "instance.logs", "instance.list", "instance.adopt", "instance.forget", "instance.usage", "instance.probe", "artifact.has", "artifact.ensure", "host.facts", "host.drift"] as const;
export type AgentOp = (typeof agentOps)[number];

export function isAgentOp(op: string): op is AgentOp {
  return (agentOps as readonly string[]).includes(op);
}

const digestPattern = /^sha256:[0-9a-f]{64}$/;

/**
 * Where the agent of the data plane with state folder `stateDir` keeps artifacts: `artifacts`, one
 * folder per digest (`sha256-<hex>`), and `incoming`, where a folder shipped over ssh lands before
 * `artifact.ensure` verifies it and moves it into place (the same file system, so a rename).
 */
export function agentArtifactPaths(stateDir: string): { artifacts: string; incoming: string } {
  const artifacts = join(stateDir, "agent", "artifacts");
  return { artifacts, incoming: join(artifacts, "incoming") };
}

export class HostAgent {
  readonly #stateDir: string;
  readonly #artifacts: { artifacts: string; incoming: string };
  readonly #runtime: LocalRuntime;
  readonly #logger: Logger;

  constructor(options: { stateDir: string; logger: Logger; host?: string }) {
    this.#stateDir = join(options.stateDir, "agent");
    this.#artifacts = agentArtifactPaths(options.stateDir);
    this.#logger = options.logger;
    this.#runtime = new LocalRuntime({ logDir: join(this.#stateDir, "logs"), stateDir: this.#stateDir, host: options.host ?? "127.0.0.1", logger: options.logger });
  }

  /** At the daemon's start: takes over the instances an earlier daemon process left running. */
  async restore(): Promise<void> {
    const adopted = await this.#runtime.adopt();
    if (adopted.length > 0) this.#logger.info("agent adopted instances", { instances: adopted.map((i) => i.id) });
  }

  onExit(listener: (exit: ExitInfo) => void): () => void {
    return this.#runtime.onExit(listener);
  }

  /** The folder an artifact of `digest` is unpacked in on this host. */
  artifactDir(digest: string): string {
    return join(this.#artifacts.artifacts, digest.replace(":", "-"));
  }

  async handle(op: AgentOp, args: Record<string, unknown>): Promise<unknown> {
    const runtime = this.#runtime;
    switch (op) {
      case "instance.port":
        return runtime.allocatePort();
      case "instance.start":
        return runtime.start(args.spec as InstanceSpec);
      case "instance.stop":
        return runtime.stop(String(args.instance), { graceMs: typeof args.graceMs === "number" ? args.graceMs : undefined });
      case "instance.logs":
        return runtime.logs(String(args.instance), { lines: typeof args.lines === "number" ? args.lines : undefined });
      case "instance.list":
        return runtime.list();
      case "instance.adopt":
        // The daemon adopted at its start; a new engine takes over what runs now (and what exited unheard).
        await runtime.adopt();
        return runtime.list();
      case "instance.forget":
        runtime.forget(String(args.instance));
        return null;
      case "instance.usage":
        return Object.fromEntries(await runtime.usage());
      case "instance.probe":
        return this.probe(String(args.instance), probeArgs(args));
      case "artifact.has":
        return { present: await this.#has(digestArg(args.digest)), path: this.artifactDir(digestArg(args.digest)) };
      case "artifact.ensure":
        return this.#ensureArtifact(digestArg(args.digest), String(args.source ?? ""));
      case "host.facts":
        return this.facts();
      case "host.drift":
        return this.drift(driftArgs(args));
    }
  }

  async facts(): Promise<HostFacts> {
    await mkdir(this.#stateDir, { recursive: true, mode: 0o700 });
    const fs = await statfs(this.#stateDir);
    const [one, five, fifteen] = loadavg() as [number, number, number];
    return {
      hostname: hostname(),
      load: [one, five, fifteen],
      freeDiskBytes: Number(fs.bavail) * Number(fs.bsize),
      running: this.#runtime.list().filter((i) => i.status !== "exited").length,
    };
  }

  /**
   * One probe (a health check, a smoke test) of an instance of this agent, from this host, at the
   * address and port it runs on here: an app that listens on loopback only is reached too. The body
   * is capped as the engine's own probes cap it. INSTANCE_UNKNOWN when the agent has no such instance.
   */
  probe(instanceId: string, request: InstanceProbe): Promise<ProbeResult> {
    const instance = this.#runtime.list().find((i) => i.id === instanceId);
    if (!instance) throw new EngineError("INSTANCE_UNKNOWN", `Host ${hostname()} runs no instance ${instanceId}.`, { details: { instance: instanceId } });
    return probe({ ...request, host: instance.host, port: instance.port });
  }

  /**
   * Drift on this host (see detectDrift): the instances given have their ports checked, and processes
   * working in the artifact folders (default: every artifact this agent keeps) outside the groups of
   * the instances given, of `accounted` and of this agent's own instances are strays.
   */
  async drift(input: { instances: DriftInstance[]; accounted: number[]; artifactDirs?: string[] }): Promise<DriftFinding[]> {
    const own = this.#runtime.list().flatMap((i) => (i.pid === undefined ? [] : [i.pid]));
    const artifactDirs = input.artifactDirs ?? (await this.#artifactDirs());
    return detectDrift({ instances: input.instances, accounted: [...input.accounted, ...own], artifactDirs });
  }

  async #artifactDirs(): Promise<string[]> {
    const names = await readdir(this.#artifacts.artifacts).catch(() => [] as string[]);
    return names.filter((name) => /^sha256-[0-9a-f]{64}$/.test(name)).map((name) => join(this.#artifacts.artifacts, name));
  }

  async #has(digest: string): Promise<boolean> {
    return stat(this.artifactDir(digest)).then(
      (s) => s.isDirectory(),
      () => false,
    );
  }

  /**
   * Makes the artifact of `digest` present on this host from `source` (a folder on a store this host
   * reaches), verifying the digest of what arrived: skipped when it is here already. A source in the
   * agent's `incoming` folder (shipped over ssh) is verified where it is and moved into place, and
   * removed when its digest is not `digest` or the artifact is here already.
   */
  async #ensureArtifact(digest: string, source: string): Promise<{ shipped: boolean; path: string }> {
    const target = this.artifactDir(digest);
    const shipped = source !== "" && dirname(resolve(source)) === this.#artifacts.incoming;
    if (await this.#has(digest)) {
      if (shipped) await rm(source, { recursive: true, force: true });
      return { shipped: false, path: target };
    }
    if (!source) throw new EngineError("ARTIFACT_NOT_FOUND", `Host ${hostname()} has no artifact ${digest} and no source was given.`);
    await mkdir(this.#artifacts.artifacts, { recursive: true, mode: 0o700 });
    const incoming = shipped ? source : `${target}.incoming-${process.pid}-${Date.now()}`;
    if (!shipped) {
      try {
        await cp(source, incoming, { recursive: true, verbatimSymlinks: true, errorOnExist: true });
      } catch (error) {
        await rm(incoming, { recursive: true, force: true });
        throw new EngineError("ARTIFACT_NOT_FOUND", `Host ${hostname()} could not read the artifact at ${source}: ${(error as Error).message}.`, { cause: error });
      }
    }
    const arrived = await digestFolder(incoming).catch(async (error) => {
      await rm(incoming, { recursive: true, force: true });
      throw error;
    });
    if (arrived !== digest) {
      await rm(incoming, { recursive: true, force: true });
      throw new EngineError("ARTIFACT_DIGEST_MISMATCH", `What arrived on host ${hostname()} has digest ${arrived}, not ${digest}; nothing was kept.`, { details: { expected: digest, arrived } });
    }
    await rename(incoming, target).catch(async (error) => {
      await rm(incoming, { recursive: true, force: true });
      if (!(await this.#has(digest))) throw error; // another ensure of the same digest won the race
    });
    this.#logger.info("artifact arrived", { digest });
    return { shipped: true, path: target };
  }

  /** `engineroom down`: its instances stop. */
  stopAll(graceMs: number): Promise<ExitInfo[]> {
    return this.#runtime.stopAll(graceMs);
  }

  /** A handover or a plain exit: the instances keep running for the next daemon process. */
  close(): void {
    this.#runtime.close();
  }
}

function driftArgs(args: Record<string, unknown>): { instances: DriftInstance[]; accounted: number[]; artifactDirs?: string[] } {
  const count = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
  const instances = args.instances ?? [];
  const accounted = args.accounted ?? [];
  const valid =
    Array.isArray(instances) &&
    instances.every((i: Partial<DriftInstance>) => typeof i?.id === "string" && count(i.pid) && count(i.port)) &&
    Array.isArray(accounted) &&
    accounted.every(count) &&
    (args.artifactDirs === undefined || (Array.isArray(args.artifactDirs) && args.artifactDirs.every((d) => typeof d === "string" && d.startsWith("/"))));
  if (!valid) {
    throw new EngineError("API_BAD_REQUEST", "host.drift takes { instances: [{ id, pid, port }], accounted: [pid, ...], artifactDirs?: [absolute folder, ...] }.");
  }
  return { instances: instances as DriftInstance[], accounted: accounted as number[], ...(args.artifactDirs ? { artifactDirs: args.artifactDirs as string[] } : {}) };
}

/** The longest a probe of `instance.probe` may wait, and the most of its body it may keep. */
const probeLimits = { timeoutMs: 10 * 60_000, maxBodyBytes: 1024 * 1024 };

function probeArgs(args: Record<string, unknown>): InstanceProbe {
  const { method, path, headers, body, timeoutMs, maxBodyBytes } = args;
  const within = (v: unknown, max: number) => typeof v === "number" && v > 0 && v <= max;
  const valid =
    typeof args.instance === "string" &&
    typeof path === "string" &&
    path.startsWith("/") &&
    (method === undefined || (typeof method === "string" && /^[A-Z]+$/.test(method))) &&
    (headers === undefined || (typeof headers === "object" && headers !== null && Object.values(headers).every((v) => typeof v === "string"))) &&
    (body === undefined || typeof body === "string") &&
    within(timeoutMs, probeLimits.timeoutMs) &&
    (maxBodyBytes === undefined || (Number.isInteger(maxBodyBytes) && within(maxBodyBytes, probeLimits.maxBodyBytes)));
  if (!valid) {
    throw new EngineError("API_BAD_REQUEST", `instance.probe takes { instance, path: "/...", timeoutMs: 1..${probeLimits.timeoutMs}, method?: "GET", headers?: { name: value }, body?: string, maxBodyBytes?: 1..${probeLimits.maxBodyBytes} }.`);
  }
  return { path, timeoutMs: timeoutMs as number, ...(method ? { method } : {}), ...(headers ? { headers: headers as Record<string, string> } : {}), ...(body !== undefined ? { body } : {}), ...(maxBodyBytes ? { maxBodyBytes: maxBodyBytes as number } : {}) };
}

function digestArg(value: unknown): string {
  if (typeof value !== "string" || !digestPattern.test(value)) {
    throw new EngineError("API_BAD_REQUEST", `An artifact digest is sha256:<64 hex digits>, not ${JSON.stringify(value)}.`);
  }
  return value;
}
