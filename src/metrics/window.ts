import type { Clock } from "../core/index.js";
import { latencyBoundsMs, type MetricsBucket } from "./histogram.js";

/** A summary of a release's traffic over a time range. */
export interface TrafficSummary {
  releaseId: string;
  fromMs: number;
  toMs: number;
  requests: number;
  /** Requests per second over the range. */
  rps: number;
  status: MetricsBucket["status"];
  upstreamErrors: number;
  /** Of the upstream errors: timeouts (the proxy's 504s, cut bodies, clients giving up on a hung upstream). */
  upstreamTimeouts: number;
  /** Of the upstream errors: tries the proxy retried elsewhere, so that no client saw them. */
  retried: number;
  clientAborts: number;
  /** (5xx + upstream errors) / (requests + upstream errors); 0 when there were none. */
  errorRate: number;
  /** Latency percentiles in ms, estimated from the histogram (upper bound of the bucket); null with no requests. */
  p50: number | null;
  p95: number | null;
  p99: number | null;
  /** The merged latency histogram the percentiles come from, with latencyBoundsMs (length latencyBoundsMs.length + 1). */
  latency: number[];
}

/**
 * The proxy's per-second buckets of the last few minutes, per release, in memory: the built-in
 * metric source that `status` shows and release analysis reads.
 */
export class MetricsWindow {
  #clock: Clock;
  #keepMs: number;
  #byRelease = new Map<string, Map<number, MetricsBucket>>();

  constructor(options: { clock: Clock; keepMs?: number }) {
    this.#clock = options.clock;
    this.#keepMs = options.keepMs ?? 15 * 60_000;
  }

  add(buckets: MetricsBucket[]): void {
    for (const bucket of buckets) {
      let series = this.#byRelease.get(bucket.releaseId);
      if (!series) this.#byRelease.set(bucket.releaseId, (series = new Map()));
      const existing = series.get(bucket.time);
      series.set(bucket.time, existing ? mergeBuckets(existing, bucket) : { ...bucket, status: { ...bucket.status }, latency: [...bucket.latency] });
    }
    this.#evict();
  }

  /** Sums the release's buckets with `time` in [fromMs, toMs). */
  summary(releaseId: string, fromMs: number, toMs: number = this.#clock.now()): TrafficSummary {
    const status = { "1xx": 0, "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0 };
    const latency = new Array<number>(latencyBoundsMs.length + 1).fill(0);
    let upstreamErrors = 0;
    let upstreamTimeouts = 0;
    let retried = 0;
    let clientAborts = 0;
    for (const [time, bucket] of this.#byRelease.get(releaseId) ?? []) {
      if (time < fromMs || time >= toMs) continue;
      for (const k of Object.keys(status) as (keyof typeof status)[]) status[k] += bucket.status[k];
      bucket.latency.forEach((n, i) => (latency[i]! += n));
      upstreamErrors += bucket.upstreamErrors;
      clientAborts += bucket.clientAborts;
      upstreamTimeouts += bucket.upstreamTimeouts ?? 0;
      retried += bucket.retried ?? 0;
    }
    const requests = status["1xx"] + status["2xx"] + status["3xx"] + status["4xx"] + status["5xx"];
    const attempts = requests + upstreamErrors;
    const seconds = Math.max(1, (toMs - fromMs) / 1000);
    return {
      releaseId,
      fromMs,
      toMs,
      requests,
      rps: requests / seconds,
      status,
      upstreamErrors,
      upstreamTimeouts,
      retried,
      clientAborts,
      errorRate: attempts === 0 ? 0 : (status["5xx"] + upstreamErrors) / attempts,
      p50: histogramQuantile(latency, 0.5),
      p95: histogramQuantile(latency, 0.95),
      p99: histogramQuantile(latency, 0.99),
      latency,
    };
  }

  #evict(): void {
    const oldest = this.#clock.now() - this.#keepMs;
    for (const [releaseId, series] of this.#byRelease) {
      for (const time of series.keys()) if (time < oldest) series.delete(time);
      if (series.size === 0) this.#byRelease.delete(releaseId);
    }
  }
}

export function mergeBuckets(a: MetricsBucket, b: MetricsBucket): MetricsBucket {
  return {
    ...a,
    status: {
      "1xx": a.status["1xx"] + b.status["1xx"],
      "2xx": a.status["2xx"] + b.status["2xx"],
      "3xx": a.status["3xx"] + b.status["3xx"],
      "4xx": a.status["4xx"] + b.status["4xx"],
      "5xx": a.status["5xx"] + b.status["5xx"],
    },
    upstreamErrors: a.upstreamErrors + b.upstreamErrors,
    upstreamTimeouts: (a.upstreamTimeouts ?? 0) + (b.upstreamTimeouts ?? 0),
    retried: (a.retried ?? 0) + (b.retried ?? 0),
    clientAborts: a.clientAborts + b.clientAborts,
    latency: a.latency.map((n, i) => n + (b.latency[i] ?? 0)),
  };
}

/** The q-quantile of a fixed-bounds histogram, as the upper bound of the bucket it falls in (the last, open bucket reports twice the top bound). */
export function histogramQuantile(counts: readonly number[], q: number): number | null {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  // At least the first request: with rank 0, q = 0 would stop at the first bucket even when it is empty.
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i]!;
    if (seen >= rank) return i < latencyBoundsMs.length ? latencyBoundsMs[i]! : latencyBoundsMs[latencyBoundsMs.length - 1]! * 2;
  }
  return null;
}
