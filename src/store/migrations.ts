/**
 * The store's schema, as numbered migrations. A migration is never edited once released: a change to
 * the schema is a new migration with the next number. Each runs in its own transaction and is
 * recorded in `schema_migrations`, so `applyMigrations` is idempotent and safe to run from several
 * engines at once (they take turns on one lock).
 */
import { EngineError } from "../core/index.js";
import type { Dialect, SqlDatabase } from "./sql/database.js";

export interface Migration {
  /** 1, 2, 3…; applied in this order. */
  version: number;
  name: string;
  sqlite: string;
  postgres: string;
}

/** Column types where the dialects differ; SQLite reads `BIGINT` as an integer, so most SQL is shared. */
const types: Record<Dialect, { autoId: string }> = {
  sqlite: { autoId: "INTEGER PRIMARY KEY AUTOINCREMENT" },
  postgres: { autoId: "BIGSERIAL PRIMARY KEY" },
};

/** One migration's SQL for both dialects, from a template over the differing column types. */
function forBoth(build: (t: { autoId: string }) => string): Pick<Migration, "sqlite" | "postgres"> {
  return { sqlite: build(types.sqlite), postgres: build(types.postgres) };
}

const declared: Migration[] = [
  {
    version: 1,
    name: "releases, events, live, locks, artifacts",
    ...forBoth(
      (t) => `
      CREATE TABLE releases (
        id TEXT PRIMARY KEY,
        service TEXT NOT NULL,
        environment TEXT NOT NULL,
        number INTEGER NOT NULL,
        artifact_digest TEXT NOT NULL,
        config_hash TEXT NOT NULL,
        state TEXT NOT NULL,
        reason TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        UNIQUE (service, environment, number)
      );
      CREATE INDEX releases_by_state ON releases (state);

      CREATE TABLE events (
        id ${t.autoId},
        time BIGINT NOT NULL,
        type TEXT NOT NULL,
        service TEXT,
        environment TEXT,
        release_id TEXT,
        message TEXT NOT NULL,
        data TEXT NOT NULL
      );
      CREATE INDEX events_by_service ON events (service, environment, id);
      CREATE INDEX events_by_release ON events (release_id, id);
      CREATE INDEX events_by_type ON events (type, id);

      CREATE TABLE live (
        service TEXT NOT NULL,
        environment TEXT NOT NULL,
        release_id TEXT NOT NULL,
        previous_release_id TEXT,
        switched_at BIGINT NOT NULL,
        PRIMARY KEY (service, environment)
      );

      CREATE TABLE locks (
        key TEXT PRIMARY KEY,
        token TEXT NOT NULL,
        command TEXT NOT NULL,
        pid INTEGER NOT NULL,
        host TEXT NOT NULL,
        acquired_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
      );

      CREATE TABLE artifacts (
        digest TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        size_bytes BIGINT NOT NULL,
        file_count INTEGER NOT NULL,
        created_at BIGINT NOT NULL
      );`,
    ),
  },
  {
    version: 2,
    name: "locks: the holder's process start time",
    // Nullable: leases written before it, and holders that cannot tell, have none.
    ...forBoth(() => "ALTER TABLE locks ADD COLUMN start_time BIGINT;"),
  },
  {
    version: 3,
    name: "checks: state, and results per minute, hour and day",
    // Keyed by (name, start) so a check's history is one range; indexed by start so pruning and
    // roll-ups read a range too. SQLite keeps the buckets without a rowid (half the size).
    ...(() => {
      const buckets = (table: string, suffix: string) => `
      CREATE TABLE ${table} (
        name TEXT NOT NULL,
        start BIGINT NOT NULL,
        runs INTEGER NOT NULL,
        failures INTEGER NOT NULL,
        sum_ms DOUBLE PRECISION NOT NULL,
        max_ms DOUBLE PRECISION NOT NULL,
        latency TEXT NOT NULL,
        PRIMARY KEY (name, start)
      )${suffix};
      CREATE INDEX ${table}_by_start ON ${table} (start);`;
      const build = (suffix: string) => `
      CREATE TABLE check_state (
        name TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        since BIGINT NOT NULL,
        consecutive_failures INTEGER NOT NULL,
        consecutive_passes INTEGER NOT NULL,
        last_result TEXT,
        updated_at BIGINT NOT NULL
      );
      ${buckets("check_minutes", suffix)}
      ${buckets("check_hours", suffix)}
      ${buckets("check_days", suffix)}`;
      return { sqlite: build(" WITHOUT ROWID"), postgres: build("") };
    })(),
  },
  {
    version: 4,
    name: "requests per minute and per hour, per service, environment and release",
    // One column per counter so that sums over a window are one SELECT SUM(...); 16 latency buckets
    // (metrics' latencyBoundsMs and the rest), fixed like the bounds. Keyed by environment, service
    // and time so that a window is one range of the key; SQLite keeps them without a rowid.
    ...(() => {
      const latency = Array.from({ length: 16 }, (_, i) => `latency_${i} BIGINT NOT NULL`).join(", ");
      const table = (name: string, suffix: string) => `
      CREATE TABLE ${name} (
        environment TEXT NOT NULL,
        service TEXT NOT NULL,
        time BIGINT NOT NULL,
        release_id TEXT NOT NULL,
        status_1xx BIGINT NOT NULL, status_2xx BIGINT NOT NULL, status_3xx BIGINT NOT NULL, status_4xx BIGINT NOT NULL, status_5xx BIGINT NOT NULL,
        upstream_errors BIGINT NOT NULL, upstream_timeouts BIGINT NOT NULL, retried BIGINT NOT NULL, client_aborts BIGINT NOT NULL,
        ${latency},
        PRIMARY KEY (environment, service, time, release_id)
      )${suffix};
      CREATE INDEX ${name}_by_time ON ${name} (time);`;
      const build = (suffix: string) => `${table("request_minutes", suffix)}\n${table("request_hours", suffix)}`;
      return { sqlite: build(" WITHOUT ROWID"), postgres: build("") };
    })(),
  },
  {
    version: 5,
    name: "alerts, alert groups, silences, alert deliveries",
    ...forBoth(
      () => `
      CREATE TABLE alerts (
        id TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        rule TEXT NOT NULL,
        state TEXT NOT NULL,
        starts_at BIGINT NOT NULL,
        ends_at BIGINT,
        updated_at BIGINT NOT NULL,
        detail TEXT NOT NULL
      );
      CREATE INDEX alerts_by_state ON alerts (state, starts_at);
      CREATE INDEX alerts_by_start ON alerts (starts_at);

      CREATE TABLE alert_groups (
        key TEXT PRIMARY KEY,
        next_flush_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        detail TEXT NOT NULL
      );

      CREATE TABLE silences (
        id TEXT PRIMARY KEY,
        created_at BIGINT NOT NULL,
        ends_at BIGINT NOT NULL,
        expired_at BIGINT,
        detail TEXT NOT NULL
      );

      CREATE TABLE alert_deliveries (
        notification_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        last_error TEXT,
        last_status INTEGER,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        title TEXT NOT NULL,
        PRIMARY KEY (notification_id, channel)
      );
      CREATE INDEX alert_deliveries_by_time ON alert_deliveries (created_at);`,
    ),
  },
  {
    version: 6,
    name: "incidents",
    ...forBoth(
      () => `
      CREATE TABLE incidents (
        id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        opened_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        detail TEXT NOT NULL
      );
      CREATE INDEX incidents_by_state ON incidents (state, opened_at);`,
    ),
  },
  {
    version: 8,
    name: "learning log, action items, post-mortems",
    ...forBoth(
      ({ autoId }) => `
      CREATE TABLE learnings (
        seq ${autoId},
        id TEXT NOT NULL UNIQUE,
        entry_key TEXT UNIQUE,
        date BIGINT NOT NULL,
        services TEXT NOT NULL,
        detail TEXT NOT NULL
      );
      CREATE INDEX learnings_by_date ON learnings (date);

      CREATE TABLE action_items (
        id TEXT PRIMARY KEY,
        incident_id TEXT NOT NULL,
        state TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        detail TEXT NOT NULL
      );
      CREATE INDEX action_items_by_state ON action_items (state, created_at);

      CREATE TABLE postmortems (
        incident_id TEXT PRIMARY KEY,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        detail TEXT NOT NULL
      );`,
    ),
  },
  {
    version: 11,
    name: "api tokens",
    ...forBoth(
      () => `
      CREATE TABLE api_tokens (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        scopes TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT,
        last_used_at BIGINT,
        revoked_at BIGINT
      );
      CREATE INDEX api_tokens_by_name ON api_tokens (name);`,
    ),
  },
  {
    version: 9,
    name: "instance usage per 5 minutes, for cost",
    // Keyed by environment, service and time so that a report's period is one range of the key;
    // indexed by start for pruning. SQLite keeps the rows without a rowid.
    ...(() => {
      const table = (suffix: string) => `
      CREATE TABLE instance_usage (
        environment TEXT NOT NULL,
        service TEXT NOT NULL,
        start BIGINT NOT NULL,
        instance_id TEXT NOT NULL,
        release_id TEXT NOT NULL,
        alive_ms BIGINT NOT NULL,
        cpu_ms BIGINT NOT NULL,
        rss_bytes BIGINT NOT NULL,
        rss_max_bytes BIGINT NOT NULL,
        reserved_cpu_milli BIGINT NOT NULL,
        reserved_memory_bytes BIGINT NOT NULL,
        reserved_storage_bytes BIGINT NOT NULL,
        live INTEGER NOT NULL,
        PRIMARY KEY (environment, service, start, instance_id)
      )${suffix};
      CREATE INDEX instance_usage_by_start ON instance_usage (start);`;
      return { sqlite: table(" WITHOUT ROWID"), postgres: table("") };
    })(),
  },
  {
    version: 12,
    name: "artifact provenance",
    ...forBoth(() => "ALTER TABLE artifacts ADD COLUMN provenance TEXT;"),
  },
  {
    version: 10,
    name: "drill runs",
    ...forBoth(
      () => `
      CREATE TABLE drill_runs (
        id TEXT PRIMARY KEY,
        drill TEXT NOT NULL,
        state TEXT NOT NULL,
        started_at BIGINT NOT NULL,
        detail TEXT NOT NULL
      );
      CREATE INDEX drill_runs_by_drill ON drill_runs (drill, started_at);`,
    ),
  },
  {
    version: 7,
    name: "runbook runs",
    ...forBoth(
      () => `
      CREATE TABLE runbook_runs (
        id TEXT PRIMARY KEY,
        runbook TEXT NOT NULL,
        service TEXT NOT NULL,
        environment TEXT NOT NULL,
        state TEXT NOT NULL,
        started_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        detail TEXT NOT NULL
      );
      CREATE INDEX runbook_runs_by_start ON runbook_runs (started_at);
      CREATE INDEX runbook_runs_by_service ON runbook_runs (service, started_at);`,
    ),
  },
  {
    version: 13,
    name: "config_snapshots, engine_state",
    ...forBoth(
      () => `
      CREATE TABLE config_snapshots (
        hash TEXT PRIMARY KEY,
        config TEXT NOT NULL,
        created_at BIGINT NOT NULL
      );
      CREATE TABLE engine_state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at BIGINT NOT NULL
      );`,
    ),
  },
  {
    version: 15,
    name: "blobs, blob_chunks (the postgres artifact store)",
    sqlite: `
      CREATE TABLE blobs (key TEXT PRIMARY KEY, sha256 TEXT NOT NULL, size_bytes BIGINT NOT NULL, chunk_count INTEGER NOT NULL, format TEXT NOT NULL, created_at BIGINT NOT NULL);
      CREATE TABLE blob_chunks (key TEXT NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (key, seq));`,
    postgres: `
      CREATE TABLE blobs (key TEXT PRIMARY KEY, sha256 TEXT NOT NULL, size_bytes BIGINT NOT NULL, chunk_count INTEGER NOT NULL, format TEXT NOT NULL, created_at BIGINT NOT NULL);
      CREATE TABLE blob_chunks (key TEXT NOT NULL, seq INTEGER NOT NULL, data BYTEA NOT NULL, PRIMARY KEY (key, seq));`,
  },
  {
    version: 14,
    name: "leader_lease (one leading engine per store, fenced by term)",
    ...forBoth(
      () => `
      CREATE TABLE leader_lease (
        id INTEGER PRIMARY KEY,
        holder TEXT NOT NULL,
        address TEXT,
        term BIGINT NOT NULL,
        acquired_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
      );`,
    ),
  },
];

/** Every migration, in version order (entries are declared in any order; each number once). */
export const migrations: readonly Migration[] = [...declared].sort((a, b) => a.version - b.version);

/** Serializes migrations across engines sharing one database. */
const migrationLock = "engineroom:migrate";

/** STORE_MIGRATION_FAILED for what went wrong while migrating; errors that have a code keep it
 * (a lost connection stays STORE_UNAVAILABLE). */
export function migrationFailed(error: unknown, step: string): EngineError {
  if (error instanceof EngineError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new EngineError("STORE_MIGRATION_FAILED", `Store migration failed at ${step}: ${reason}`, { cause: error });
}

/**
 * Applies every migration not yet recorded, each in its own transaction, and returns the versions it
 * applied. Throws STORE_MIGRATION_FAILED (nothing of the failed migration is kept) or, when the
 * database was migrated by a newer Engineroom, refuses to run against a schema it does not know.
 */
export async function applyMigrations(db: SqlDatabase, now: () => number, list: readonly Migration[] = migrations): Promise<number[]> {
  let step = "schema_migrations";
  try {
    await db.transaction(
      (tx) => tx.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)"),
      migrationLock,
    );
    const applied: number[] = [];
    for (const migration of list) {
      step = `migration ${migration.version} (${migration.name})`;
      const ran = await db.transaction(async (tx) => {
        const done = await tx.query("SELECT version FROM schema_migrations WHERE version = ?", [migration.version]);
        if (done.length > 0) return false;
        await tx.exec(migration[db.dialect]);
        await tx.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", [migration.version, migration.name, now()]);
        return true;
      }, migrationLock);
      if (ran) applied.push(migration.version);
    }
    const [newest] = await db.query<{ version: number | string | null }>("SELECT MAX(version) AS version FROM schema_migrations");
    const known = list.at(-1)?.version ?? 0;
    if (Number(newest?.version ?? 0) > known) {
      throw new EngineError(
        "STORE_MIGRATION_FAILED",
        `The store's schema is at version ${newest!.version}, newer than this Engineroom knows (${known}).`,
        { hint: "Upgrade Engineroom to the version that last migrated this store." },
      );
    }
    return applied;
  } catch (error) {
    throw migrationFailed(error, step);
  }
}
