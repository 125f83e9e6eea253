import { connect, type Server } from "node:net";
import { EngineError, toEngineError, type Logger } from "../core/index.js";
import type { HostLeftOut, MetricsBucket, Proxy, Route, SwitchResult, Upstream } from "../proxy/index.js";

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
  /** Where an instance's own host reaches it (its agent's address for it, e.g. 127.0.0.1); default: the upstream's host as the engine reaches it. */
  addressOnHost?: (instanceId: string) => string | undefined;
  logger: Logger;
  /** How often the front door checks that each host's proxy accepts connections. Default 1 s; 0: never. */
  healthIntervalMs?: number;
  /**
   * How many hosts must take a switch for it to count (`min_hosts`); the others are left out, named
   * in the switch's result, and get no traffic from the front door for the new table. Default: every host.
   */
  minHosts?: number;
  /** Hosts the runtime passed over when it started a release's instances (they did not answer), by release. */
  passedOver?: (releaseId: string) => HostLeftOut[];
}

/** Failed checks in a row before the front door leaves a host out. */
const downAfter = 2;

/**
 * The proxy of an environment whose instances run on several hosts. Each host's proxy serves the
 * instances on that host; a switch sends every host its part of the table at once and counts only
 * when every host acknowledged it within its bound, or `minHosts` of them (else FLEET_HOST_FAILED
 * names the hosts that did not, and the hosts that took the new table go back to the previous one).
 * The front door then routes to the proxies of the hosts that serve the route and answered. Metrics
 * and in-flight counts are the hosts' proxies' (the front door's would count each request twice).
 */
export class FleetProxy implements Proxy {
  readonly #options: FleetProxyOptions;
  readonly #addresses = new Map<string, Upstream>();
  /** Hosts whose last switch failed: the front door leaves them out until one succeeds. */
  readonly #lost = new Set<string>();
  /** Hosts whose proxy did not answer `downAfter` checks in a row, with the count of failures. */
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
    if (this.#addresses.size === 0) throw this.#failure(failed(this.#options.hosts, started), "could not set up its proxy");
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

  /** Asks each host's proxy for an answer; a change of which hosts are up sends the front door its table again. */
  async #checkHealth(): Promise<void> {
    if (this.#checking) return;
    this.#checking = true;
    try {
      const before = this.serving().join(",");
      await Promise.all(
        [...this.#addresses].map(async ([name, upstream]) => {
          const ok = await answers(upstream.host, upstream.port, 1_000);
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
   * back before FLEET_HOST_FAILED. With `minHosts`, up to (hosts − minHosts) hosts may be left out
   * (silent, refusing the table, or passed over when the release started): the switch counts, the
   * result names them, and the front door sends them nothing until a later table reaches them. A
   * table with the same releases (an instance replaced) goes to every host.
   */
  async apply(routes: Route[]): Promise<SwitchResult> {
    const began = performance.now();
    const hosts = this.#options.hosts;
    const previous = this.#routes;
    const switching = releasesOf(routes) !== releasesOf(previous);
    const spare = hosts.length - Math.min(this.#options.minHosts ?? hosts.length, hosts.length);
    let asked = hosts;
    const leftOut: HostLeftOut[] = [];
    if (switching) {
      const answers = await Promise.allSettled(hosts.map((h) => h.proxy.inFlight("")));
      this.#note(hosts, answers);
      const silent = failed(hosts, answers);
      if (silent.length > spare) {
        await this.#options.front.apply(this.#frontTable(previous));
        throw this.#failure(silent, "did not answer before the switch; no host switched");
      }
      leftOut.push(...silent);
      asked = hosts.filter((h) => !silent.some((s) => s.host === h.name));
    }
    const results = await Promise.allSettled(asked.map((h) => h.proxy.apply(this.#partFor(h.name, routes))));
    this.#note(asked, results);
    const refused = failed(asked, results);
    leftOut.push(...refused);
    if (switching) {
      for (const passed of this.#passedOver(routes, previous)) if (!leftOut.some((l) => l.host === passed.host)) leftOut.push(passed);
    }
    if (switching && leftOut.length > spare) {
      // Never a mixed state: the hosts that took the new table go back to the previous one.
      await Promise.allSettled(asked.filter((_, i) => results[i]!.status === "fulfilled").map((h) => h.proxy.apply(this.#partFor(h.name, previous))));
      await this.#options.front.apply(this.#frontTable(previous));
      throw this.#failure(leftOut, "did not take the new route table; the other hosts went back to the previous one");
    }
    for (const l of leftOut) this.#lost.add(l.host);
    this.#routes = routes;
    const front = await this.#options.front.apply(this.#frontTable(routes));
    if (refused.length > spare) throw this.#failure(refused, "did not take the new route table");
    if (leftOut.length > 0) this.#options.logger.warn("switched without some hosts", { hostsLeftOut: leftOut });
    return { version: front.version, ackMs: Math.round((performance.now() - began) * 100) / 100, ...(leftOut.length > 0 ? { hostsLeftOut: leftOut } : {}) };
  }

  /** Hosts that failed a request are left out of the front door until one succeeds. */
  #note(hosts: FleetProxyHost[], results: PromiseSettledResult<unknown>[]): void {
    results.forEach((r, i) => (r.status === "fulfilled" ? this.#lost.delete(hosts[i]!.name) : this.#lost.add(hosts[i]!.name)));
  }

  /** The hosts the runtime passed over when it started the releases this switch brings. */
  #passedOver(routes: Route[], previous: Route[]): HostLeftOut[] {
    if (!this.#options.passedOver) return [];
    const before = new Set(previous.map((r) => r.releaseId));
    const brought = new Set(routes.map((r) => r.releaseId).filter((id) => !before.has(id)));
    return [...brought].flatMap((id) => this.#options.passedOver!(id));
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

  /** Which hosts the front door sends to now, by name: their proxies answer and took the last table. */
  serving(): string[] {
    return this.#options.hosts.map((h) => h.name).filter((n) => this.#addresses.has(n) && !this.#lost.has(n) && (this.#failures.get(n) ?? 0) < downAfter);
  }

  /** A host's part of the table: each route with only the upstreams (and fallback) on that host. */
  #partFor(host: string, routes: Route[]): Route[] {
    // Each host's proxy dials its instances where that host reaches them (an app may listen on 127.0.0.1 only).
    const local = (u: Upstream): Upstream => ({ ...u, host: this.#options.addressOnHost?.(u.instanceId) ?? u.host });
    const mine = (upstreams: Upstream[] | undefined) => upstreams?.filter((u) => this.#options.hostOf(u.instanceId) === host).map(local);
    return routes.map((route) => {
      const fallback = mine(route.fallback);
      const part: Route = { ...route, upstreams: mine(route.upstreams)! };
      if (route.fallback) part.fallback = fallback;
      return part;
    });
  }

  /**
   * The front door's table: each route to the proxies of the hosts that have an upstream of it (of
   * its fallback only when no host has one), so that a host with none of the new release gets none
   * of its traffic.
   */
  #frontTable(routes: Route[]): Route[] {
    return routes.map((route) => {
      const carrying = route.upstreams.length > 0 ? route.upstreams : (route.fallback ?? []);
      const hosts = new Set(carrying.map((u) => this.#options.hostOf(u.instanceId)));
      const upstreams = this.serving()
        .filter((name) => hosts.has(name))
        .map((name) => this.#addresses.get(name)!);
      const { fallback: _fallback, fallbackReleaseId: _fallbackRelease, fault: _fault, ...rest } = route;
      return { ...rest, upstreams };
    });
  }

  #failure(hosts: HostLeftOut[], what: string): EngineError {
    const names = hosts.map((h) => h.host);
    this.#options.logger.warn(`hosts ${what}`, { hosts: names });
    return new EngineError("FLEET_HOST_FAILED", `Host${names.length > 1 ? "s" : ""} ${hosts.map((h) => `${h.host} (${h.reason})`).join(", ")} ${what}.`, {
      details: { hosts: names },
      hint: "See `engineroom status` for the hosts' reachability; a host that is back takes the next table.",
    });
  }
}

/** The hosts whose request failed, with why. */
function failed(hosts: FleetProxyHost[], results: PromiseSettledResult<unknown>[]): HostLeftOut[] {
  return results.flatMap((r, i) => (r.status === "rejected" ? [{ host: hosts[i]!.name, reason: toEngineError(r.reason).message }] : []));
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


/**
 * Whether the proxy at host:port answers on a new connection within `timeoutMs`. A TCP accept is
 * not enough: a host's data-plane process accepts the connections its workers then serve, so while
 * it is stopped (SIGSTOP) the kernel still accepts and nothing answers. The probe is a line no HTTP
 * parser takes: the worker answers 400 itself, without a route, an upstream or a metric.
 */
function answers(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => socket.write("ENGINEROOM-PROBE\r\n\r\n"));
    socket.once("data", () => done(true));
    socket.once("end", () => done(false));
    socket.once("error", () => done(false));
  });
}
