/**
 * Helpers for the proxy's tests: small upstream servers, a started proxy, and a keep-alive HTTP
 * client. Real sockets on 127.0.0.1 only; every wait is bounded.
 */
import { Agent, createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createProxy, type ControllerOptions, type ProxyController } from "./index.js";
import type { MetricsBucket, Route } from "./types.js";

export interface TestUpstream {
  name: string;
  port: number;
  server: Server;
  /** Requests received, in order. */
  seen: IncomingMessage[];
  close(): Promise<void>;
}

/** An upstream that answers `name` (200), unless `handler` takes the request (returns true). */
export async function startUpstream(name: string, handler?: (req: IncomingMessage, res: ServerResponse) => boolean | void): Promise<TestUpstream> {
  const seen: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    seen.push(req);
    if (handler?.(req, res)) return;
    req.resume();
    res.end(name);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    name,
    port: (server.address() as AddressInfo).port,
    server,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The upstreams a test file starts, closed together by `closeAll()` in its `after` hook. */
export function upstreamSet() {
  const started: TestUpstream[] = [];
  return {
    /** startUpstream(), remembered for closeAll(). */
    start: async (name: string, handler?: Parameters<typeof startUpstream>[1]): Promise<TestUpstream> => {
      const upstream = await startUpstream(name, handler);
      started.push(upstream);
      return upstream;
    },
    closeAll: async (): Promise<void> => {
      await Promise.all(started.map((u) => u.close()));
    },
  };
}

/** A route to the given upstreams; override any field. */
export function route(upstreams: TestUpstream[], fields: Partial<Route> = {}): Route {
  return {
    host: "*",
    pathPrefix: "/",
    service: "web",
    environment: "test",
    releaseId: `rel_${upstreams.map((u) => u.name).join("_")}`,
    upstreams: upstreams.map((u) => ({ host: "127.0.0.1", port: u.port, instanceId: u.name })),
    ...fields,
  };
}

export interface StartedProxy {
  proxy: ProxyController;
  port: number;
  /** Every metrics bucket the proxy has reported so far. */
  buckets: MetricsBucket[];
}

/** Starts a proxy on 127.0.0.1:0 and collects its metrics. */
export async function startProxy(options: Partial<ControllerOptions> = {}): Promise<StartedProxy> {
  const proxy = createProxy({ listen: "127.0.0.1:0", workers: 1, ...options });
  const { port } = await proxy.start();
  const buckets: MetricsBucket[] = [];
  proxy.onMetrics((batch) => buckets.push(...batch));
  return { proxy, port, buckets };
}

export interface Answer {
  status: number;
  body: string;
  headers: IncomingMessage["headers"];
}

/** One request through the proxy on 127.0.0.1:`port`. */
export function send(
  port: number,
  path: string,
  options: { host?: string; method?: string; headers?: Record<string, string>; body?: string; agent?: Agent } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path,
        method: options.method ?? "GET",
        agent: options.agent ?? false,
        headers: { host: options.host ?? "app.test", ...options.headers },
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode!, body, headers: res.headers }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

/** Polls `check` every 20 ms until it returns something truthy, failing after `timeoutMs`. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 5_000, what = "condition"): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Sums buckets of one release into one. */
export function total(buckets: MetricsBucket[], releaseId: string) {
  const sum = { "1xx": 0, "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0, upstreamErrors: 0, upstreamTimeouts: 0, retried: 0, clientAborts: 0, latency: 0 };
  for (const b of buckets) {
    if (b.releaseId !== releaseId) continue;
    for (const cls of ["1xx", "2xx", "3xx", "4xx", "5xx"] as const) sum[cls] += b.status[cls];
    sum.upstreamErrors += b.upstreamErrors;
    sum.clientAborts += b.clientAborts;
    sum.upstreamTimeouts += b.upstreamTimeouts ?? 0;
    sum.retried += b.retried ?? 0;
    sum.latency += b.latency.reduce((a, c) => a + c, 0);
  }
  return sum;
}
