import { connect, type Server } from "node:net";
import { EngineError, toEngineError, type Logger } from "../core/index.js";
import type { MetricsBucket, Proxy, Route, SwitchResult, Upstream } from "../proxy/index.js";

/** One host's proxy, as the fleet sees it. */
export interface FleetProxyHost {
  name: string;
  /** The host's address as the front door reaches it (its proxy's port is the one it bound). */
  address: string;
  proxy: Proxy;
}

export interface FleetProxyOptions {
  hosts: FleetProxyHost[];
  /** The front door: an Engineroom proxy that balances across the hosts' proxies. */
  front: Proxy;
  /** The host an instance runs on (by its id), as the runtime placed it. */
  hostOf: (instanceId: string) => string | undefined;
  logger: Logger;
  /** How often the front door checks that each host's proxy accepts connections. Default 1 s; 0: never. */
  healthIntervalMs?: number;
}

/** Failed connection checks in a row before the front door leaves a host out. */
const downAfter = 2;

/**
 * The proxy of an environment whose instances run on several hosts. Each host's proxy serves the
 * instances on that host; a switch sends every host its part of the table at once and counts only
 * when every host acknowledged it (else FLEET_HOST_FAILED names the hosts that did not; the caller
 * sends the previous table again, so that the hosts that took the new one go back). The front door
 * then routes to the proxies of the hosts that serve the route and answered. Metrics and in-flight
 * counts are the hosts' proxies' (the front door's would count each request twice).
 */
export class FleetProxy implements Proxy {
  readonly #options: FleetProxyOptions;
  readonly #addresses = new Map<string, Upstream>();
  /** Hosts whose last switch failed: the front door leaves them out until one succeeds. */
  readonly #lost = new Set<string>();
  /** Hosts whose proxy did not accept connections `downAfter` checks in a row, with the count of failures. */
  readonly #failures = new Map<string, number>();
  #health: NodeJS.Timeout | undefined;
  #checking = false;
  #routes: Route[] = [];

  constructor(options: FleetProxyOptions) {
    this.#options = options;
  }

  async start(): Promise<{ host: string; port: number }> {
    const started = await Promise.allSettled(this.#options.hosts.map((h) => h.proxy.start()));
    started.forEach((result, i) => {
      const host = this.#options.hosts[i]!;
      if (result.status === "fulfilled") this.#addresses.set(host.name, { host: host.address, port: result.value.port, instanceId: `host:${host.name}` });
      else this.#lost.add(host.name);
    });
    if (this.#addresses.size === 0) throw this.#failure(started, "could not set up its proxy");
    // What the hosts kept serving: the union of their tables is the environment's.
    this.#routes = merge(this.#options.hosts.filter((h) => this.#addresses.has(h.name)).map((h) => h.proxy.routes()));
    const address = await this.#options.front.start();
    await this.#options.front.apply(this.#frontTable(this.#routes));
    const every = this.#options.healthIntervalMs ?? 1_000;
    if (every > 0) {
      this.#health = setInterval(() => void this.#checkHealth(), every);
      this.#health.unref();
    }
    return address;
  }

  /** Connects to each host's proxy; a change of which hosts are up sends the front door its table again. */
  async #checkHealth(): Promise<void> {
    if (this.#checking) return;
    this.#checking = true;
    try {
      const before = this.serving().join(",");
      await Promise.all(
        [...this.#addresses].map(async ([name, upstream]) => {
          const ok = await accepts(upstream.host, upstream.port, 1_000);
          this.#failures.set(name, ok ? 0 : (this.#failures.get(name) ?? 0) + 1);
        }),
      );
      if (this.serving().join(",") !== before) {
        this.#options.logger.warn("hosts the front door sends to changed", { serving: this.serving() });
        await this.#options.front.apply(this.#frontTable(this.#routes));
      }
    } catch (error) {
      this.#options.logger.warn("front door health check failed", { error: String(error) });
    } finally {
      this.#checking = false;
    }
  }

  /**
   * A switch (some route's release changes) is all or nothing: every host is asked first whether it
   * answers, and when one does not take the new table, the hosts that took it get the previous one
   * back before FLEET_HOST_FAILED. A table with the same releases (an instance replaced) goes to
   * every host that answers.
   */
  async apply(routes: Route[]): Promise<SwitchResult> {
    const began = performance.now();
    const hosts = this.#options.hosts;
    const previous = this.#routes;
    const switching = releasesOf(routes) !== releasesOf(previous);
    if (switching) {
      const answers = await Promise.allSettled(hosts.map((h) => h.proxy.inFlight("")));
      this.#note(answers);
      if (answers.some((r) => r.status === "rejected")) {
        await this.#options.front.apply(this.#frontTable(previous));
        throw this.#failure(answers, "did not answer before the switch; no host switched");
      }
    }
    const results = await Promise.allSettled(hosts.map((h) => h.proxy.apply(this.#partFor(h.name, routes))));
    this.#note(results);
    if (switching && results.some((r) => r.status === "rejected")) {
      // Never a mixed state: the hosts that took the new table go back to the previous one.
      await Promise.allSettled(hosts.filter((_, i) => results[i]!.status === "fulfilled").map((h) => h.proxy.apply(this.#partFor(h.name, previous))));
      await this.#options.front.apply(this.#frontTable(previous));
      throw this.#failure(results, "did not take the new route table; the other hosts went back to the previous one");
    }
    this.#routes = routes;
    const front = await this.#options.front.apply(this.#frontTable(routes));
    if (results.some((r) => r.status === "rejected")) throw this.#failure(results, "did not take the new route table");
    return { version: front.version, ackMs: Math.round((performance.now() - began) * 100) / 100 };
  }

  /** Hosts that failed a request are left out of the front door until one succeeds. */
  #note(results: PromiseSettledResult<unknown>[]): void {
    results.forEach((r, i) => (r.status === "fulfilled" ? this.#lost.delete(this.#options.hosts[i]!.name) : this.#lost.add(this.#options.hosts[i]!.name)));
  }

  async inFlight(releaseId: string): Promise<number> {
    const counts = await Promise.allSettled(this.#options.hosts.map((h) => h.proxy.inFlight(releaseId)));
    return counts.reduce((sum, c) => sum + (c.status === "fulfilled" ? c.value : 0), 0);
  }

  onMetrics(listener: (buckets: MetricsBucket[]) => void): () => void {
    const offs = this.#options.hosts.map((h) => h.proxy.onMetrics(listener));
    return () => offs.forEach((off) => off());
  }

  async stop(graceMs?: number): Promise<void> {
    clearInterval(this.#health);
    await this.#options.front.stop(graceMs);
    await Promise.allSettled(this.#options.hosts.map((h) => h.proxy.stop(graceMs)));
  }

  routes(): Route[] {
    return this.#routes;
  }

  listener(): Server | undefined {
    return undefined;
  }

  /** Which hosts the front door sends to now, by name: their proxies accept connections and took the last table. */
  serving(): string[] {
    return this.#options.hosts.map((h) => h.name).filter((n) => this.#addresses.has(n) && !this.#lost.has(n) && (this.#failures.get(n) ?? 0) < downAfter);
  }

  /** A host's part of the table: each route with only the upstreams (and fallback) on that host. */
  #partFor(host: string, routes: Route[]): Route[] {
    const mine = (upstreams: Upstream[] | undefined) => upstreams?.filter((u) => this.#options.hostOf(u.instanceId) === host);
    return routes.map((route) => {
      const fallback = mine(route.fallback);
      const part: Route = { ...route, upstreams: mine(route.upstreams)! };
      if (route.fallback) part.fallback = fallback;
      return part;
    });
  }

  /** The front door's table: each route to the proxies of the hosts that have an upstream of it. */
  #frontTable(routes: Route[]): Route[] {
    return routes.map((route) => {
      const hosts = new Set([...route.upstreams, ...(route.fallback ?? [])].map((u) => this.#options.hostOf(u.instanceId)));
      const upstreams = this.serving()
        .filter((name) => hosts.has(name))
        .map((name) => this.#addresses.get(name)!);
      const { fallback: _fallback, fallbackReleaseId: _fallbackRelease, fault: _fault, ...rest } = route;
      return { ...rest, upstreams };
    });
  }

  #failure(results: PromiseSettledResult<unknown>[], what: string): EngineError {
    const failed = results.flatMap((r, i) => (r.status === "rejected" ? [`${this.#options.hosts[i]!.name} (${toEngineError(r.reason).message})`] : []));
    const names = results.flatMap((r, i) => (r.status === "rejected" ? [this.#options.hosts[i]!.name] : []));
    this.#options.logger.warn(`hosts ${what}`, { hosts: names });
    return new EngineError("FLEET_HOST_FAILED", `Host${names.length > 1 ? "s" : ""} ${failed.join(", ")} ${what}.`, { details: { hosts: names } });
  }
}

/** Which release each route serves, as one comparable string. */
function releasesOf(routes: Route[]): string {
  return routes
    .map((r) => `${r.environment}\0${r.host}\0${r.pathPrefix}\0${r.releaseId}`)
    .sort()
    .join("\n");
}

/** One table from several hosts' tables: routes by (host, path), their upstreams together. */
function merge(tables: Route[][]): Route[] {
  const byKey = new Map<string, Route>();
  for (const table of tables) {
    for (const route of table) {
      const key = `${route.environment}\0${route.host}\0${route.pathPrefix}`;
      const seen = byKey.get(key);
      if (!seen) byKey.set(key, { ...route, upstreams: [...route.upstreams], ...(route.fallback ? { fallback: [...route.fallback] } : {}) });
      else {
        seen.upstreams.push(...route.upstreams);
        if (route.fallback) seen.fallback = [...(seen.fallback ?? []), ...route.fallback];
      }
    }
  }
  return [...byKey.values()];
}


/** Whether something accepts a TCP connection at host:port within `timeoutMs`. */
function accepts(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}
