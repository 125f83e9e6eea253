import type { MetricsWindow } from "./window.js";

/** Which release's traffic, over which time range ([fromMs, toMs), epoch milliseconds). */
export interface SampleQuery {
  service: string;
  environment: string;
  releaseId: string;
  fromMs: number;
  toMs: number;
}

/** A release's traffic over a time range: what analysis judges. Counts add up, so samples merge by addition. */
export interface ReleaseSample {
  /** Requests answered or failed, errors included; client aborts excluded. */
  requests: number;
  /** Requests that failed on the release's side: 5xx answers and upstream errors (refused, reset, timed out). Client aborts are not errors. */
  errors: number;
  /** Latency histogram counts with latencyBoundsMs: `latency[i]` counts requests above the previous bound and up to `latencyBoundsMs[i]`; the last element counts the rest. */
  latency: number[];
  fromMs: number;
  toMs: number;
}

/**
 * Where analysis reads a release's request metrics from: the proxy's own metrics (ProxyMetricSource)
 * or a Prometheus server (PrometheusMetricSource).
 *
 * A source answers what it has: no traffic is a sample of zeros, not an error. It rejects with
 * METRICS_UNAVAILABLE only when it cannot answer at all.
 */
export interface MetricSource {
  /** The release's traffic in [query.fromMs, query.toMs). */
  sample(query: SampleQuery): Promise<ReleaseSample>;
}

/** The built-in source: the proxy's per-second buckets held in the engine's MetricsWindow. */
export class ProxyMetricSource implements MetricSource {
  #window: Pick<MetricsWindow, "summary">;

  constructor(window: Pick<MetricsWindow, "summary">) {
    this.#window = window;
  }

  async sample(query: SampleQuery): Promise<ReleaseSample> {
    const summary = this.#window.summary(query.releaseId, query.fromMs, query.toMs);
    // The window keeps upstream errors apart from the status classes; here a failed request is a request too.
    return {
      requests: summary.requests + summary.upstreamErrors,
      errors: summary.status["5xx"] + summary.upstreamErrors,
      latency: [...summary.latency],
      fromMs: query.fromMs,
      toMs: query.toMs,
    };
  }
}
