/**
 * Check results as aggregates: per check and minute, hour and day, a bucket of runs, failures and a
 * latency histogram with the fixed bounds of metrics' `latencyBoundsMs`, so buckets merge by
 * addition. Minutes are kept 24 h, hours 35 d, days 400 d (see `retentionMs`).
 */
import { latencyBoundsMs } from "../metrics/index.js";
import type { CheckBucketRecord, CheckResolution } from "../store/index.js";

export const minuteMs = 60_000;
export const hourMs = 3_600_000;
export const dayMs = 86_400_000;

/** How long buckets of each resolution are kept. */
export const retentionMs: Readonly<Record<CheckResolution, number>> = { minute: dayMs, hour: 35 * dayMs, day: 400 * dayMs };

/** Width of a bucket of each resolution. */
export const resolutionMs: Readonly<Record<CheckResolution, number>> = { minute: minuteMs, hour: hourMs, day: dayMs };

/** The start of the bucket holding `time` (UTC; a day starts at midnight UTC). */
export function bucketStart(time: number, resolution: CheckResolution): number {
  const width = resolutionMs[resolution];
  return Math.floor(time / width) * width;
}

export function emptyBucket(name: string, start: number): CheckBucketRecord {
  return { name, start, runs: 0, failures: 0, sumMs: 0, maxMs: 0, latency: new Array<number>(latencyBoundsMs.length + 1).fill(0) };
}

/** Index of the histogram bucket for a duration: the first bound it does not exceed, else the last. */
export function latencyIndex(ms: number): number {
  for (let i = 0; i < latencyBoundsMs.length; i++) if (ms <= latencyBoundsMs[i]!) return i;
  return latencyBoundsMs.length;
}

/** Counts one run into a bucket. */
export function addRun(bucket: CheckBucketRecord, ok: boolean, durationMs: number): void {
  bucket.runs++;
  if (!ok) bucket.failures++;
  bucket.sumMs += durationMs;
  if (durationMs > bucket.maxMs) bucket.maxMs = durationMs;
  bucket.latency[latencyIndex(durationMs)]!++;
}

/** Adds `from` into `into` (same check, any times). */
export function mergeInto(into: CheckBucketRecord, from: CheckBucketRecord): void {
  into.runs += from.runs;
  into.failures += from.failures;
  into.sumMs += from.sumMs;
  if (from.maxMs > into.maxMs) into.maxMs = from.maxMs;
  for (let i = 0; i < into.latency.length; i++) into.latency[i]! += from.latency[i] ?? 0;
}

/** The sum of buckets, as one bucket named `name` starting at `start`. */
export function sumBuckets(name: string, start: number, buckets: Iterable<CheckBucketRecord>): CheckBucketRecord {
  const total = emptyBucket(name, start);
  for (const bucket of buckets) mergeInto(total, bucket);
  return total;
}

/** Share of passes, or null without runs. */
export function uptime(bucket: CheckBucketRecord): number | null {
  return bucket.runs === 0 ? null : (bucket.runs - bucket.failures) / bucket.runs;
}

/**
 * A latency quantile from the histogram: the upper bound of the bucket that holds it (the largest
 * latency seen for the overflow bucket, and never above it). Null without runs.
 */
export function latencyQuantile(bucket: CheckBucketRecord, q: number): number | null {
  if (bucket.runs === 0) return null;
  const rank = Math.max(1, Math.ceil(q * bucket.runs));
  let seen = 0;
  for (let i = 0; i < bucket.latency.length; i++) {
    seen += bucket.latency[i]!;
    if (seen >= rank) return Math.min(bucket.maxMs, latencyBoundsMs[i] ?? bucket.maxMs);
  }
  return bucket.maxMs;
}

/** Groups buckets by check name, each group summed into one bucket starting at `start`. */
export function totalsByName(buckets: readonly CheckBucketRecord[], start: number): Map<string, CheckBucketRecord> {
  const totals = new Map<string, CheckBucketRecord>();
  for (const bucket of buckets) {
    let total = totals.get(bucket.name);
    if (!total) totals.set(bucket.name, (total = emptyBucket(bucket.name, start)));
    mergeInto(total, bucket);
  }
  return totals;
}

/**
 * Rolls finer buckets up into coarser ones: every bucket of `buckets` into the bucket of
 * `resolution` that holds its start, per check.
 */
export function rollUp(buckets: readonly CheckBucketRecord[], resolution: CheckResolution): CheckBucketRecord[] {
  const out = new Map<string, CheckBucketRecord>();
  for (const bucket of buckets) {
    const start = bucketStart(bucket.start, resolution);
    const key = `${bucket.name}\n${start}`;
    let total = out.get(key);
    if (!total) out.set(key, (total = emptyBucket(bucket.name, start)));
    mergeInto(total, bucket);
  }
  return [...out.values()];
}
