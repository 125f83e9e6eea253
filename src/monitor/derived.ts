/**
 * The checks every service gets without writing them:
 * - `<service>.health.<environment>`: an http check of the service's `health.path` through that
 *   environment's proxy, as a user's request goes (Host: the first concrete host of its routes);
 *   only while the service has a live release there, so a service never deployed raises nothing;
 * - `proxy.<environment>`: a tcp check of the environment's proxy address (alerts inhibit a
 *   service's checks while its environment's proxy is down).
 * No certificate check is derived: the proxy speaks plain HTTP.
 */
import type { ServiceConfig } from "../config/index.js";
import { parseAddress } from "../core/index.js";
import { defineCheck, type CheckDefinition } from "./checks/index.js";

/**
 * Timing of a service's health check and a proxy's tcp check: every 10 s (`monitor.service_check_interval`),
 * 5 s timeout (or the interval when shorter), down after 3 failures in a row, up after 2 passes.
 */
export function derivedTiming(intervalMs = 10_000): Record<string, number> {
  return { interval: intervalMs, timeout: Math.min(5_000, intervalMs), failure_threshold: 3, recovery_threshold: 2 };
}

/** What the derived checks are made from: each environment, its proxy's address, its services, and which have a live release. */
export interface DerivedInput {
  environments: readonly { name: string; proxyAddress: string; services: Readonly<Record<string, ServiceConfig>> }[];
  /** `true` for a service with a live release in an environment. */
  isLive(service: string, environment: string): boolean;
}

/** The name of a service's derived health check in an environment. */
export function healthCheckName(service: string, environment: string): string {
  return `${service}.health.${environment}`;
}

/** The name of an environment's derived proxy check. */
export function proxyCheckName(environment: string): string {
  return `proxy.${environment}`;
}

interface Spec {
  name: string;
  config: Record<string, unknown>;
  path: string[];
  labels: Record<string, string>;
}

/** The route a user's health request goes by: one whose prefix holds the health path, a concrete host first. */
function healthRoute(service: ServiceConfig): { host: string | undefined } {
  const covering = service.routes.filter((r) => service.health.path.startsWith(r.path));
  const routes = covering.length > 0 ? covering : service.routes;
  const concrete = routes.find((r) => r.host !== "*");
  return { host: concrete?.host };
}

function specs(input: DerivedInput, intervalMs: number | undefined): Spec[] {
  const timing = derivedTiming(intervalMs);
  const out: Spec[] = [];
  for (const environment of input.environments) {
    const address = parseAddress(environment.proxyAddress);
    if (!address) continue; // not started yet
    out.push({
      name: proxyCheckName(environment.name),
      config: { type: "tcp", host: address.host, port: address.port, ...timing },
      path: ["environments", environment.name, "proxy"],
      labels: { environment: environment.name, component: "proxy" },
    });
    for (const [service, config] of Object.entries(environment.services)) {
      if (!input.isLive(service, environment.name)) continue;
      const { host } = healthRoute(config);
      out.push({
        name: healthCheckName(service, environment.name),
        config: { type: "http", url: `http://${environment.proxyAddress}${config.health.path}`, ...(host ? { headers: { host } } : {}), ...timing },
        path: ["services", service, "health"],
        labels: { service, environment: environment.name },
      });
    }
  }
  return out;
}

/**
 * Makes the derived checks, keeping the very same definition for a check whose config did not
 * change (so the monitor goes on with it undisturbed) and making a new one when it did.
 */
export class DerivedChecks {
  readonly #made = new Map<string, { key: string; definition: CheckDefinition }>();
  readonly #intervalMs: number | undefined;

  /** `intervalMs`: of every derived check (default 10 s). */
  constructor(options: { intervalMs?: number } = {}) {
    this.#intervalMs = options.intervalMs;
  }

  derive(input: DerivedInput): CheckDefinition[] {
    const definitions: CheckDefinition[] = [];
    const seen = new Set<string>();
    for (const spec of specs(input, this.#intervalMs)) {
      const key = JSON.stringify([spec.config, spec.labels]);
      seen.add(spec.name);
      let made = this.#made.get(spec.name);
      if (made?.key !== key) {
        made = { key, definition: defineCheck(spec.name, spec.config, { path: spec.path, derived: true, labels: spec.labels }) };
        this.#made.set(spec.name, made);
      }
      definitions.push(made.definition);
    }
    for (const name of this.#made.keys()) if (!seen.has(name)) this.#made.delete(name);
    return definitions;
  }
}
