import type { ServiceConfig } from "../config/index.js";
import type { RouteOptions, TrafficControl } from "../deploy/index.js";
import type { Proxy, Route, RouteFault, SwitchResult, Upstream } from "../proxy/index.js";

interface Target {
  releaseId: string;
  upstreams: Upstream[];
  fallback?: Upstream[];
  fallbackReleaseId?: string;
}

/**
 * The engine's side of the data plane: remembers which release (and which of its instances) each
 * service's routes point at, and sends the proxy the whole route table on every change.
 */
export class ProxyTraffic implements TrafficControl {
  #proxy: Proxy;
  #services: () => Readonly<Record<string, ServiceConfig>>;
  #environment: string;
  #targets = new Map<string, Target>();
  /** Drills' faults by release: on the routes of that release only, while it is routed to. */
  #faults = new Map<string, RouteFault>();

  constructor(proxy: Proxy, services: () => Readonly<Record<string, ServiceConfig>>, environment: string) {
    this.#proxy = proxy;
    this.#services = services;
    this.#environment = environment;
  }

  /**
   * Takes over the table the data plane kept serving while no engine was connected, so that the
   * first change after a restart does not drop the routes of services not yet restored.
   */
  seed(routes: readonly Route[]): void {
    for (const route of routes) {
      if (route.environment !== this.#environment || this.#targets.has(route.service)) continue;
      this.#targets.set(route.service, { releaseId: route.releaseId, upstreams: route.upstreams, fallback: route.fallback, fallbackReleaseId: route.fallbackReleaseId });
    }
  }

  async route(service: string, releaseId: string, upstreams: Upstream[], options: RouteOptions = {}): Promise<SwitchResult> {
    const before = this.#targets.get(service);
    this.#targets.set(service, { releaseId, upstreams, fallback: options.fallback, fallbackReleaseId: options.fallbackReleaseId });
    try {
      return await this.#proxy.apply(this.table());
    } catch (error) {
      // The switch failed and the deploy stops the new release: go back to the release that serves, and
      // send its table again (best effort) to any worker that took the new one, and as the proxy's
      // current table for workers that start later.
      if (before) this.#targets.set(service, before);
      else this.#targets.delete(service);
      await this.#proxy.apply(this.table()).catch(() => undefined);
      throw error;
    }
  }

  unroute(service: string): Promise<SwitchResult> {
    this.#targets.delete(service);
    return this.#proxy.apply(this.table());
  }

  inFlight(releaseId: string): Promise<number> {
    return this.#proxy.inFlight(releaseId);
  }

  /** Re-sends the table with new upstreams for a release, if some service routes to it (after an instance crashed or came back). */
  async refresh(releaseId: string, upstreams: Upstream[]): Promise<void> {
    let changed = false;
    for (const [service, target] of this.#targets) {
      if (target.releaseId === releaseId) {
        this.#targets.set(service, { ...target, upstreams });
        changed = true;
      } else if (target.fallbackReleaseId === releaseId) {
        this.#targets.set(service, { ...target, fallback: upstreams });
        changed = true;
      }
    }
    if (changed) await this.#proxy.apply(this.table());
  }

  /**
   * Sets (or with undefined, clears) a drill's fault on the requests sent to the release's instances;
   * the table goes out again when a route points at it now, else the fault waits for its switch.
   * Faults are the engine's memory only: a data plane that outlives the engine keeps one until the
   * next table the next engine sends.
   */
  async setFault(releaseId: string, fault: RouteFault | undefined): Promise<void> {
    if (fault) this.#faults.set(releaseId, fault);
    else if (!this.#faults.delete(releaseId)) return;
    if (this.servesRelease(releaseId)) await this.#proxy.apply(this.table());
  }

  /** True when some service's routes point at the release now. */
  servesRelease(releaseId: string): boolean {
    return [...this.#targets.values()].some((t) => t.releaseId === releaseId);
  }

  /** The release each service's routes point at now. */
  liveRelease(service: string): string | undefined {
    return this.#targets.get(service)?.releaseId;
  }

  table(): Route[] {
    const routes: Route[] = [];
    for (const [service, target] of this.#targets) {
      for (const route of this.#services()[service]?.routes ?? []) {
        routes.push({
          host: route.host.toLowerCase(),
          pathPrefix: route.path,
          service,
          environment: this.#environment,
          releaseId: target.releaseId,
          upstreams: target.upstreams,
          ...(target.fallback && target.fallback.length > 0 ? { fallback: target.fallback, fallbackReleaseId: target.fallbackReleaseId } : {}),
          ...(this.#faults.has(target.releaseId) ? { fault: this.#faults.get(target.releaseId) } : {}),
        });
      }
    }
    return routes;
  }
}
