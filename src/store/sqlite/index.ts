/**
 * The embedded store: one SQLite file (WAL mode), the default under `.engineroom/`.
 */
import { resolve } from "node:path";
import Database from "better-sqlite3";
import { createLogger, EngineError, systemClock, type Clock } from "../../core/index.js";
import { acceptFreshStoreVariable, StoreFileGuard } from "./guard.js";
import type { SqlDatabase, SqlExecutor, SqlValue } from "../sql/database.js";
import { SqlStore } from "../sql/store.js";
import type { Store } from "../types.js";

export interface SqliteStoreOptions {
  /** The database file, or ":memory:" for a store that lives as long as the object. */
  path: string;
  clock?: Clock;
  /** How long to wait for another process's write to finish before giving up. Default 5000. */
  busyTimeoutMs?: number;
  /**
   * Open an empty store although the state folder's marker shows a store file existed there (it was
   * deleted). Default: false, unless $ENGINEROOM_ACCEPT_FRESH_STORE is 1; otherwise STORE_LOST.
   */
  acceptFreshStore?: boolean;
  /** Told once when the file is deleted or replaced under a running store. Default: an error on standard error. */
  onLost?: (error: EngineError) => void;
  /** How often the file is checked while nothing uses the store, in ms (it is also checked before every operation). Default 2000. */
  checkIntervalMs?: number;
}

/** Runs tasks one at a time, in the order they were given. */
class Mutex {
  #tail: Promise<unknown> = Promise.resolve();
  users = 0;

  run<T>(task: () => T | Promise<T>): Promise<T> {
    const result = this.#tail.then(task);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

/**
 * better-sqlite3 is synchronous, but the repositories await between the statements of a transaction.
 * Everything on one file therefore goes through one mutex, shared by every connection this process has
 * to that file: otherwise a statement could land inside another's open transaction, or two
 * connections in one thread could wait on each other's write lock until the busy timeout.
 */
const mutexes = new Map<string, Mutex>();

const unavailableCodes = /^SQLITE_(BUSY|LOCKED|CANTOPEN|IOERR|FULL|READONLY|NOTADB|CORRUPT)/;

function wrap(error: unknown, path: string): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string" || !unavailableCodes.test(code)) return error;
  return new EngineError("STORE_UNAVAILABLE", `The SQLite store ${path} is unavailable: ${(error as Error).message}`, { cause: error, details: { code } });
}

class SqliteDatabase implements SqlDatabase {
  readonly dialect = "sqlite";
  readonly #db: Database.Database;
  readonly #path: string;
  readonly #mutexKey: string;
  readonly #mutex: Mutex;
  readonly #statements = new Map<string, Database.Statement>();
  readonly #direct: SqlExecutor;
  readonly #fileGuard: StoreFileGuard | undefined;
  #closed = false;

  constructor(path: string, busyTimeoutMs: number, options: SqliteStoreOptions) {
    this.#path = path;
    // Before the file is opened (which would create an empty one): refuse a store that was deleted.
    this.#fileGuard =
      path === ":memory:"
        ? undefined
        : new StoreFileGuard(path, {
            acceptFresh: options.acceptFreshStore ?? process.env[acceptFreshStoreVariable] === "1",
            onLost: options.onLost ?? ((error) => createLogger().error(`${error.message} ${error.hint}`)),
            intervalMs: options.checkIntervalMs ?? 2000,
          });
    try {
      this.#db = new Database(path, { timeout: busyTimeoutMs });
      this.#db.pragma("journal_mode = WAL");
      this.#db.pragma("synchronous = NORMAL");
    } catch (error) {
      throw new EngineError("STORE_UNAVAILABLE", `Cannot open the SQLite store ${path}: ${(error as Error).message}`, { cause: error });
    }
    this.#fileGuard?.opened();
    // An in-memory database is private to its connection, so it needs no mutex shared with others.
    this.#mutexKey = path === ":memory:" ? `:memory:${Math.random()}` : resolve(path);
    this.#mutex = mutexes.get(this.#mutexKey) ?? new Mutex();
    mutexes.set(this.#mutexKey, this.#mutex);
    this.#mutex.users++;
    this.#direct = {
      query: async (sql, params) => this.#query(sql, params),
      exec: async (sql) => {
        this.#guard(() => this.#db.exec(sql));
      },
    };
  }

  query<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.#mutex.run(() => this.#query<T>(sql, params));
  }

  exec(sql: string): Promise<void> {
    return this.#mutex.run(() => {
      this.#fileGuard?.check();
      return this.#direct.exec(sql);
    });
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    // BEGIN IMMEDIATE takes the write lock now, so a read-then-write (max + 1) cannot race another process.
    return this.#mutex.run(async () => {
      this.#fileGuard?.check();
      this.#guard(() => this.#db.exec("BEGIN IMMEDIATE"));
      try {
        const result = await fn(this.#direct);
        this.#guard(() => this.#db.exec("COMMIT"));
        return result;
      } catch (error) {
        if (this.#db.inTransaction) this.#db.exec("ROLLBACK");
        throw error;
      }
    });
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#fileGuard?.stop();
    return this.#mutex.run(() => {
      this.#db.close();
      if (--this.#mutex.users === 0) mutexes.delete(this.#mutexKey);
    });
  }

  #query<T>(sql: string, params: readonly SqlValue[] = []): T[] {
    return this.#guard(() => {
      let statement = this.#statements.get(sql);
      if (!statement) {
        statement = this.#db.prepare(sql);
        this.#statements.set(sql, statement);
      }
      // A write to a deleted file would be lost: check before each one. A read still gets what the
      // file held, so reads check at most once a second (the check costs a stat, ~5 µs).
      if (statement.reader) {
        this.#fileGuard?.checkSoon();
        return statement.all(...params) as T[];
      }
      this.#fileGuard?.check();
      statement.run(...params);
      return [];
    });
  }

  #guard<T>(run: () => T): T {
    try {
      return run();
    } catch (error) {
      throw wrap(error, this.#path);
    }
  }
}

/**
 * The Store on a SQLite file. Several processes may share the file (WAL mode and a busy timeout);
 * within one process, every SqliteStore on a file takes turns.
 *
 * The file is watched (see guard.ts): deleted or replaced while the store is open, every operation
 * from then on fails with STORE_LOST, and `onLost` is told once; and a store whose file is missing
 * although the state folder's marker shows it existed is refused with STORE_LOST instead of being
 * started empty, unless `acceptFreshStore` (or ENGINEROOM_ACCEPT_FRESH_STORE=1) says so.
 *
 * @example
 * const store = new SqliteStore({ path: ".engineroom/engineroom.db" });
 * await store.migrate();
 */
export class SqliteStore extends SqlStore implements Store {
  readonly kind = "sqlite";

  constructor(options: SqliteStoreOptions) {
    super(new SqliteDatabase(options.path, options.busyTimeoutMs ?? 5000, options), options.clock ?? systemClock);
  }
}
