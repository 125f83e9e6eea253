import { AsyncLocalStorage } from "node:async_hooks";
import { hostname } from "node:os";
import { EngineError } from "../core/index.js";
import type { Lock, LockTable } from "../store/index.js";

const leaseTtlMs = 30_000;

interface Holder {
  what: string;
  internal: boolean;
  since: number;
  done: Promise<void>;
}

/** The store key of an environment's writer lease. */
export function writerLockKey(environment: string): string {
  return `writer/${environment}`;
}

/**
 * One writer at a time per project and environment: deploys, promotions, rollbacks, approvals and
 * applies take it — in this engine (a holder in memory) and across engines and CLIs that share the
 * store (a lease in the store's lock table, renewed while the work runs, expiring if its holder dies).
 *
 * User commands refuse each other with DEPLOY_IN_PROGRESS; internal tasks (finishing a watch,
 * restoring after a restart, an automatic rollback) are short, so anything waits for them instead.
 * The lock is re-entrant within one piece of work: an apply that deploys runs the deploy under its
 * own hold.
 */
export class WriterLock {
  readonly environment: string;
  #locks: LockTable;
  #holder: Holder | undefined;
  /** The hold the running work is under; background work it started outlives it, so a hold counts only while it is the current one. */
  #context = new AsyncLocalStorage<Holder>();

  constructor(locks: LockTable, environment: string) {
    this.#locks = locks;
    this.environment = environment;
  }

  /** What holds the environment now, e.g. "deploy web". */
  holder(): string | undefined {
    return this.#holder?.what;
  }

  /** The lease as the store has it (whoever holds it, this engine or another). */
  lease(): Promise<Omit<Lock, "token"> | undefined> {
    return this.#locks.get(writerLockKey(this.environment));
  }

  async run<T>(what: string, work: () => Promise<T>, options: { internal?: boolean } = {}): Promise<T> {
    const held = this.#context.getStore();
    if (held && held === this.#holder) return work(); // already held by the work that called us
    const internal = options.internal ?? false;
    for (let running = this.#holder; running; running = this.#holder) {
      if (!internal && !running.internal) {
        throw new EngineError("DEPLOY_IN_PROGRESS", `${this.environment} is busy: ${running.what} is running (since ${new Date(running.since).toISOString()}). Refused: ${what}.`);
      }
      await running.done;
    }
    let finished!: () => void;
    const holder: Holder = { what, internal, since: Date.now(), done: new Promise<void>((resolve) => (finished = resolve)) };
    this.#holder = holder;
    try {
      const key = writerLockKey(this.environment);
      const lease = await this.#locks.acquire(key, { command: what, pid: process.pid, host: hostname() }, leaseTtlMs);
      if (!lease.acquired) {
        const by = lease.heldBy;
        throw new EngineError(
          "LOCK_HELD",
          `${this.environment} is locked by "${by.command}" (pid ${by.pid} on ${by.host}, since ${new Date(by.acquiredAt).toISOString()}, lease until ${new Date(by.expiresAt).toISOString()}). Refused: ${what}.`,
          { details: { holder: by } },
        );
      }
      const renew = setInterval(() => void this.#locks.renew(key, lease.lock.token, leaseTtlMs).catch(() => {}), leaseTtlMs / 3);
      try {
        return await this.#context.run(holder, work);
      } finally {
        clearInterval(renew);
        await this.#locks.release(key, lease.lock.token).catch(() => {});
      }
    } finally {
      this.#holder = undefined;
      finished();
    }
  }
}
