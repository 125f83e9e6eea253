/**
 * The reverse proxy (data plane): worker processes that route HTTP requests and WebSocket upgrades
 * by host and path prefix to a release's instances, switch route tables atomically, and report
 * per-second metrics back to the engine.
 */
import { ProxyController, type ControllerOptions } from "./controller.js";

export type { MetricsBucket, Proxy, ProxyOptions, Route, RouteFault, RouteTable, SwitchResult, HostLeftOut, Upstream } from "./types.js";
export { faultHeader } from "./fault.js";
export type { ControllerOptions, ProxyController } from "./controller.js";
export { latencyBoundsMs } from "./types.js";

/**
 * Creates the proxy. Nothing runs until `start()`, which listens on `listen` (or takes over
 * `listener`, a listening server handed over by a previous process) and forks `workers` worker
 * processes; the controller accepts every connection and hands it to a worker.
 *
 * @example
 * const proxy = createProxy({ listen: "127.0.0.1:8080", workers: 2, logger });
 * const { port } = await proxy.start();
 * await proxy.apply([{ host: "*", pathPrefix: "/", service: "web", environment: "production",
 *   releaseId: "rel_1", upstreams: [{ host: "127.0.0.1", port: 4001, instanceId: "web-1" }] }]);
 * proxy.onMetrics((buckets) => store.addMetrics(buckets));
 * // A successor (here or in another process, after child.send("listener", proxy.listener())):
 * const next = createProxy({ listen: "127.0.0.1:8080", listener: proxy.listener() });
 * await next.start();
 * await proxy.stop(10_000); // drains; `next` keeps the socket open, so no connection is refused
 */
export function createProxy(options: ControllerOptions): ProxyController {
  return new ProxyController(options);
}
