import type { EngineError } from "../core/index.js";
import type { ExitInfo, InstanceInfo, Runtime } from "./types.js";

/**
 * The runtime of an environment whose hosts did not all answer when the engine started (not
 * bootstrapped yet, unreachable, a refused host key): it runs nothing, and starting an instance
 * fails with why (`reason`). What runs on those hosts keeps running under their daemons; an engine
 * started once they answer adopts it.
 */
export class UnattachedRuntime implements Runtime {
  readonly kind = "ssh";
  readonly reason: EngineError;
  /** The names of the hosts it waits for. */
  readonly hosts: readonly string[];

  constructor(reason: EngineError, hosts: readonly string[] = []) {
    this.reason = reason;
    this.hosts = hosts;
  }

  allocatePort(): Promise<number> {
    return Promise.reject(this.reason);
  }

  start(): Promise<InstanceInfo> {
    return Promise.reject(this.reason);
  }

  /** It never started an instance: whatever is asked for has exited as far as it knows. */
  stop(id: string): Promise<ExitInfo> {
    return Promise.resolve({ id, code: null, signal: null, expected: true });
  }

  logs(): Promise<string[]> {
    return Promise.resolve([]);
  }

  onExit(): () => void {
    return () => {};
  }

  list(): InstanceInfo[] {
    return [];
  }

  forget(): void {}

  adopt(): Promise<InstanceInfo[]> {
    return Promise.resolve([]);
  }

  close(): void {}
}
