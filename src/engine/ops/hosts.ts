import { bootstrapHost, checkHost, type HostBootstrap, type HostCheck } from "../../hosts/index.js";
import type { Engine } from "../engine.js";
import { prepareEnvironmentHosts } from "../hosts-wiring.js";

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
  const prepare = (only: string | undefined) => prepareEnvironmentHosts(engine.project, only);
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
      // An environment that started without its hosts is attached once every one of them is ready.
      for (const environment of new Set(results.map((r) => r.environment))) {
        if (!results.every((r) => r.environment !== environment || r.ok)) continue;
        await engine.attachHosts(environment).catch((error) => engine.logger.warn("could not attach an environment to its bootstrapped hosts", { environment, error: String(error) }));
      }
      return results;
    },
  };
}
