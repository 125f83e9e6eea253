import { join } from "node:path";
import type { EnvironmentHosts } from "../../config/index.js";
import { EngineError, redactor } from "../../core/index.js";
import { bootstrapHost, checkHost, prepareHosts, type HostBootstrap, type HostCheck, type PreparedHost } from "../../hosts/index.js";
import { providerFor } from "../../secrets/index.js";
import { secretProviders, type Engine } from "../engine.js";

/** The ssh host operations of the façade (see ../operations.ts): `engineroom hosts check|bootstrap`, GET /v1/hosts, POST /v1/hosts/bootstrap. */
export interface HostOperations {
  /** Every ssh host of every environment (or of `environment`), checked now: reachability, host key, Node.js, state folder, daemon, load, free disk. */
  hosts(options?: { environment?: string }): Promise<HostCheck[]>;
  /**
   * Prepares every ssh host (of `environment`): state folder, the engine's code, the data-plane
   * daemon running detached. Idempotent. A host that fails is a result with its error; the others go on.
   */
  bootstrapHosts(options?: { environment?: string; actor?: string }): Promise<HostBootstrap[]>;
}

export function hostOperations(engine: Engine): HostOperations {
  const prepare = async (only: string | undefined): Promise<PreparedHost[]> => {
    const environments = engine.project.config.environments;
    if (only !== undefined && !environments.some((e) => e.name === only)) {
      throw new EngineError("ENVIRONMENT_UNKNOWN", `There is no environment ${only}.`, { details: { environment: only } });
    }
    const secrets = secretProviders(engine.project);
    const prepared: PreparedHost[] = [];
    for (const env of environments) {
      if ((only !== undefined && env.name !== only) || env.runtime !== "ssh") continue;
      const fleet: EnvironmentHosts = { runtime: "ssh", hosts: env.hosts ?? {}, known_hosts: env.known_hosts, trust_on_first_use: env.trust_on_first_use ?? false };
      prepared.push(
        ...(await prepareHosts(env.name, fleet, {
          dir: join(engine.project.stateDir, "hosts", env.name),
          projectDir: engine.project.dir,
          readKey: async (ref) => {
            const key = await providerFor(secrets, ref.provider).provider.get(ref.secret);
            // Line by line too: a part of the key that leaks into some output is caught as well.
            for (const line of key?.split("\n") ?? []) if (!line.startsWith("-----")) redactor.add(ref.secret, line.trim());
            if (key) redactor.add(ref.secret, key);
            return key;
          },
        })),
      );
    }
    return prepared;
  };
  return {
    async hosts(options = {}) {
      return Promise.all((await prepare(options.environment)).map(checkHost));
    },

    async bootstrapHosts(options = {}) {
      const results = await Promise.all((await prepare(options.environment)).map((host) => bootstrapHost(host)));
      for (const result of results) {
        await engine.store.events.append({
          type: result.ok ? "host.bootstrapped" : "host.bootstrap-failed",
          environment: result.environment,
          message: result.ok ? `host ${result.host} is ready (code ${result.code}, daemon ${result.daemon})` : `host ${result.host}: ${result.error?.message ?? "not ready"}`,
          data: { by: options.actor ?? "engine", host: result.host, address: result.address, code: result.code, daemon: result.daemon, ...(result.error ? { error: result.error.code } : {}) },
        });
      }
      return results;
    },
  };
}
