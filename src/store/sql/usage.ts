import type { UsageBucket, UsageQuery, UsageRepo, UsageTotal } from "../usage-types.js";
import { SqlRepo, type SqlValue } from "./database.js";

/** Columns in the order of UsageBucket's fields; `live` is 0 or 1. */
const fields = [
  ["environment", "environment"],
  ["service", "service"],
  ["release_id", "releaseId"],
  ["instance_id", "instanceId"],
  ["start", "start"],
  ["alive_ms", "aliveMs"],
  ["cpu_ms", "cpuMs"],
  ["rss_bytes", "rssBytes"],
  ["rss_max_bytes", "rssMaxBytes"],
  ["reserved_cpu_milli", "reservedCpuMilli"],
  ["reserved_memory_bytes", "reservedMemoryBytes"],
  ["reserved_storage_bytes", "reservedStorageBytes"],
  ["live", "live"],
] as const;

const t = "instance_usage";
const greater = (a: string, b: string) => `CASE WHEN ${a} > ${b} THEN ${a} ELSE ${b} END`;
// The SET expressions read the row as it was (both dialects), so the mean is weighted by the old and the new alive time.
const upsert = `INSERT INTO ${t} (${fields.map(([c]) => c).join(", ")}) VALUES (${fields.map(() => "?").join(", ")})
  ON CONFLICT (environment, service, start, instance_id) DO UPDATE SET
    alive_ms = ${t}.alive_ms + excluded.alive_ms,
    cpu_ms = ${t}.cpu_ms + excluded.cpu_ms,
    rss_bytes = CASE WHEN ${t}.alive_ms + excluded.alive_ms = 0 THEN excluded.rss_bytes
      ELSE (${t}.rss_bytes * ${t}.alive_ms + excluded.rss_bytes * excluded.alive_ms) / (${t}.alive_ms + excluded.alive_ms) END,
    rss_max_bytes = ${greater(`${t}.rss_max_bytes`, "excluded.rss_max_bytes")},
    release_id = excluded.release_id,
    reserved_cpu_milli = excluded.reserved_cpu_milli,
    reserved_memory_bytes = excluded.reserved_memory_bytes,
    reserved_storage_bytes = excluded.reserved_storage_bytes,
    live = excluded.live`;

/** The usage history over any SqlDatabase (PostgreSQL answers BIGINT as strings: every number is read with Number). */
export class SqlUsageRepo extends SqlRepo implements UsageRepo {
  record(samples: readonly UsageBucket[]): Promise<void> {
    if (samples.length === 0) return Promise.resolve();
    return this.db.transaction(async (tx) => {
      for (const sample of samples) {
        await tx.query(
          upsert,
          fields.map(([, key]) => (key === "live" ? (sample.live ? 1 : 0) : (sample[key] as SqlValue))),
        );
      }
    });
  }

  async list(query: UsageQuery): Promise<UsageBucket[]> {
    const { where, params } = filter(query);
    const rows = await this.db.query<Record<string, string | number>>(
      `SELECT ${fields.map(([c]) => c).join(", ")} FROM ${t} WHERE ${where} ORDER BY start, environment, service, instance_id`,
      params,
    );
    return rows.map((row) => {
      const bucket: Record<string, unknown> = {};
      for (const [column, key] of fields) bucket[key] = typeof (row[column] ?? 0) === "string" && ["environment", "service", "release_id", "instance_id"].includes(column) ? row[column] : Number(row[column]);
      bucket.live = Number(row.live) === 1;
      return bucket as unknown as UsageBucket;
    });
  }

  async totals(query: UsageQuery): Promise<UsageTotal[]> {
    const { where, params } = filter(query);
    // Per bucket, as src/cost's usageQuantities; summed per hour, so that even 64 GiB × an hour stays
    // within a 64-bit integer, and read as text, for the sums pass 2^53.
    const cpuReserved = "reserved_cpu_milli * alive_ms";
    const cpuUsed = "cpu_ms * 1000";
    const sumText = (expression: string) => `CAST(SUM(${expression}) AS TEXT)`;
    const rows = await this.db.query<Record<string, string | number>>(
      `SELECT environment, service, release_id, instance_id, live, COUNT(*) AS buckets, SUM(alive_ms) AS alive_ms, SUM(cpu_ms) AS cpu_ms,
        ${sumText(greater(cpuReserved, cpuUsed))} AS cpu_q,
        ${sumText(`CASE WHEN ${cpuReserved} > ${cpuUsed} THEN ${cpuReserved} - ${cpuUsed} ELSE 0 END`)} AS cpu_unused,
        ${sumText(`${greater("reserved_memory_bytes", "rss_bytes")} * alive_ms`)} AS memory_q,
        ${sumText("CASE WHEN reserved_memory_bytes > rss_bytes THEN (reserved_memory_bytes - rss_bytes) * alive_ms ELSE 0 END")} AS memory_unused,
        ${sumText("reserved_storage_bytes * alive_ms")} AS storage_q
      FROM ${t} WHERE ${where}
      GROUP BY environment, service, release_id, instance_id, live, start / 3600000
      ORDER BY environment, service, release_id, instance_id`,
      params,
    );
    return rows.map((row) => ({
      environment: String(row.environment),
      service: String(row.service),
      releaseId: String(row.release_id),
      instanceId: String(row.instance_id),
      live: Number(row.live) === 1,
      buckets: Number(row.buckets),
      aliveMs: Number(row.alive_ms),
      cpuMs: Number(row.cpu_ms),
      cpuMilliMs: String(row.cpu_q),
      cpuUnusedMilliMs: String(row.cpu_unused),
      memoryByteMs: String(row.memory_q),
      memoryUnusedByteMs: String(row.memory_unused),
      storageByteMs: String(row.storage_q),
    }));
  }

  async prune(before: number): Promise<number> {
    const rows = await this.db.query(`DELETE FROM ${t} WHERE start < ? RETURNING start`, [before]);
    return rows.length;
  }
}

/** The WHERE clause of a query: its period, and the environment, service and release it names. */
function filter(query: UsageQuery): { where: string; params: SqlValue[] } {
  const where = ["start >= ?", "start < ?"];
  const params: SqlValue[] = [query.fromMs, query.toMs];
  for (const [column, value] of [["environment", query.environment], ["service", query.service], ["release_id", query.releaseId]] as const) {
    if (value === undefined) continue;
    where.push(`${column} = ?`);
    params.push(value);
  }
  return { where: where.join(" AND "), params };
}
