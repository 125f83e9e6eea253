import type { CheckBucketRecord, CheckRepo, CheckResolution, CheckStateName, CheckStateRecord, EngineEvent, NewEvent } from "../types.js";
import { SqlRepo, type SqlExecutor, type SqlValue } from "./database.js";
import { appendEvent } from "./events.js";

type Int = number | string;

interface StateRow {
  name: string;
  state: string;
  since: Int;
  consecutive_failures: Int;
  consecutive_passes: Int;
  last_result: string | null;
  updated_at: Int;
}

interface BucketRow {
  name: string;
  start: Int;
  runs: Int;
  failures: Int;
  sum_ms: Int;
  max_ms: Int;
  latency: string;
}

const tables: Record<CheckResolution, string> = { minute: "check_minutes", hour: "check_hours", day: "check_days" };
const widths: Record<CheckResolution, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** Rows per INSERT: 7 parameters each stays far below both backends' limits on bound parameters. */
const batchRows = 250;

/**
 * Lets the event loop run between two statements of a long write. SQLite runs each statement
 * synchronously in this thread: 10,000 checks' minute in one go would hold every check's timer
 * back for half a second; in statements of 250 rows, a few milliseconds at a time.
 */
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A histogram as stored: only its non-zero counts, `index:count` joined by commas ("2:5,3:1"). A
 * check's minute has a handful of runs, so the dense form (16 numbers) would be mostly zeros.
 */
export function encodeLatency(counts: readonly number[]): string {
  const parts: string[] = [];
  counts.forEach((count, index) => {
    if (count !== 0) parts.push(`${index}:${count}`);
  });
  return parts.join(",");
}

export function decodeLatency(text: string, length: number): number[] {
  const counts = new Array<number>(length).fill(0);
  if (text === "") return counts;
  for (const part of text.split(",")) {
    const colon = part.indexOf(":");
    const index = Number(part.slice(0, colon));
    if (index >= 0 && index < length) counts[index] = Number(part.slice(colon + 1));
  }
  return counts;
}

/** Length of a decoded histogram: the bounds of metrics' latencyBoundsMs (15) plus the overflow bucket. */
const histogramLength = 16;

function toState(row: StateRow): CheckStateRecord {
  return {
    name: row.name,
    state: row.state as CheckStateName,
    since: Number(row.since),
    consecutiveFailures: Number(row.consecutive_failures),
    consecutivePasses: Number(row.consecutive_passes),
    lastResult: row.last_result === null ? null : (JSON.parse(row.last_result) as Record<string, unknown>),
    updatedAt: Number(row.updated_at),
  };
}

function toBucket(row: BucketRow): CheckBucketRecord {
  return {
    name: row.name,
    start: Number(row.start),
    runs: Number(row.runs),
    failures: Number(row.failures),
    sumMs: Number(row.sum_ms),
    maxMs: Number(row.max_ms),
    latency: decodeLatency(row.latency, histogramLength),
  };
}

/** The last record of each key: PostgreSQL refuses an upsert that touches one row twice. */
function lastByKey<T>(records: readonly T[], key: (record: T) => string): T[] {
  const byKey = new Map<string, T>();
  for (const record of records) byKey.set(key(record), record);
  return [...byKey.values()];
}

async function insertChunks<T>(tx: SqlExecutor, records: readonly T[], head: string, columns: number, tail: string, values: (record: T) => SqlValue[]): Promise<void> {
  const placeholder = `(${new Array(columns).fill("?").join(", ")})`;
  for (let i = 0; i < records.length; i += batchRows) {
    if (i > 0) await yieldToLoop();
    const chunk = records.slice(i, i + batchRows);
    // RETURNING so that SQLite runs it through the path that returns rows; one column keeps it cheap.
    await tx.query(`${head} VALUES ${chunk.map(() => placeholder).join(", ")} ${tail} RETURNING name`, chunk.flatMap(values));
  }
}

async function saveStates(tx: SqlExecutor, records: readonly CheckStateRecord[]): Promise<void> {
  await insertChunks(
    tx,
    lastByKey(records, (r) => r.name),
    "INSERT INTO check_state (name, state, since, consecutive_failures, consecutive_passes, last_result, updated_at)",
    7,
    `ON CONFLICT (name) DO UPDATE SET state = excluded.state, since = excluded.since, consecutive_failures = excluded.consecutive_failures,
       consecutive_passes = excluded.consecutive_passes, last_result = excluded.last_result, updated_at = excluded.updated_at`,
    (r) => [r.name, r.state, r.since, r.consecutiveFailures, r.consecutivePasses, r.lastResult === null ? null : JSON.stringify(r.lastResult), r.updatedAt],
  );
}

export class SqlCheckRepo extends SqlRepo implements CheckRepo {
  async states(): Promise<CheckStateRecord[]> {
    return (await this.db.query<StateRow>("SELECT * FROM check_state ORDER BY name")).map(toState);
  }

  saveStates(records: readonly CheckStateRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    return this.db.transaction((tx) => saveStates(tx, records));
  }

  transition(record: CheckStateRecord, event: NewEvent): Promise<EngineEvent> {
    return this.db.transaction(async (tx) => {
      await saveStates(tx, [record]);
      return appendEvent(tx, this.now(), event);
    });
  }

  writeBuckets(resolution: CheckResolution, buckets: readonly CheckBucketRecord[], states: readonly CheckStateRecord[] = []): Promise<void> {
    if (buckets.length === 0 && states.length === 0) return Promise.resolve();
    return this.db.transaction(async (tx) => {
      await insertChunks(
        tx,
        lastByKey(buckets, (b) => `${b.name}\n${b.start}`),
        `INSERT INTO ${tables[resolution]} (name, start, runs, failures, sum_ms, max_ms, latency)`,
        7,
        `ON CONFLICT (name, start) DO UPDATE SET runs = excluded.runs, failures = excluded.failures, sum_ms = excluded.sum_ms,
           max_ms = excluded.max_ms, latency = excluded.latency`,
        (b) => [b.name, b.start, b.runs, b.failures, b.sumMs, b.maxMs, encodeLatency(b.latency)],
      );
      if (states.length > 0) await saveStates(tx, states);
    });
  }

  async buckets(query: { resolution: CheckResolution; from: number; to?: number; name?: string }): Promise<CheckBucketRecord[]> {
    const params: SqlValue[] = [query.from];
    let where = "start >= ?";
    if (query.to !== undefined) {
      where += " AND start < ?";
      params.push(query.to);
    }
    if (query.name !== undefined) {
      where += " AND name = ?";
      params.push(query.name);
    }
    const rows = await this.db.query<BucketRow>(`SELECT * FROM ${tables[query.resolution]} WHERE ${where} ORDER BY name, start`, params);
    return rows.map(toBucket);
  }

  async newest(resolution: CheckResolution): Promise<number | undefined> {
    const [row] = await this.db.query<{ start: Int | null }>(`SELECT MAX(start) AS start FROM ${tables[resolution]}`);
    return row?.start === null || row?.start === undefined ? undefined : Number(row.start);
  }

  async prune(resolution: CheckResolution, before: number): Promise<number> {
    // An hour of 10,000 checks' minutes is 600,000 rows: deleted one bucket width at a time (from
    // the oldest), counted first, each step its own statement with the event loop let run between.
    const table = tables[resolution];
    let deleted = 0;
    for (;;) {
      const [oldest] = await this.db.query<{ start: Int | null }>(`SELECT MIN(start) AS start FROM ${table} WHERE start < ?`, [before]);
      if (oldest?.start === null || oldest?.start === undefined) break;
      const from = Number(oldest.start);
      const to = Math.min(before, from + widths[resolution]);
      const [row] = await this.db.query<{ n: Int }>(`SELECT COUNT(*) AS n FROM ${table} WHERE start >= ? AND start < ?`, [from, to]);
      await this.db.query(`DELETE FROM ${table} WHERE start >= ? AND start < ?`, [from, to]);
      deleted += Number(row?.n ?? 0);
      await yieldToLoop();
    }
    return deleted;
  }
}
