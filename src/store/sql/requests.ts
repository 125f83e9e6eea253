import { EngineError } from "../../core/index.js";
import type { RequestBucket, RequestCounts, RequestHistory, RequestQuery, StatusCounts } from "../types.js";
import { SqlRepo, type SqlExecutor, type SqlValue } from "./database.js";

/** Latency buckets per row: metrics' latencyBoundsMs (15 bounds) and the rest; fixed by migration 4. */
const latencyBuckets = 16;
const hourMs = 3_600_000;
const classes = ["1xx", "2xx", "3xx", "4xx", "5xx"] as const;

/** The counter columns, in one order for inserts, sums and reads. */
const counters = [
  ...classes.map((c) => `status_${c}`),
  "upstream_errors",
  "upstream_timeouts",
  "retried",
  "client_aborts",
  ...Array.from({ length: latencyBuckets }, (_, i) => `latency_${i}`),
];
const columns = ["environment", "service", "time", "release_id", ...counters];
const placeholders = columns.map(() => "?").join(", ");
const sums = counters.map((c) => `COALESCE(SUM(${c}), 0) AS ${c}`).join(", ");

function upsert(table: string): string {
  const add = counters.map((c) => `${c} = ${table}.${c} + excluded.${c}`).join(", ");
  return `INSERT INTO ${table} (${columns.join(", ")}) VALUES (${placeholders}) ON CONFLICT (environment, service, time, release_id) DO UPDATE SET ${add}`;
}
const upsertMinute = upsert("request_minutes");
const upsertHour = upsert("request_hours");

type Row = Record<string, number | string>;

function counterValues(bucket: RequestBucket): number[] {
  if (bucket.latency.length !== latencyBuckets) {
    throw new EngineError("INTERNAL", `A request bucket has ${bucket.latency.length} latency buckets, not ${latencyBuckets}.`);
  }
  return [...classes.map((c) => bucket.status[c]), bucket.upstreamErrors, bucket.upstreamTimeouts, bucket.retried, bucket.clientAborts, ...bucket.latency];
}

/** The counters of a row (PostgreSQL answers BIGINT and SUM as strings), with what clients saw. */
function countsOf(row: Row | undefined): RequestCounts {
  const n = (column: string) => Number(row?.[column] ?? 0);
  const status = Object.fromEntries(classes.map((c) => [c, n(`status_${c}`)])) as unknown as StatusCounts;
  const upstreamErrors = n("upstream_errors");
  const retried = n("retried");
  const seen = upstreamErrors - retried;
  const answered = classes.reduce((sum, c) => sum + status[c], 0);
  return {
    requests: answered + seen,
    errors: status["5xx"] + seen,
    status,
    upstreamErrors,
    upstreamTimeouts: n("upstream_timeouts"),
    retried,
    clientAborts: n("client_aborts"),
    latency: Array.from({ length: latencyBuckets }, (_, i) => n(`latency_${i}`)),
  };
}

/** Adds `b` to `a`, in place. */
function addCounts(a: RequestCounts, b: RequestCounts): RequestCounts {
  for (const c of classes) a.status[c] += b.status[c];
  a.requests += b.requests;
  a.errors += b.errors;
  a.upstreamErrors += b.upstreamErrors;
  a.upstreamTimeouts += b.upstreamTimeouts;
  a.retried += b.retried;
  a.clientAborts += b.clientAborts;
  b.latency.forEach((v, i) => (a.latency[i]! += v));
  return a;
}

/** `WHERE` conditions for the query's service, environment and release, and its parameters. */
function filters(query: RequestQuery): { conditions: string[]; params: SqlValue[] } {
  const conditions: string[] = [];
  const params: SqlValue[] = [];
  for (const [column, value] of [["environment", query.environment], ["service", query.service], ["release_id", query.releaseId]] as const) {
    if (value === undefined) continue;
    conditions.push(`${column} = ?`);
    params.push(value);
  }
  return { conditions, params };
}

export class SqlRequestHistory extends SqlRepo implements RequestHistory {
  async record(minutes: readonly RequestBucket[]): Promise<void> {
    if (minutes.length === 0) return;
    await this.db.transaction(async (tx: SqlExecutor) => {
      for (const m of minutes) {
        const values = counterValues(m);
        await tx.query(upsertMinute, [m.environment, m.service, m.time, m.releaseId, ...values]);
        await tx.query(upsertHour, [m.environment, m.service, m.time - (m.time % hourMs), m.releaseId, ...values]);
      }
    });
  }

  async counts(query: RequestQuery): Promise<RequestCounts> {
    const { fromMs: from, toMs: to } = query;
    const total = countsOf(undefined);
    if (to <= from) return total;
    const firstHour = Math.ceil(from / hourMs) * hourMs;
    const lastHour = Math.floor(to / hourMs) * hourMs;
    if (firstHour >= lastHour) return addCounts(total, await this.#sum("request_minutes", query, [[from, to]]));
    // Whole hours from the hours (few rows over 30 days), the ragged edges from the minutes.
    addCounts(total, await this.#sum("request_hours", query, [[firstHour, lastHour]]));
    return addCounts(total, await this.#sum("request_minutes", query, [[from, firstHour], [lastHour, to]]));
  }

  async list(query: RequestQuery & { resolution: "minute" | "hour" }): Promise<RequestBucket[]> {
    const { conditions, params } = filters(query);
    conditions.push("time >= ?", "time < ?");
    params.push(query.fromMs, query.toMs);
    const table = query.resolution === "minute" ? "request_minutes" : "request_hours";
    const rows = await this.db.query<Row>(`SELECT * FROM ${table} WHERE ${conditions.join(" AND ")} ORDER BY time, environment, service, release_id`, params);
    return rows.map((row) => {
      const { requests: _r, errors: _e, ...counts } = countsOf(row);
      return { service: String(row.service), environment: String(row.environment), releaseId: String(row.release_id), time: Number(row.time), ...counts };
    });
  }

  async lastMinute(environment: string): Promise<number | undefined> {
    const [row] = await this.db.query<{ time: number | string | null }>("SELECT MAX(time) AS time FROM request_minutes WHERE environment = ?", [environment]);
    return row?.time === null || row?.time === undefined ? undefined : Number(row.time);
  }

  async prune(before: { minutesBefore: number; hoursBefore: number }): Promise<{ minutes: number; hours: number }> {
    const minutes = await this.db.query("DELETE FROM request_minutes WHERE time < ? RETURNING time", [before.minutesBefore]);
    const hours = await this.db.query("DELETE FROM request_hours WHERE time < ? RETURNING time", [before.hoursBefore]);
    return { minutes: minutes.length, hours: hours.length };
  }

  /** The sums of `table` over the time ranges (empty ones skipped). */
  async #sum(table: string, query: RequestQuery, ranges: [number, number][]): Promise<RequestCounts> {
    const wanted = ranges.filter(([a, b]) => b > a);
    if (wanted.length === 0) return countsOf(undefined);
    const { conditions, params } = filters(query);
    conditions.push(`(${wanted.map(() => "(time >= ? AND time < ?)").join(" OR ")})`);
    params.push(...wanted.flat());
    const [row] = await this.db.query<Row>(`SELECT ${sums} FROM ${table} WHERE ${conditions.join(" AND ")}`, params);
    return countsOf(row);
  }
}
