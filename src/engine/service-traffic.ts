import type { ServiceTraffic, ServiceTrafficSummary } from "../alert/index.js";
import { latencyBoundsMs, type MetricsBucket, type MetricsWindow } from "../metrics/index.js";

/** What the index reads of an environment: its name, its declared services (they change on apply), its metrics window. */
export interface TrafficEnvironment {
  readonly name: string;
  readonly config: { readonly services: Readonly<Record<string, unknown>> };
  readonly metrics: MetricsWindow;
}

/**
 * A service's traffic per environment, its releases summed, from the environments' metrics windows:
 * what metric alert rules read. The windows keep per-release buckets; this remembers which releases
 * each service had in the window's span, from the buckets the proxies send (`record`).
 */
export class ServiceTrafficIndex implements ServiceTraffic {
  readonly #environments: () => readonly TrafficEnvironment[];
  readonly #keepMs: number;
  /** environment → service → releaseId → time of its newest bucket. */
  readonly #releases = new Map<string, Map<string, Map<string, number>>>();

  constructor(environments: () => readonly TrafficEnvironment[], options: { keepMs?: number } = {}) {
    this.#environments = environments;
    this.#keepMs = options.keepMs ?? 15 * 60_000;
  }

  /** Notes the releases of a batch of buckets (call it with every batch the environment's window gets). */
  record(buckets: readonly MetricsBucket[]): void {
    for (const b of buckets) {
      let services = this.#releases.get(b.environment);
      if (!services) this.#releases.set(b.environment, (services = new Map()));
      let releases = services.get(b.service);
      if (!releases) services.set(b.service, (releases = new Map()));
      releases.set(b.releaseId, Math.max(releases.get(b.releaseId) ?? 0, b.time));
    }
  }

  targets(): { service: string; environment: string }[] {
    return this.#environments().flatMap((e) => Object.keys(e.config.services).map((service) => ({ service, environment: e.name })));
  }

  /**
   * Client-visible traffic: a try the proxy retried on another upstream counts once, as the answer
   * it got, so `errors` are answers 5xx and upstream errors no retry covered.
   */
  summary(service: string, environment: string, fromMs: number, toMs: number): ServiceTrafficSummary {
    const window = this.#environments().find((e) => e.name === environment)?.metrics;
    const latency = new Array<number>(latencyBoundsMs.length + 1).fill(0);
    let requests = 0;
    let errors = 0;
    const releases = this.#releases.get(environment)?.get(service);
    for (const [releaseId, newest] of releases ?? []) {
      if (newest < toMs - this.#keepMs) {
        releases!.delete(releaseId); // out of the window's span: nothing left to read
        continue;
      }
      if (!window || newest < fromMs) continue;
      const s = window.summary(releaseId, fromMs, toMs);
      const unanswered = s.upstreamErrors - s.retried;
      requests += s.requests + unanswered;
      errors += s.status["5xx"] + unanswered;
      s.latency.forEach((n, i) => (latency[i]! += n));
    }
    return { requests, errors, latency };
  }
}
