import { randomBytes } from "node:crypto";
import { EngineError } from "../../core/index.js";
import { toLock, toLockHolder, type LockRow } from "../rows.js";
import type { Lock, LockHolder, LockResult, LockTable } from "../types.js";
import { SqlRepo } from "./database.js";

/**
 * Leases in one table. Acquiring is a single statement (an upsert that only overwrites an expired
 * lease), so two engines racing for a key cannot both win. A lease at or past its `expiresAt` is free.
 */
export class SqlLockTable extends SqlRepo implements LockTable {
  async acquire(key: string, holder: LockHolder, ttlMs: number): Promise<LockResult> {
    // A holder seen as gone between the upsert and the read released just then: try again.
    for (let attempt = 0; ; attempt++) {
      const now = this.now();
      const [row] = await this.db.query<LockRow>(
        `INSERT INTO locks (key, token, command, pid, host, acquired_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET token = excluded.token, command = excluded.command, pid = excluded.pid,
           host = excluded.host, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
         WHERE locks.expires_at <= ?
         RETURNING *`,
        [key, randomBytes(16).toString("hex"), holder.command, holder.pid, holder.host, now, now + ttlMs, now],
      );
      if (row) return { acquired: true, lock: toLock(row) };
      const heldBy = await this.#find(key);
      if (heldBy) return { acquired: false, heldBy };
      if (attempt >= 5) throw new EngineError("LOCK_HELD", `The lock ${key} changed hands too often to acquire it.`);
    }
  }

  async renew(key: string, token: string, ttlMs: number): Promise<boolean> {
    const rows = await this.db.query("UPDATE locks SET expires_at = ? WHERE key = ? AND token = ? RETURNING key", [this.now() + ttlMs, key, token]);
    return rows.length > 0;
  }

  async release(key: string, token: string): Promise<boolean> {
    const rows = await this.db.query("DELETE FROM locks WHERE key = ? AND token = ? RETURNING key", [key, token]);
    return rows.length > 0;
  }

  /** The lease on `key` while it holds; an expired lease is free, so it is not returned. */
  async get(key: string): Promise<Omit<Lock, "token"> | undefined> {
    const holder = await this.#find(key);
    return holder && holder.expiresAt > this.now() ? holder : undefined;
  }

  async forceRelease(key: string): Promise<Omit<Lock, "token"> | undefined> {
    const [row] = await this.db.query<LockRow>("DELETE FROM locks WHERE key = ? RETURNING *", [key]);
    return row && toLockHolder(row);
  }

  async #find(key: string): Promise<Omit<Lock, "token"> | undefined> {
    const [row] = await this.db.query<LockRow>("SELECT * FROM locks WHERE key = ?", [key]);
    return row && toLockHolder(row);
  }
}
