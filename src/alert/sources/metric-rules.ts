import { formatDuration, type Clock } from "../../core/index.js";
import { histogramQuantile, latencyBoundsMs } from "../../metrics/index.js";
import type { AlertSink } from "../types.js";
import { countsBad, type MetricRule } from "./rules-config.js";
import { Ticker } from "./ticker.js";

/** A service's traffic in one environment over a time range, its releases summed. */
export interface ServiceTrafficSummary {
  /** Requests clients made that were answered or failed without an answer (a try the proxy retried elsewhere counts once). */
  requests: number;
  /** Of those: answered 5xx, or not answered (refused, reset, timed out). */
  errors: number;
  /** Latency histogram with the metrics' `latencyBoundsMs` (length latencyBoundsMs.length + 1). */
  latency: readonly number[];
}

/** Where metric rules read request metrics; the engine implements it over each environment's metrics window. */
export interface ServiceTraffic {
  /** The services to judge, per environment: every declared one, with traffic or not. */
  targets(): readonly { service: string; environment: string }[];
  /** The service's traffic in the environment with time in [fromMs, toMs). */
  summary(service: string, environment: string, fromMs: number, toMs: number): ServiceTrafficSummary;
}

export interface MetricRulesOptions {
  rules: readonly MetricRule[];
  traffic: ServiceTraffic;
  sink: AlertSink;
  clock: Clock;
  /** Time between evaluations; default 15 s. */
  intervalMs?: number;
  onError?: (error: unknown) => void;
}

/** One rule's look at one service in one environment. */
export interface RuleEvaluation {
  rule: string;
  service: string;
  environment: string;
  /** The metric's value over the window: a ratio, ms, or requests per second; null with no requests (for a percentile). */
  value: number | null;
  requests: number;
  /** Errors (error_rate) or requests slower than the threshold (p95/p99 with `>`); null for the other rules. */
  bad: number | null;
  firing: boolean;
}

/**
 * The metric-threshold alert source: every `intervalMs` it judges every rule for every service and
 * environment it applies to, over the rule's window of the service's traffic, and reports to the
 * sink: every firing evaluation (so the value shown stays current), and the resolution when a
 * firing one stops. The first evaluation reports every state, firing or not, so that an alert left
 * firing by an earlier engine is resolved if its condition has gone.
 */
export class MetricRules {
  readonly #o: MetricRulesOptions;
  readonly #ticker: Ticker;
  readonly #firing = new Set<string>();
  #first = true;

  constructor(options: MetricRulesOptions) {
    this.#o = options;
    this.#ticker = new Ticker(options.clock, options.intervalMs ?? 15_000, async () => void this.evaluate(), options.onError ?? (() => {}));
  }

  get rules(): readonly MetricRule[] {
    return this.#o.rules;
  }

  start(): void {
    this.#ticker.start();
  }

  stop(): Promise<void> {
    return this.#ticker.stop();
  }

  /** Evaluates every rule now and reports what changed (and what fires); returns every evaluation. */
  evaluate(): RuleEvaluation[] {
    const { rules, traffic, sink, clock } = this.#o;
    const now = clock.now();
    const evaluations: RuleEvaluation[] = [];
    const seen = new Set<string>();
    for (const { service, environment } of traffic.targets()) {
      for (const rule of rules) {
        if (!applies(rule, service, environment)) continue;
        const summary = traffic.summary(service, environment, now - rule.forMs, now);
        const value = valueOf(rule, summary);
        const bad = badOf(rule, summary);
        const crossed = value !== null && (rule.op === ">" ? value > rule.threshold : value < rule.threshold);
        const firing = crossed && summary.requests >= rule.minRequests && (bad ?? Infinity) >= rule.minBad;
        const evaluation = { rule: rule.name, service, environment, value, requests: summary.requests, bad, firing };
        evaluations.push(evaluation);
        const key = keyOf(rule.name, service, environment);
        seen.add(key);
        const was = this.#firing.has(key);
        if (firing) this.#firing.add(key);
        else this.#firing.delete(key);
        if (firing || was || this.#first) sink.report(signalOf(rule, evaluation));
      }
    }
    // A service no longer declared (or a rule no longer matching) leaves nothing firing behind.
    for (const key of [...this.#firing].filter((k) => !seen.has(k))) {
      this.#firing.delete(key);
      const [rule, service, environment] = key.split("\0") as [string, string, string];
      const severity = rules.find((r) => r.name === rule)?.severity ?? "page";
      sink.report({ rule, severity, labels: { service, environment }, annotations: { summary: `${service} (${environment}): no longer judged by ${rule}` }, active: false });
    }
    this.#first = false;
    return evaluations;
  }
}

function applies(rule: MetricRule, service: string, environment: string): boolean {
  return (!rule.services || rule.services.includes(service)) && (!rule.environments || rule.environments.includes(environment));
}

function keyOf(rule: string, service: string, environment: string): string {
  return `${rule}\0${service}\0${environment}`;
}

function valueOf(rule: MetricRule, summary: ServiceTrafficSummary): number | null {
  switch (rule.metric) {
    case "error_rate":
      return summary.requests === 0 ? 0 : summary.errors / summary.requests;
    case "p95":
      return histogramQuantile(summary.latency, 0.95);
    case "p99":
      return histogramQuantile(summary.latency, 0.99);
    case "rps":
      return summary.requests / (rule.forMs / 1000);
  }
}

/** The rule's bad requests: errors, or requests in the latency buckets whose upper bound is above the threshold (the percentile's own reading). */
function badOf(rule: MetricRule, summary: ServiceTrafficSummary): number | null {
  if (!countsBad(rule)) return null;
  if (rule.metric === "error_rate") return summary.errors;
  return summary.latency.reduce((n, count, i) => ((latencyBoundsMs[i] ?? Infinity) > rule.threshold ? n + count : n), 0);
}

const metricNames = { error_rate: "error rate", p95: "p95 latency", p99: "p99 latency", rps: "requests per second" } as const;

/** A metric's value as people read it: 7.2%, 2s, 3.5/s. */
export function formatMetric(metric: MetricRule["metric"], value: number): string {
  if (metric === "error_rate") return `${Number((value * 100).toFixed(2))}%`;
  if (metric === "rps") return `${Number(value.toFixed(2))}/s`;
  return formatDuration(value);
}

function signalOf(rule: MetricRule, e: RuleEvaluation) {
  const window = formatDuration(rule.forMs);
  const threshold = formatMetric(rule.metric, rule.threshold);
  const value = e.value === null ? "no data" : formatMetric(rule.metric, e.value);
  const where = `${e.service} (${e.environment})`;
  const summary = e.firing
    ? `${where}: ${metricNames[rule.metric]} ${value} ${rule.op} ${threshold} over ${window} (${e.requests} requests)`
    : `${where}: ${metricNames[rule.metric]} ${value} over ${window}, not firing (${rule.op} ${threshold} with ${rule.minRequests} requests${rule.minBad ? ` and ${rule.minBad} bad ones` : ""} at least)`;
  // Percentiles are read from a histogram of fixed bounds, as the upper bound of the bucket they fall in.
  const description = rule.metric === "p95" || rule.metric === "p99" ? "The percentile is the upper bound of its histogram bucket." : undefined;
  return {
    rule: rule.name,
    severity: rule.severity,
    labels: { service: e.service, environment: e.environment },
    annotations: {
      summary,
      ...(description && { description }),
      value,
      threshold: `${rule.op} ${threshold}`,
      window,
      requests: String(e.requests),
      min_requests: String(rule.minRequests),
      ...(e.bad !== null && { bad_requests: String(e.bad), min_bad_requests: String(rule.minBad) }),
      ...(rule.runbook !== undefined && { runbook: rule.runbook }),
    },
    active: e.firing,
  };
}
