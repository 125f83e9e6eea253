import type { EngineError } from "../core/index.js";
import type { ExitInfo, InstanceInfo, InstanceUsage, Runtime, StopOptions } from "./types.js";

/**
 * The runtime of an environment whose hosts did not all answer when the engine started (not
 * bootstrapped yet, unreachable, a refused host key). Until `attach(runtime)` it runs nothing, and
 * starting an instance fails with why (`reason`); what runs on those hosts keeps running under their
 * daemons. Once attached it is that runtime (its exits reach the listeners registered before).
 */
export class UnattachedRuntime implements Runtime {
  readonly kind = "ssh";
  readonly reason: EngineError;
  /** The names of the hosts it waits for. */
  readonly hosts: readonly string[];
  #inner: Runtime | undefined;
  readonly #listeners = new Map<(exit: ExitInfo) => void, () => void>();

  constructor(reason: EngineError, hosts: readonly string[] = []) {
    this.reason = reason;
    this.hosts = hosts;
  }

  /** The runtime it became, once attached. */
  get inner(): Runtime | undefined {
    return this.#inner;
  }

  /** From now on every call goes to `runtime`. */
  attach(runtime: Runtime): void {
    this.#inner = runtime;
    for (const listener of this.#listeners.keys()) this.#listeners.set(listener, runtime.onExit(listener));
  }

  allocatePort(): Promise<number> {
    return this.#inner ? this.#inner.allocatePort() : Promise.reject(this.reason);
  }

  start(...args: Parameters<Runtime["start"]>): Promise<InstanceInfo> {
    return this.#inner ? this.#inner.start(...args) : Promise.reject(this.reason);
  }

  /** Before it is attached it never started an instance: whatever is asked for has exited as far as it knows. */
  stop(id: string, options?: StopOptions): Promise<ExitInfo> {
    return this.#inner ? this.#inner.stop(id, options) : Promise.resolve({ id, code: null, signal: null, expected: true });
  }

  logs(id: string, options?: { lines?: number }): Promise<string[]> {
    return this.#inner ? this.#inner.logs(id, options) : Promise.resolve([]);
  }

  onExit(listener: (exit: ExitInfo) => void): () => void {
    this.#listeners.set(listener, this.#inner?.onExit(listener) ?? (() => {}));
    return () => {
      this.#listeners.get(listener)?.();
      this.#listeners.delete(listener);
    };
  }

  list(): InstanceInfo[] {
    return this.#inner?.list() ?? [];
  }

  usage(): Promise<Map<string, InstanceUsage>> {
    return this.#inner?.usage?.() ?? Promise.resolve(new Map());
  }

  forget(id: string): void {
    this.#inner?.forget(id);
  }

  adopt(): Promise<InstanceInfo[]> {
    return this.#inner?.adopt() ?? Promise.resolve([]);
  }

  close(): void {
    this.#inner?.close();
  }
}
