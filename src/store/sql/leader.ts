import { EngineError } from "../../core/index.js";
import type { LeaderClaim, LeaderLease, LeaderState } from "../leader-types.js";
import { SqlRepo, type Dialect, type SqlDatabase, type SqlExecutor, type SqlValue } from "./database.js";

interface LeaderRow {
  holder: string;
  address: string | null;
  term: number | string;
  acquired_at: number | string;
  expires_at: number | string;
}

function toLeader(row: LeaderRow): LeaderState {
  return { holder: row.holder, address: row.address, term: Number(row.term), acquiredAt: Number(row.acquired_at), expiresAt: Number(row.expires_at) };
}

/** The term this store's writes carry: undefined (not fenced), null (not leading: every write refused) or a term. */
export class Fence {
  term: number | null | undefined = undefined;
}

function notLeader(leader: LeaderState | undefined, mine: number | null): EngineError {
  const who = leader ? `${leader.holder} leads (term ${leader.term})` : "no engine leads";
  const was = mine === null ? "it stands by" : `its term ${mine} is over`;
  return new EngineError("NOT_LEADER", `This engine does not lead: ${who}, and ${was}. Nothing was changed.`, {
    ...(leader?.address ? { hint: `Send changes to the leader's API at ${leader.address} (ENGINEROOM_API_URL), or wait for this engine to lead.` } : {}),
    details: { leader: leader ? { holder: leader.holder, address: leader.address, term: leader.term } : null },
  });
}

const writeStatement = /^\s*(INSERT|UPDATE|DELETE)\b/i;
const leaderTable = /\bleader_lease\b/;

/** The lease row, locked against a takeover until the caller's transaction ends (PostgreSQL). */
async function readLeader(on: SqlExecutor, dialect: Dialect, lock: boolean): Promise<LeaderState | undefined> {
  const [row] = await on.query<LeaderRow>(`SELECT * FROM leader_lease WHERE id = 1${lock && dialect === "postgres" ? " FOR SHARE" : ""}`);
  return row && toLeader(row);
}

/**
 * A `SqlDatabase` whose writes are fenced by the leader's term. Once a term is set, every write
 * (INSERT, UPDATE, DELETE, alone or in a transaction) first reads the lease row FOR SHARE in the same
 * transaction and goes ahead only if the term is still this store's: a takeover's UPDATE of the row
 * waits for writes in flight to commit, and a write after it sees the new term and is refused. So a
 * deposed leader can append no event and switch no release, however late its statements arrive.
 */
export class FencedDatabase implements SqlDatabase {
  constructor(
    readonly inner: SqlDatabase,
    readonly fence: Fence,
  ) {}

  get dialect(): Dialect {
    return this.inner.dialect;
  }

  query<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    if (!this.#fenced(sql)) return this.inner.query<T>(sql, params);
    return this.inner.transaction(async (tx) => {
      await this.#check(tx);
      return tx.query<T>(sql, params);
    });
  }

  exec(sql: string): Promise<void> {
    return this.inner.exec(sql);
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, lockKey?: string): Promise<T> {
    if (this.fence.term === undefined) return this.inner.transaction(fn, lockKey);
    return this.inner.transaction((tx) => {
      let checked = false;
      const guarded: SqlExecutor = {
        query: async <R>(sql: string, params?: readonly SqlValue[]) => {
          if (!checked && this.#fenced(sql)) {
            await this.#check(tx);
            checked = true;
          }
          return tx.query<R>(sql, params);
        },
        exec: (sql: string) => tx.exec(sql),
      };
      return fn(guarded);
    }, lockKey);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  #fenced(sql: string): boolean {
    return this.fence.term !== undefined && writeStatement.test(sql) && !leaderTable.test(sql);
  }

  async #check(tx: SqlExecutor): Promise<void> {
    const mine = this.fence.term ?? null;
    const leader = await readLeader(tx, this.dialect, mine !== null);
    if (mine === null || leader?.term !== mine) throw notLeader(leader, mine);
  }
}

/** The leader lease in one row (migration 14); claims are single upserts, so two engines cannot both win. */
export class SqlLeaderLease extends SqlRepo implements LeaderLease {
  constructor(
    db: SqlDatabase,
    now: () => number,
    readonly fence: Fence,
  ) {
    super(db, now);
  }

  get fencedTerm(): number | null | undefined {
    return this.fence.term;
  }

  async claim(holder: string, address: string | null, leaseMs: number): Promise<LeaderClaim> {
    const now = this.now();
    // Same holder: extend, same term. Another holder: only over an expired lease, with the next term.
    const [row] = await this.db.query<LeaderRow>(
      `INSERT INTO leader_lease (id, holder, address, term, acquired_at, expires_at) VALUES (1, ?, ?, 1, ?, ?)
       ON CONFLICT (id) DO UPDATE SET
         term = CASE WHEN leader_lease.holder = excluded.holder THEN leader_lease.term ELSE leader_lease.term + 1 END,
         acquired_at = CASE WHEN leader_lease.holder = excluded.holder THEN leader_lease.acquired_at ELSE excluded.acquired_at END,
         holder = excluded.holder, address = excluded.address, expires_at = excluded.expires_at
       WHERE leader_lease.holder = excluded.holder OR leader_lease.expires_at <= ?
       RETURNING *`,
      [holder, address, now, now + leaseMs, now],
    );
    if (row) {
      const state = toLeader(row);
      this.fence.term = state.term;
      return { leading: true, state };
    }
    this.fence.term = null;
    return { leading: false, leader: await this.current() };
  }

  current(): Promise<LeaderState | undefined> {
    return readLeader(this.db, this.db.dialect, false);
  }

  async resign(holder: string): Promise<boolean> {
    const rows = await this.db.query("UPDATE leader_lease SET expires_at = ? WHERE id = 1 AND holder = ? RETURNING id", [this.now(), holder]);
    this.fence.term = null;
    return rows.length > 0;
  }
}
