/**
 * The embedded store: one SQLite file (WAL mode), the default under `.engineroom/`.
 */
import { resolve } from "node:path";
import Database from "better-sqlite3";
import { EngineError, systemClock, type Clock } from "../../core/index.js";
import type { SqlDatabase, SqlExecutor, SqlValue } from "../sql/database.js";
import { SqlStore } from "../sql/store.js";
import type { Store } from "../types.js";

export interface SqliteStoreOptions {
  /** The database file, or ":memory:" for a store that lives as long as the object. */
  path: string;
  clock?: Clock;
  /** How long to wait for another process's write to finish before giving up. Default 5000. */
  busyTimeoutMs?: number;
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
  #closed = false;

  constructor(path: string, busyTimeoutMs: number) {
    this.#path = path;
    try {
      this.#db = new Database(path, { timeout: busyTimeoutMs });
      this.#db.pragma("journal_mode = WAL");
      this.#db.pragma("synchronous = NORMAL");
    } catch (error) {
      throw new EngineError("STORE_UNAVAILABLE", `Cannot open the SQLite store ${path}: ${(error as Error).message}`, { cause: error });
    }
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
    return this.#mutex.run(() => this.#direct.exec(sql));
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    // BEGIN IMMEDIATE takes the write lock now, so a read-then-write (max + 1) cannot race another process.
    return this.#mutex.run(async () => {
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
      if (statement.reader) return statement.all(...params) as T[];
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
 * @example
 * const store = new SqliteStore({ path: ".engineroom/engineroom.db" });
 * await store.migrate();
 */
export class SqliteStore extends SqlStore implements Store {
  readonly kind = "sqlite";

  constructor(options: SqliteStoreOptions) {
    super(new SqliteDatabase(options.path, options.busyTimeoutMs ?? 5000), options.clock ?? systemClock);
  }
}
