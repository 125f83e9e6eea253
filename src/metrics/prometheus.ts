import { request } from "undici";
import { EngineError } from "../core/index.js";
import { latencyBoundsMs } from "./histogram.js";
import type { MetricSource, ReleaseSample, SampleQuery } from "./source.js";

/**
 * Options of the Prometheus metric source. Each query is a PromQL template evaluated as an instant
 * query at the end of the sampled range; these placeholders are replaced first:
 *
 * - `{{service}}`, `{{environment}}`, `{{release}}` (the release id, which every instance gets as
 *   `ENGINEROOM_RELEASE_ID`), escaped for use inside a PromQL string literal;
 * - `{{window}}`: the range's length as a PromQL duration, e.g. `90000ms`.
 *
 * @example
 * new PrometheusMetricSource({
 *   url: "http://127.0.0.1:9090",
 *   requests: 'sum(increase(http_requests_total{service="{{service}}",release="{{release}}"}[{{window}}]))',
 *   errors: 'sum(increase(http_requests_total{service="{{service}}",release="{{release}}",code=~"5.."}[{{window}}]))',
 *   latencyBuckets: 'sum by (le) (increase(http_request_duration_seconds_bucket{service="{{service}}",release="{{release}}"}[{{window}}]))',
 * });
 */
export interface PrometheusOptions {
  /** Base URL of the server, e.g. `http://127.0.0.1:9090` (a path prefix is kept). Credentials in it are sent as Basic auth and never shown. */
  url: string;
  /** PromQL: the release's request count (errors included) increase over the window. */
  requests: string;
  /** PromQL: the release's failed request count (5xx, upstream errors) increase over the window. */
  errors: string;
  /** PromQL: the increase of each cumulative histogram bucket over the window, one series per `le` label. */
  latencyBuckets: string;
  /** Unit of the `le` label: `"s"` (Prometheus's convention, default) or `"ms"`. */
  leUnit?: "s" | "ms";
  /** Longest wait for each query. Default 5 000. */
  timeoutMs?: number;
  /** Extra request headers, e.g. `{ authorization: "Bearer …" }`. */
  headers?: Record<string, string>;
}

type QueryName = "requests" | "errors" | "latencyBuckets";

interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

/**
 * A MetricSource over Prometheus's HTTP API (`POST /api/v1/query` with `time=`), for services whose
 * metrics live there.
 *
 * `increase()` extrapolates to the ends of its range, so counts are estimates and may be fractional;
 * they are rounded to whole requests. Prometheus sees a release only as often as it scrapes it, so
 * the first scrape intervals after a switch read as no traffic (analysis then says "inconclusive").
 * An empty answer is no traffic; an unreachable server, a timeout or a refused query rejects with
 * METRICS_UNAVAILABLE.
 */
export class PrometheusMetricSource implements MetricSource {
  #endpoint: string;
  #shownUrl: string;
  #headers: Record<string, string>;
  #options: PrometheusOptions;

  constructor(options: PrometheusOptions) {
    const url = new URL(options.url);
    const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded", ...options.headers };
    if (url.username || url.password) {
      headers.authorization ??= `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString("base64")}`;
      url.username = "";
      url.password = "";
    }
    this.#shownUrl = url.origin + url.pathname.replace(/\/$/, "");
    this.#endpoint = `${this.#shownUrl}/api/v1/query`;
    this.#headers = headers;
    this.#options = options;
  }

  async sample(query: SampleQuery): Promise<ReleaseSample> {
    const [requests, errors, buckets] = await Promise.all([
      this.#query("requests", query),
      this.#query("errors", query),
      this.#query("latencyBuckets", query),
    ]);
    const unit = this.#options.leUnit === "ms" ? 1 : 1000;
    const cumulative = [...sumBy(buckets, (s) => s.metric.le)].map(([le, count]) => ({ leMs: (le === "+Inf" ? Infinity : parseFloat(le)) * unit, count }));
    const total = Math.max(0, Math.round(sumValues(requests)));
    return {
      requests: total,
      errors: Math.min(total, Math.max(0, Math.round(sumValues(errors)))),
      latency: toLatencyHistogram(cumulative.filter((b) => !Number.isNaN(b.leMs))),
      fromMs: query.fromMs,
      toMs: query.toMs,
    };
  }

  async #query(name: QueryName, query: SampleQuery): Promise<PromSample[]> {
    const promql = expand(this.#options[name], query);
    const fail = (what: string, cause?: unknown) =>
      new EngineError("METRICS_UNAVAILABLE", `Prometheus at ${this.#shownUrl} ${what} (query ${name}).`, { details: { query: promql }, cause });
    let status: number;
    let text: string;
    try {
      const res = await request(this.#endpoint, {
        method: "POST",
        headers: this.#headers,
        body: new URLSearchParams({ query: promql, time: String(query.toMs / 1000) }).toString(),
        signal: AbortSignal.timeout(this.#options.timeoutMs ?? 5_000),
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (error) {
      const reason = error instanceof Error && error.name === "TimeoutError" ? `did not answer within ${this.#options.timeoutMs ?? 5_000} ms` : `could not be reached: ${(error as Error).message}`;
      throw fail(reason, error);
    }
    let body: { status?: string; errorType?: string; error?: string; data?: { resultType?: string; result?: unknown } };
    try {
      body = JSON.parse(text);
    } catch {
      throw fail(`answered HTTP ${status} without a Prometheus API response`);
    }
    if (body.status !== "success") throw fail(`refused the query: ${body.errorType ?? `HTTP ${status}`}: ${body.error ?? "no reason given"}`);
    const { resultType, result } = body.data ?? {};
    // A scalar answers one number; a vector one per series (summed by the caller). A range vector is a mistake in the template.
    if (resultType === "scalar") return [{ metric: {}, value: result as [number, string] }];
    if (resultType === "vector") {
      const samples = result as PromSample[];
      if (name === "latencyBuckets" && samples.some((s) => s.metric.le === undefined)) throw fail("answered series without an `le` label: keep it, e.g. `sum by (le) (…)`");
      return samples;
    }
    throw fail(`answered a ${resultType} where an instant vector or scalar was expected`);
  }
}

/** Fills a query template's placeholders for one sample. */
export function expand(template: string, query: SampleQuery): string {
  const literal = (value: string) => value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
  const values: Record<string, string> = {
    service: literal(query.service),
    environment: literal(query.environment),
    release: literal(query.releaseId),
    window: `${Math.max(1, Math.round(query.toMs - query.fromMs))}ms`,
  };
  return template.replace(/\{\{(\w+)\}\}/g, (match, key: string) => values[key] ?? match);
}

function sumValues(samples: PromSample[]): number {
  // NaN comes from increase() over a range with too few points: no evidence, so nothing counted.
  return samples.reduce((sum, s) => sum + (Number.isFinite(parseFloat(s.value[1])) ? parseFloat(s.value[1]) : 0), 0);
}

function sumBy(samples: PromSample[], key: (s: PromSample) => string | undefined): Map<string, number> {
  const sums = new Map<string, number>();
  for (const s of samples) {
    const k = key(s);
    if (k === undefined) continue;
    sums.set(k, (sums.get(k) ?? 0) + sumValues([s]));
  }
  return sums;
}

/**
 * Converts cumulative histogram buckets (Prometheus `le` buckets, in ms, `Infinity` for `+Inf`) into
 * counts with latencyBoundsMs.
 *
 * Where a bound of ours is also a bound of the source, the count is exact. Where it is not, the
 * cumulative count at our bound is interpolated linearly between the source's neighbouring bounds
 * (the assumption histogram_quantile makes: requests spread evenly inside a bucket), so requests
 * near a bound may move to the bucket next to it. Requests above the source's highest finite bound
 * have no known latency but "more than that": they go to our first bucket above that bound. Counts
 * are rounded to whole requests and made non-decreasing, since increase() can jitter between series.
 */
export function toLatencyHistogram(cumulative: { leMs: number; count: number }[]): number[] {
  const points = [...cumulative].sort((a, b) => a.leMs - b.leMs);
  let running = 0;
  for (const p of points) running = p.count = Math.max(running, p.count);
  const total = points.at(-1)?.count ?? 0;
  const finite = points.filter((p) => Number.isFinite(p.leMs) && p.leMs >= 0);
  const top = finite.at(-1);
  const cumulativeAt = (bound: number): number => {
    if (!top) return total;
    if (bound > top.leMs) return total;
    let below = { leMs: 0, count: 0 };
    for (const p of finite) {
      if (p.leMs >= bound) {
        if (p.leMs === bound || p.leMs === below.leMs) return p.count;
        return below.count + ((p.count - below.count) * (bound - below.leMs)) / (p.leMs - below.leMs);
      }
      below = p;
    }
    return top.count;
  };
  const counts: number[] = [];
  let previous = 0;
  for (const bound of latencyBoundsMs) {
    const at = Math.max(previous, Math.round(cumulativeAt(bound)));
    counts.push(at - previous);
    previous = at;
  }
  counts.push(Math.max(0, Math.round(total) - previous));
  return counts;
}
