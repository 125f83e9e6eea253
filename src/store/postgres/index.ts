/**
 * The store for a highly available control plane: PostgreSQL, reached by URL.
 */
import pg from "pg";
import { EngineError, redactor, systemClock, type Clock } from "../../core/index.js";
import { migrationFailed } from "../migrations.js";
import type { SqlDatabase, SqlExecutor, SqlValue } from "../sql/database.js";
import { SqlStore } from "../sql/store.js";
import type { Store } from "../types.js";

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database`; the password never appears in an error or log. */
  url: string;
  clock?: Clock;
  /** Keep the tables in this schema (created by `migrate()`) instead of the user's default, e.g. one
   * schema per test. A plain lower-case SQL identifier. */
  schema?: string;
  /** Connections in the pool. Default 10. */
  poolSize?: number;
  /** How long to wait for a connection before STORE_UNAVAILABLE. Default 10000. */
  connectTimeoutMs?: number;
}

const schemaName = /^[a-z_][a-z0-9_]{0,62}$/;

/** The URL as it may be shown: with its password masked, or nothing of it if it does not parse. */
export function describePostgresUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparseable PostgreSQL URL)";
  }
}

function passwordOf(url: string): string | undefined {
  try {
    const password = new URL(url).password;
    return password ? decodeURIComponent(password) : undefined;
  } catch {
    return undefined;
  }
}

/** Errors that mean the database cannot be reached or will not let us in, rather than a bad query:
 * socket errors, and SQLSTATE classes 08 (connection), 28 (authorization), 3D000 (no such database),
 * 53300 (too many connections) and 57P (shutting down). */
function isUnavailable(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === "string") {
    return /^(E[A-Z]+|08|28|57P)/.test(code) || code === "3D000" || code === "53300";
  }
  return typeof message === "string" && /connection terminated|connection timeout|timeout exceeded|connection refused/i.test(message);
}

/** `?` placeholders to PostgreSQL's `$1, $2…`. The shared SQL never has a `?` inside a literal. */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

class PostgresDatabase implements SqlDatabase {
  readonly dialect = "postgres";
  readonly #pool: pg.Pool;
  readonly #where: string;
  readonly #password: string | undefined;
  readonly #pooled: SqlExecutor;
  #closed = false;

  constructor(options: PostgresStoreOptions) {
    this.#where = describePostgresUrl(options.url);
    this.#password = passwordOf(options.url);
    if (this.#password) redactor.add("store password", this.#password);
    try {
      this.#pool = new pg.Pool({
        connectionString: options.url,
        max: options.poolSize ?? 10,
        connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
        // Every connection of the pool sees only the store's schema.
        ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
      });
    } catch (error) {
      throw this.#wrap(error, true);
    }
    // A pooled connection that drops while idle is discarded by the pool; the next query reports it.
    this.#pool.on("error", () => undefined);
    // So does a connection cut while checked out (a link to the database lost mid-transaction): its query
    // fails with the error, and the client's own "error" event must not crash the engine.
    this.#pool.on("connect", (client) => client.on("error", () => undefined));
    this.#pooled = this.#executor(this.#pool);
  }

  query<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.#pooled.query<T>(sql, params);
  }

  exec(sql: string): Promise<void> {
    return this.#pooled.exec(sql);
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, lockKey?: string): Promise<T> {
    const client = await this.#pool.connect().catch((error: unknown) => {
      throw this.#wrap(error);
    });
    const tx = this.#executor(client);
    let broken = false;
    try {
      await tx.exec("BEGIN");
      // Held until COMMIT or ROLLBACK; another engine's transaction with the same key waits here.
      if (lockKey !== undefined) await tx.query("SELECT pg_advisory_xact_lock(hashtext(?))", [lockKey]);
      const result = await fn(tx);
      await tx.exec("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => (broken = true));
      throw this.#wrap(error);
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }

  #executor(on: pg.Pool | pg.PoolClient): SqlExecutor {
    return {
      query: async <T>(sql: string, params: readonly SqlValue[] = []) => {
        try {
          return (await on.query(numbered(sql), [...params])).rows as T[];
        } catch (error) {
          throw this.#wrap(error);
        }
      },
      exec: async (sql: string) => {
        try {
          await on.query(sql);
        } catch (error) {
          throw this.#wrap(error);
        }
      },
    };
  }

  /** STORE_UNAVAILABLE for connection failures, with the password masked wherever it might show. */
  #wrap(error: unknown, always = false): unknown {
    if (error instanceof EngineError || (!always && !isUnavailable(error))) return error;
    let reason = error instanceof Error ? error.message : String(error);
    if (this.#password) reason = reason.split(this.#password).join("***");
    const code = (error as { code?: unknown } | null)?.code;
    return new EngineError("STORE_UNAVAILABLE", `The PostgreSQL store at ${this.#where} is unavailable: ${reason}`, {
      cause: error,
      ...(typeof code === "string" ? { details: { code } } : {}),
    });
  }
}

/**
 * The Store on PostgreSQL. Many engines may share one database: release numbers and migrations are
 * serialized with advisory locks, and lock leases are taken with one atomic statement.
 *
 * @example
 * const store = new PostgresStore({ url: process.env.DATABASE_URL!, schema: "engineroom" });
 * await store.migrate();
 */
export class PostgresStore extends SqlStore implements Store {
  readonly kind = "postgres";
  readonly #schema: string | undefined;

  constructor(options: PostgresStoreOptions) {
    if (options.schema !== undefined && !schemaName.test(options.schema)) {
      throw new EngineError("CONFIG_INVALID", `The store schema "${options.schema}" must be a lower-case SQL identifier (letters, digits, _).`);
    }
    super(new PostgresDatabase(options), options.clock ?? systemClock);
    this.#schema = options.schema;
  }

  /** Creates the schema if one was named, then applies the migrations inside it. */
  override async migrate(): Promise<void> {
    const schema = this.#schema;
    if (schema !== undefined) {
      await this.db
        .transaction((tx) => tx.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}`), "engineroom:migrate")
        .catch((error: unknown) => {
          throw migrationFailed(error, `creating schema ${schema}`);
        });
    }
    await super.migrate();
  }
}
