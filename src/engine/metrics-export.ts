/**
 * `GET /metrics`: the engine's metrics in Prometheus text format, from a prom-client Registry of its
 * own (never the global one, so that nothing else in the process leaks into it). Every value is
 * pulled from its part at scrape time (collect callbacks); only the request counters accumulate
 * here, since the proxies send per-second deltas.
 */
import { Registry, type Metric } from "prom-client";
import { latencyBoundsMs, type MetricsBucket } from "../metrics/index.js";

type Labels = Record<string, string>;
const statusClasses = ["1xx", "2xx", "3xx", "4xx", "5xx"] as const;

/** A release's requests since the engine started: answers by status class, upstream errors, latency histogram. */
interface ReleaseTotals {
  labels: { service: string; environment: string; release: string };
  status: Record<(typeof statusClasses)[number], number>;
  upstreamErrors: number;
  latency: number[];
}

/** The proxies' per-second buckets added up since the engine started, per service, environment and release. */
export class RequestTotals {
  readonly #byRelease = new Map<string, ReleaseTotals>();

  add(buckets: readonly MetricsBucket[]): void {
    for (const b of buckets) {
      const key = `${b.environment}\0${b.releaseId}`;
      let totals = this.#byRelease.get(key);
      if (!totals) {
        totals = {
          labels: { service: b.service, environment: b.environment, release: b.releaseId },
          status: { "1xx": 0, "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0 },
          upstreamErrors: 0,
          latency: new Array<number>(latencyBoundsMs.length + 1).fill(0),
        };
        this.#byRelease.set(key, totals);
      }
      for (const c of statusClasses) totals.status[c] += b.status[c];
      totals.upstreamErrors += b.upstreamErrors;
      b.latency.forEach((n, i) => (totals.latency[i]! += n));
    }
  }

  releases(): readonly ReleaseTotals[] {
    return [...this.#byRelease.values()];
  }
}

/** One sample of a pulled metric: its labels and value. */
export interface Sample {
  labels: Labels;
  value: number;
}

/**
 * A histogram whose buckets arrive counted already (prom-client's Histogram only observes single
 * values). It gives the registry what prom-client's own metrics give it: name, help, type and
 * `get()` with cumulative `_bucket`, `_sum` and `_count` samples.
 */
class BucketedHistogram {
  readonly type = "histogram";
  readonly aggregator = "sum";

  constructor(
    readonly name: string,
    readonly help: string,
    /** Upper bounds of the buckets, in the exported unit; counts have one more element (the rest). */
    readonly bounds: readonly number[],
    readonly series: () => readonly { labels: Labels; counts: readonly number[] }[],
  ) {}

  async get() {
    const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
    for (const { labels, counts } of this.series()) {
      let cumulative = 0;
      let sum = 0;
      counts.forEach((n, i) => {
        cumulative += n;
        // The requests' exact durations are not kept: each counts at the middle of its bucket (the
        // open last one at twice the top bound, as the metrics' percentiles read it).
        const lower = i === 0 ? 0 : this.bounds[i - 1]!;
        const upper = i < this.bounds.length ? this.bounds[i]! : this.bounds.at(-1)! * 2;
        sum += n * ((lower + upper) / 2);
        if (i < this.bounds.length) values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: this.bounds[i]! }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: "+Inf" }, value: cumulative });
      values.push({ metricName: `${this.name}_sum`, labels, value: sum });
      values.push({ metricName: `${this.name}_count`, labels, value: cumulative });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

/**
 * The registry behind `GET /metrics`. The request metrics are built in; the monitoring parts add
 * theirs with `gauge` and `counter`, each pulled at scrape time.
 */
export class MetricsExport {
  readonly registry = new Registry();
  readonly requests = new RequestTotals();

  constructor() {
    this.counter("engineroom_requests_total", "Requests the proxies answered, by status class, and upstream errors (class upstream_error), since the engine started.", ["service", "environment", "release", "class"], () =>
      this.requests.releases().flatMap(({ labels, status, upstreamErrors }) => [
        ...statusClasses.map((c) => ({ labels: { ...labels, class: c }, value: status[c] })),
        { labels: { ...labels, class: "upstream_error" }, value: upstreamErrors },
      ]),
    );
    const histogram = new BucketedHistogram(
      "engineroom_request_duration_seconds",
      "Latency of the requests the proxies served, since the engine started; _sum counts each request at the middle of its bucket.",
      latencyBoundsMs.map((ms) => ms / 1000),
      () => this.requests.releases().map(({ labels, latency }) => ({ labels, counts: latency })),
    );
    // The registry reads a metric through name, help, type and get(): what BucketedHistogram (and #pulled) gives.
    this.registry.registerMetric(histogram as unknown as Metric);
  }

  /** Adds a gauge whose samples `collect` gives at every scrape. */
  gauge(name: string, help: string, labelNames: readonly string[], collect: () => readonly Sample[] | Promise<readonly Sample[]>): void {
    this.#pulled("gauge", name, help, labelNames, collect);
  }

  /** Adds a counter whose totals (since the engine started) `collect` gives at every scrape. */
  counter(name: string, help: string, labelNames: readonly string[], collect: () => readonly Sample[] | Promise<readonly Sample[]>): void {
    this.#pulled("counter", name, help, labelNames, collect);
  }

  #pulled(type: "gauge" | "counter", name: string, help: string, labelNames: readonly string[], collect: () => readonly Sample[] | Promise<readonly Sample[]>): void {
    // prom-client's own Gauge and Counter hash every label set into a map at each set(): at 10,000
    // checks that tripled a scrape's time. Samples pulled at scrape time need no map.
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new Error(`not a metric name: ${name}`);
    const metric = {
      name,
      help,
      type,
      aggregator: "sum",
      labelNames,
      async get() {
        const values = (await collect()).map(({ labels, value }) => ({ labels, value }));
        return { name, help, type, values, aggregator: "sum" };
      },
    };
    this.registry.registerMetric(metric as unknown as Metric);
  }

  #scrapes = 0;

  /** How many times the metrics were rendered: a collect callback can share one read among several metrics of a scrape. */
  get scrapes(): number {
    return this.#scrapes;
  }

  /** The exposition: Prometheus text format 0.0.4. */
  async render(): Promise<{ contentType: string; text: string }> {
    this.#scrapes++;
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }
}
