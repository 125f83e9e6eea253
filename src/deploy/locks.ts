import { hostname } from "node:os";
import { EngineError } from "../core/index.js";
import type { LockTable } from "../store/index.js";

const leaseTtlMs = 30_000;

interface Holder {
  what: string;
  internal: boolean;
  done: Promise<void>;
}

/**
 * One deploy or rollback per service at a time: in this engine (a map) and across engines that share
 * the store (a lease, renewed while the work runs). User commands refuse each other with
 * DEPLOY_IN_PROGRESS; internal tasks (finishing a watch, restoring after a restart) are short, so
 * anything waits for them instead.
 */
export class ServiceLocks {
  #locks: LockTable;
  #environment: string;
  #holders = new Map<string, Holder>();

  constructor(locks: LockTable, environment: string) {
    this.#locks = locks;
    this.#environment = environment;
  }

  /** What holds the service now, e.g. "deploy web". */
  holder(service: string): string | undefined {
    return this.#holders.get(service)?.what;
  }

  async run<T>(service: string, what: string, work: () => Promise<T>, options: { internal?: boolean } = {}): Promise<T> {
    const internal = options.internal ?? false;
    for (let running = this.#holders.get(service); running; running = this.#holders.get(service)) {
      if (!internal && !running.internal) {
        throw new EngineError("DEPLOY_IN_PROGRESS", `${service} is busy: ${running.what} is running. Refused: ${what}.`);
      }
      await running.done;
    }
    let finished!: () => void;
    this.#holders.set(service, { what, internal, done: new Promise<void>((resolve) => (finished = resolve)) });
    try {
      const key = `deploy/${this.#environment}/${service}`;
      const lease = await this.#locks.acquire(key, { command: what, pid: process.pid, host: hostname() }, leaseTtlMs);
      if (!lease.acquired) {
        const by = lease.heldBy;
        throw new EngineError(
          "DEPLOY_IN_PROGRESS",
          `${service} is locked by "${by.command}" (pid ${by.pid} on ${by.host}) until ${new Date(by.expiresAt).toISOString()}. Refused: ${what}.`,
        );
      }
      const renew = setInterval(() => void this.#locks.renew(key, lease.lock.token, leaseTtlMs).catch(() => {}), leaseTtlMs / 3);
      try {
        return await work();
      } finally {
        clearInterval(renew);
        await this.#locks.release(key, lease.lock.token).catch(() => {});
      }
    } finally {
      this.#holders.delete(service);
      finished();
    }
  }
}
