/**
 * The little a SQL backend must provide for the shared repositories in this folder to run on it.
 * SQLite and PostgreSQL each implement `SqlDatabase`; everything above it is written once.
 */

export type Dialect = "sqlite" | "postgres";

/** A value bound to a `?` placeholder; bytes go to a BLOB (SQLite) or BYTEA (PostgreSQL) column. */
export type SqlValue = string | number | null | Uint8Array;

export interface SqlExecutor {
  /** Runs one statement, written with `?` placeholders, and returns its rows. Writes that need their
   * result use `RETURNING` (both dialects support it), so there is one way to read a result. */
  query<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Runs a script of one or more statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface SqlDatabase extends SqlExecutor {
  readonly dialect: Dialect;
  /**
   * Runs `fn` in one transaction: committed if it resolves, rolled back if it throws. Transactions
   * that pass the same `lockKey` run one at a time, across processes too (SQLite takes its write lock
   * up front; PostgreSQL takes an advisory lock). Inside `fn` use only `tx`, never the database itself.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, lockKey?: string): Promise<T>;
  /** Closes the connection(s); calling it again does nothing. */
  close(): Promise<void>;
}

/** ` LIMIT ?` with its parameter when a limit is given, for queries whose limit is optional. */
export function limitClause(limit: number | undefined, params: SqlValue[]): string {
  if (limit === undefined) return "";
  params.push(Math.max(0, Math.floor(limit)));
  return " LIMIT ?";
}

/** What each of the shared repositories works with: the database, and where time comes from. */
export abstract class SqlRepo {
  constructor(
    protected readonly db: SqlDatabase,
    protected readonly now: () => number,
  ) {}
}
