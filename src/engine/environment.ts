import type { EnvironmentConfig, ServiceConfig } from "../config/index.js";
import { formatAddress, type Clock, type Logger } from "../core/index.js";
import { Deployer, Supervisor, WriterLock, type Artifacts, type ConfigSnapshots } from "../deploy/index.js";
import { MetricsWindow, PrometheusMetricSource, ProxyMetricSource, type MetricSource } from "../metrics/index.js";
import type { Proxy } from "../proxy/index.js";
import type { Runtime } from "../runtime/index.js";
import type { Store } from "../store/index.js";
import { ProxyTraffic } from "./traffic.js";

/** The metric source a service's analysis reads: the built-in proxy metrics, or its Prometheus. */
function metricSourceFor(service: ServiceConfig, window: MetricsWindow): MetricSource {
  const metrics = service.analysis.metrics;
  if (metrics.source === "proxy") return new ProxyMetricSource(window);
  return new PrometheusMetricSource({
    url: metrics.url,
    requests: metrics.requests,
    errors: metrics.errors,
    latencyBuckets: metrics.latency_buckets,
    leUnit: metrics.le_unit,
  });
}

export interface EnvironmentParts {
  config: EnvironmentConfig;
  store: Store;
  runtime: Runtime;
  artifacts: Artifacts;
  configs: ConfigSnapshots;
  clock: Clock;
  logger: Logger;
  projectDir: string;
  /** Resolves secret references in a service's env (and registers the values with the redactor). */
  resolveEnv: (env: ServiceConfig["env"]) => Promise<Record<string, string>>;
  /** This environment's proxy: served by the data-plane process, which outlives the engine. */
  proxy: Proxy;
}

/**
 * One environment of the chain as it runs: its own proxy (listener and workers), the instances of
 * its releases, and its deployer. Environments share the engine's store, runtime and artifacts.
 */
export class EnvironmentRuntime {
  readonly name: string;
  /** As last loaded or applied; `apply` replaces it. */
  config: EnvironmentConfig;
  readonly proxy: Proxy;
  readonly traffic: ProxyTraffic;
  readonly supervisor: Supervisor;
  readonly deployer: Deployer;
  /** One writer at a time in this environment: deploys, promotions, rollbacks, approvals, applies. */
  readonly lock: WriterLock;
  readonly metrics: MetricsWindow;
  proxyAddress = "";

  constructor(parts: EnvironmentParts) {
    const { config, store, runtime, clock, logger } = parts;
    this.name = config.name;
    this.config = config;
    const log = logger.child({ environment: config.name });
    this.proxy = parts.proxy;
    this.traffic = new ProxyTraffic(this.proxy, () => this.config.services, config.name);
    this.metrics = new MetricsWindow({ clock });
    this.proxy.onMetrics((buckets) => this.metrics.add(buckets));
    this.supervisor = new Supervisor({
      runtime,
      events: store.events,
      clock,
      logger: log,
      environment: config.name,
      onUpstreamsChanged: (releaseId) =>
        void this.traffic.refresh(releaseId, this.supervisor.upstreams(releaseId)).catch((e) => log.warn("route refresh failed", { error: String(e) })),
      onGaveUp: (releaseId, instanceId) => this.deployer.handleGaveUp(releaseId, instanceId),
      isServing: (releaseId) => this.traffic.servesRelease(releaseId),
    });
    this.lock = new WriterLock(store.locks, config.name, { events: store.events, clock });
    this.deployer = new Deployer({
      lock: this.lock,
      environment: config.name,
      store,
      runtime,
      supervisor: this.supervisor,
      traffic: this.traffic,
      artifacts: parts.artifacts,
      configs: parts.configs,
      clock,
      logger: log,
      services: () => this.config.services,
      projectDir: parts.projectDir,
      requireApproval: config.require_approval,
      resolveEnv: parts.resolveEnv,
      metricSource: (service) => metricSourceFor(service, this.metrics),
    });
  }

  /** Sets up the proxy in the data plane, or finds it serving the table it kept; the engine takes that table over. */
  async start(): Promise<void> {
    const address = await this.proxy.start();
    this.proxyAddress = formatAddress(address.host, address.port);
    this.traffic.seed(this.proxy.routes());
  }

  /** Ends the engine's part: watch windows and background work. The proxy and the instances keep serving. */
  async detach(): Promise<void> {
    await this.deployer.close();
    this.supervisor.detach();
  }

  /** Stops everything of this environment: the proxy first (draining in-flight requests), then the instances. */
  async stop(): Promise<void> {
    await this.deployer.close();
    await this.proxy.stop(5000);
    const graces = Object.values(this.config.services).map((s) => s.release.stop_grace);
    await this.supervisor.stopAll(Math.min(10_000, ...graces));
  }
}
