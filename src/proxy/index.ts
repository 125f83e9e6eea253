/**
 * The reverse proxy (data plane): worker processes that route HTTP requests and WebSocket upgrades
 * by host and path prefix to a release's instances, switch route tables atomically, and report
 * per-second metrics back to the engine.
 */
import type { Logger } from "../core/index.js";
import { ProxyController } from "./controller.js";
import type { Proxy, ProxyOptions } from "./types.js";

export type { MetricsBucket, Proxy, ProxyOptions, Route, RouteTable, SwitchResult, Upstream } from "./types.js";
export { latencyBoundsMs } from "./types.js";

/**
 * Creates the proxy. Nothing runs until `start()`, which forks `workers` processes through
 * node:cluster (the proxy assumes it is the only user of cluster in the engine process).
 *
 * @example
 * const proxy = createProxy({ listen: "127.0.0.1:8080", workers: 2, logger });
 * const { port } = await proxy.start();
 * await proxy.apply([{ host: "*", pathPrefix: "/", service: "web", environment: "production",
 *   releaseId: "rel_1", upstreams: [{ host: "127.0.0.1", port: 4001, instanceId: "web-1" }] }]);
 * proxy.onMetrics((buckets) => store.addMetrics(buckets));
 * await proxy.stop(10_000);
 */
export function createProxy(options: ProxyOptions & { logger?: Logger }): Proxy {
  return new ProxyController(options);
}
