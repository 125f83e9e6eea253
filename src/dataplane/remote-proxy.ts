import { EngineError, parseAddress } from "../core/index.js";
import type { MetricsBucket, Proxy, Route, SwitchResult } from "../proxy/index.js";
import type { DataPlane } from "./client.js";
import type { ProxyRecord, ProxySettings } from "./protocol.js";

/**
 * One environment's proxy as the engine sees it: a `Proxy` whose workers live in the data-plane
 * process. `start()` sets it up there (or finds it running, with the table it kept); `stop()` is
 * for `engineroom down` and removed environments only: an engine that stops leaves it serving.
 */
export class RemoteProxy implements Proxy {
  readonly #plane: DataPlane;
  readonly #settings: ProxySettings;
  #routes: Route[];
  #started = false;

  constructor(plane: DataPlane, settings: ProxySettings, found: ProxyRecord | undefined) {
    this.#plane = plane;
    this.#settings = settings;
    this.#routes = found?.routes ?? [];
  }

  async start(): Promise<{ host: string; port: number }> {
    const record = await this.#plane.request<ProxyRecord>("proxy.ensure", { ...this.#settings });
    this.#routes = record.routes;
    this.#started = true;
    const address = parseAddress(record.address);
    if (!address) throw new EngineError("INTERNAL", `The data plane gave an address that is not host:port: ${record.address}.`);
    return address;
  }

  /** After the data plane came back (it was restarted): set the proxy up again and send it the table the engine holds. */
  async reattach(): Promise<void> {
    if (!this.#started) return;
    const record = await this.#plane.request<ProxyRecord>("proxy.ensure", { ...this.#settings });
    if (JSON.stringify(record.routes) !== JSON.stringify(this.#routes)) await this.#plane.request("proxy.apply", { environment: this.#settings.environment, routes: this.#routes });
  }

  async apply(routes: Route[]): Promise<SwitchResult> {
    const started = performance.now();
    const result = await this.#plane.request<SwitchResult>("proxy.apply", { environment: this.#settings.environment, routes });
    this.#routes = routes;
    return { version: result.version, ackMs: Math.round((performance.now() - started) * 100) / 100 };
  }

  inFlight(releaseId: string): Promise<number> {
    return this.#plane.request<number>("proxy.inflight", { environment: this.#settings.environment, releaseId });
  }

  onMetrics(listener: (buckets: MetricsBucket[]) => void): () => void {
    const environment = this.#settings.environment;
    return this.#plane.onMetrics((buckets) => {
      const ours = buckets.filter((b) => b.environment === environment);
      if (ours.length > 0) listener(ours);
    });
  }

  async stop(graceMs = 10_000): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    await this.#plane.request("proxy.remove", { environment: this.#settings.environment, graceMs });
  }

  routes(): Route[] {
    return this.#routes;
  }

  listener(): undefined {
    return undefined;
  }
}
