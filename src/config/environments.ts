import type { z } from "zod";
import { hostProblems, hostProxyConflicts, placeServices } from "./hosts.js";
import { routeConflicts, type ConfigProblem } from "./routes.js";
import { serviceSchema, type EnvironmentConfig, type ProjectConfig, type ProjectDocument } from "./schema.js";

/**
 * Merges each environment's overrides into the services' base definitions (from the raw YAML, so
 * that defaults do not overwrite what the base says) and validates the result. Returns the problems
 * found instead of throwing, so that the loader reports them all with the schema's.
 */
export function resolveEnvironments(document: ProjectDocument, raw: Record<string, unknown>): { config?: ProjectConfig; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const rawServices = (raw.services ?? {}) as Record<string, Record<string, unknown>>;
  const environments: EnvironmentConfig[] = [];
  const listeners = new Map<string, string>();
  const hostListeners = new Map<string, string>();
  for (const [index, [envName, env]] of Object.entries(document.environments).entries()) {
    const at = ["environments", envName];
    const services: EnvironmentConfig["services"] = Object.create(null);
    for (const [serviceName, override] of Object.entries(env.services)) {
      if (!document.services[serviceName]) {
        problems.push({ path: [...at, "services", serviceName], message: `no service "${serviceName}" is declared under services` });
        continue;
      }
      for (const key of ["run", "artifact"]) {
        if (key in override) problems.push({ path: [...at, "services", serviceName, key], message: `${key} is the same in every environment; set it under services.${serviceName}` });
      }
    }
    for (const [serviceName, base] of Object.entries(rawServices)) {
      const override = env.services[serviceName];
      if (!override) {
        // Nothing differs here: the base definition, already validated, as it is.
        if (document.services[serviceName]) services[serviceName] = document.services[serviceName];
        continue;
      }
      const merged = mergeDeep(base, override);
      const parsed = serviceSchema.safeParse(merged);
      if (parsed.success) services[serviceName] = parsed.data;
      else if (env.services[serviceName]) {
        // Problems of the base definition are reported once, under services; these come from the override.
        for (const issue of parsed.error.issues as z.core.$ZodIssue[]) {
          problems.push({ path: [...at, "services", serviceName, ...(issue.path as (string | number)[])], message: describe(issue) });
        }
      }
    }
    const proxy = { listen: env.proxy.listen ?? document.proxy.listen, workers: env.proxy.workers ?? document.proxy.workers };
    const other = listeners.get(proxy.listen);
    if (other && !/:0$/.test(proxy.listen)) {
      problems.push({ path: [...at, "proxy", "listen"], message: `environments ${other} and ${envName} both listen on ${proxy.listen}; give each its own proxy.listen` });
    }
    listeners.set(proxy.listen, envName);
    // Conflicts in the base definition are reported under services; here only those an override makes.
    if (Object.values(env.services).some((o) => "routes" in o)) problems.push(...routeConflicts(services, at));
    problems.push(...hostProblems(env, at));
    const fleet = { runtime: env.runtime, hosts: env.hosts, known_hosts: env.known_hosts, trust_on_first_use: env.trust_on_first_use, host_proxy_listen: env.host_proxy_listen, min_hosts: env.min_hosts, request_timeout_ms: env.request_timeout_ms, reconnect_ms: env.reconnect_ms };
    const placed = placeServices(services, fleet, (s) => (env.services[s] && "placement" in env.services[s] ? [...at, "services", s] : ["services", s]));
    problems.push(...placed.problems, ...hostProxyConflicts(fleet, envName, at, hostListeners));
    environments.push({ name: envName, index, proxy, require_approval: env.require_approval, services: placed.services, ...fleet });
  }
  if (problems.length > 0) return { problems };
  // Services are looked up by names that come from requests: with no prototype, "__proto__",
  // "constructor" or "toString" find nothing instead of Object.prototype's members.
  return { config: { ...document, services: Object.assign(Object.create(null), document.services), environments }, problems };
}

/** Objects merge key by key; anything else in `override` replaces. */
function mergeDeep(base: unknown, override: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(override)) return override === undefined ? base : override;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) merged[key] = mergeDeep(base[key], value);
  return merged;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(issue: z.core.$ZodIssue): string {
  if (issue.code === "unrecognized_keys") return `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}`;
  return issue.message;
}
