import { AsyncLocalStorage } from "node:async_hooks";
import { EngineError, systemClock, type Clock } from "../core/index.js";
import type { EventLog, Lock, LockResult, LockTable } from "../store/index.js";
import { holderIsDead, thisHolder } from "./holder.js";

const leaseTtlMs = 30_000;
/** How often a restore that waits for a lease looks again. */
const leasePollMs = 1_000;

interface Holder {
  what: string;
  internal: boolean;
  since: number;
  done: Promise<void>;
}

export interface RunLockOptions {
  /** The engine's own short task (finishing a watch, an automatic rollback): waits for a running user command instead of being refused. */
  internal?: boolean;
  /**
   * The engine's restore after a start: a lease held in the store by someone alive is waited for,
   * up to this long, and then taken over (each said in an event), so that a restore never fails on a lease.
   */
  restore?: { waitMs?: number };
}

export interface WriterLockOptions {
  /** Where `lock.released`, `lock.waiting` and `lock.taken-over` are recorded. */
  events?: EventLog;
  /** The store's clock (leases expire by it); a restore waits on it. */
  clock?: Clock;
}

/** The store key of an environment's writer lease. */
export function writerLockKey(environment: string): string {
  return `writer/${environment}`;
}

function describeHolder(by: Omit<Lock, "token">): string {
  return `"${by.command}" (pid ${by.pid} on ${by.host}, since ${new Date(by.acquiredAt).toISOString()})`;
}

/**
 * One writer at a time per project and environment: deploys, promotions, rollbacks, approvals and
 * applies take it — in this engine (a holder in memory) and across engines and CLIs that share the
 * store (a lease in the store's lock table, renewed while the work runs, expiring if its holder dies).
 *
 * User commands refuse each other with DEPLOY_IN_PROGRESS; internal tasks (finishing a watch,
 * restoring after a restart, an automatic rollback) are short, so anything waits for them instead.
 * The lock is re-entrant within one piece of work: an apply that deploys runs the deploy under its
 * own hold. A lease whose holder is a process of this host that no longer runs (its pid is gone, or
 * belongs to a process started at another time) is released at once, with a `lock.released` event.
 */
export class WriterLock {
  readonly environment: string;
  #locks: LockTable;
  #events: EventLog | undefined;
  #clock: Clock;
  #holder: Holder | undefined;
  /** The hold the running work is under; background work it started outlives it, so a hold counts only while it is the current one. */
  #context = new AsyncLocalStorage<Holder>();

  constructor(locks: LockTable, environment: string, options: WriterLockOptions = {}) {
    this.#locks = locks;
    this.environment = environment;
    this.#events = options.events;
    this.#clock = options.clock ?? systemClock;
  }

  /** What holds the environment now, e.g. "deploy web". */
  holder(): string | undefined {
    return this.#holder?.what;
  }

  /** The lease as the store has it (whoever holds it, this engine or another). */
  lease(): Promise<Omit<Lock, "token"> | undefined> {
    return this.#locks.get(writerLockKey(this.environment));
  }

  async run<T>(what: string, work: () => Promise<T>, options: RunLockOptions = {}): Promise<T> {
    const held = this.#context.getStore();
    if (held && held === this.#holder) return work(); // already held by the work that called us
    const internal = options.internal ?? !!options.restore;
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
      const lease = await this.#acquire(key, what, options.restore);
      const renew = setInterval(() => void this.#locks.renew(key, lease.token, leaseTtlMs).catch(() => {}), leaseTtlMs / 3);
      try {
        return await this.#context.run(holder, work);
      } finally {
        clearInterval(renew);
        await this.#locks.release(key, lease.token).catch(() => {});
      }
    } finally {
      this.#holder = undefined;
      finished();
    }
  }

  async #acquire(key: string, what: string, restore: RunLockOptions["restore"]): Promise<Lock> {
    const me = thisHolder(what);
    let result: LockResult = await this.#locks.acquire(key, me, leaseTtlMs);
    const waitStarted = this.#clock.now();
    let waited = false;
    while (!result.acquired) {
      const by = result.heldBy;
      if (holderIsDead(by)) {
        result = await this.#locks.takeOver(key, by, me, leaseTtlMs);
        if (result.acquired) await this.#event("lock.released", `lease of ${describeHolder(by)} released: that process no longer runs; taken by "${what}"`, by);
        continue;
      }
      if (!restore) {
        throw new EngineError(
          "LOCK_HELD",
          `${this.environment} is locked by ${describeHolder(by)}, lease until ${new Date(by.expiresAt).toISOString()}. Refused: ${what}.`,
          { details: { holder: by } },
        );
      }
      const waitMs = restore.waitMs ?? 2 * leaseTtlMs;
      if (this.#clock.now() - waitStarted >= waitMs) {
        result = await this.#locks.takeOver(key, by, me, leaseTtlMs);
        if (result.acquired) await this.#event("lock.taken-over", `"${what}" took over the lease of ${describeHolder(by)} after waiting ${waitMs}ms for it`, by);
        continue;
      }
      if (!waited) await this.#event("lock.waiting", `"${what}" waits (up to ${waitMs}ms) for the lease of ${describeHolder(by)}`, by);
      waited = true;
      await this.#clock.sleep(Math.min(leasePollMs, Math.max(1, by.expiresAt - this.#clock.now())));
      result = await this.#locks.acquire(key, me, leaseTtlMs);
    }
    return result.lock;
  }

  async #event(type: string, message: string, by: Omit<Lock, "token">): Promise<void> {
    await this.#events
      ?.append({ type, environment: this.environment, message, data: { key: by.key, holder: { command: by.command, pid: by.pid, host: by.host, acquiredAt: by.acquiredAt } } })
      .catch(() => undefined);
  }
}
