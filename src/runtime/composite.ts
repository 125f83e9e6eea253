/**
 * The engine's runtimes seen as one: each environment has its own (the project's `runtime:`, or a
 * fleet of its own ssh hosts), and what looks at every instance (adoption, drift, usage and cost,
 * status, logs) looks through this one.
 */
import { EngineError } from "../core/index.js";
import type { ExitInfo, InstanceInfo, InstanceSpec, InstanceUsage, Runtime, StopOptions } from "./types.js";

/**
 * Several runtimes behind one Runtime: `list`, `adopt` and `usage` are theirs together; `stop`,
 * `logs` and `forget` go to the runtime that knows the instance; `onExit` hears every runtime;
 * `start` goes to the runtime of the instance's environment (`labels.environment`).
 */
export class CompositeRuntime implements Runtime {
  readonly kind = "composite";
  /** The distinct runtimes, in the order given. */
  readonly parts: readonly Runtime[];
  readonly #byEnvironment: ReadonlyMap<string, Runtime>;

  /** `byEnvironment`: each environment's runtime; `others`: runtimes no environment uses any more (their instances are adopted and stopped as orphans). */
  constructor(byEnvironment: ReadonlyMap<string, Runtime>, others: Runtime[] = []) {
    this.#byEnvironment = byEnvironment;
    this.parts = [...new Set([...others, ...byEnvironment.values()])];
    if (this.parts.length === 0) throw new EngineError("INTERNAL", "A composite runtime needs at least one runtime.");
  }

  /** The runtime of an environment (undefined for one the engine does not run). */
  of(environment: string): Runtime | undefined {
    return this.#byEnvironment.get(environment);
  }

  /** The environments that run on `runtime`. */
  environmentsOf(runtime: Runtime): string[] {
    return [...this.#byEnvironment].filter(([, r]) => r === runtime).map(([name]) => name);
  }

  allocatePort(): Promise<number> {
    return this.parts[0]!.allocatePort();
  }

  start(spec: InstanceSpec): Promise<InstanceInfo> {
    const runtime = this.#byEnvironment.get(spec.labels?.environment ?? "");
    if (!runtime) return Promise.reject(new EngineError("INTERNAL", `No runtime for the environment of instance ${spec.id} (label environment: ${spec.labels?.environment ?? "none"}).`));
    return runtime.start(spec);
  }

  stop(id: string, options?: StopOptions): Promise<ExitInfo> {
    return this.#owner(id).stop(id, options);
  }

  logs(id: string, options?: { lines?: number }): Promise<string[]> {
    return this.#owner(id).logs(id, options);
  }

  onExit(listener: (exit: ExitInfo) => void): () => void {
    const offs = this.parts.map((r) => r.onExit(listener));
    return () => offs.forEach((off) => off());
  }

  list(): InstanceInfo[] {
    return this.parts.flatMap((r) => r.list());
  }

  async usage(): Promise<Map<string, InstanceUsage>> {
    const all = new Map<string, InstanceUsage>();
    for (const each of await Promise.all(this.parts.map((r) => r.usage?.() ?? new Map<string, InstanceUsage>()))) for (const [id, u] of each) all.set(id, u);
    return all;
  }

  forget(id: string): void {
    this.#owner(id).forget(id);
  }

  async adopt(): Promise<InstanceInfo[]> {
    return (await Promise.all(this.parts.map((r) => r.adopt()))).flat();
  }

  close(): void {
    for (const r of this.parts) r.close();
  }

  /** The runtime that tracks the instance; the first one when none does (which answers as for an instance it does not know). */
  #owner(id: string): Runtime {
    return this.parts.find((r) => r.list().some((i) => i.id === id)) ?? this.parts[0]!;
  }
}
