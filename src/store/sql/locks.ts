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
        `INSERT INTO locks (key, token, command, pid, host, start_time, acquired_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET token = excluded.token, command = excluded.command, pid = excluded.pid,
           host = excluded.host, start_time = excluded.start_time, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
         WHERE locks.expires_at <= ?
         RETURNING *`,
        [key, token(), holder.command, holder.pid, holder.host, holder.startTime ?? null, now, now + ttlMs, now],
      );
      if (row) return { acquired: true, lock: toLock(row) };
      const heldBy = await this.#find(key);
      if (heldBy) return { acquired: false, heldBy };
      if (attempt >= 5) throw new EngineError("LOCK_HELD", `The lock ${key} changed hands too often to acquire it.`);
    }
  }

  async takeOver(key: string, from: Omit<Lock, "token">, holder: LockHolder, ttlMs: number): Promise<LockResult> {
    const now = this.now();
    // The holder is known by what it recorded; a lease taken by anyone since has another acquired_at or pid.
    const [row] = await this.db.query<LockRow>(
      `UPDATE locks SET token = ?, command = ?, pid = ?, host = ?, start_time = ?, acquired_at = ?, expires_at = ?
       WHERE key = ? AND pid = ? AND host = ? AND acquired_at = ?
       RETURNING *`,
      [token(), holder.command, holder.pid, holder.host, holder.startTime ?? null, now, now + ttlMs, key, from.pid, from.host, from.acquiredAt],
    );
    if (row) return { acquired: true, lock: toLock(row) };
    return this.acquire(key, holder, ttlMs); // released or changed hands meanwhile: the ordinary rules apply
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

function token(): string {
  return randomBytes(16).toString("hex");
}
