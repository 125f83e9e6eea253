/**
 * Test helpers for the request hot path: the forwarder and upgrader of a worker, served in-process
 * on 127.0.0.1 (real sockets, no worker process), with the worker's per-release stats at hand, and
 * metric totals that include the newer counters. For tests of the process model, see test-support.ts.
 */
import { createServer, type Server } from "node:http";
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from "node:net";
import { fastLaneByDefault } from "./controller.js";
import { FastLane } from "./fast-lane/lane.js";
import { createForwarder, targetOf, type RouteTarget } from "./forward.js";
import { ReleaseStats } from "./metrics.js";
import { RouteIndex } from "./route-table.js";
import type { MetricsBucket, Route } from "./types.js";
import { createUpgrader } from "./upgrade.js";
import { UpstreamRegistry, type UpstreamState } from "./upstreams.js";

/** Sums the buckets of one release, every counter of MetricsBucket included. */
export function totals(buckets: readonly MetricsBucket[], releaseId: string) {
  const sum = { "2xx": 0, "4xx": 0, "5xx": 0, other: 0, upstreamErrors: 0, upstreamTimeouts: 0, retried: 0, clientAborts: 0, latency: 0 };
  for (const b of buckets) {
    if (b.releaseId !== releaseId) continue;
    sum["2xx"] += b.status["2xx"];
    sum["4xx"] += b.status["4xx"];
    sum["5xx"] += b.status["5xx"];
    sum.other += b.status["1xx"] + b.status["3xx"];
    sum.upstreamErrors += b.upstreamErrors;
    sum.upstreamTimeouts += b.upstreamTimeouts ?? 0;
    sum.retried += b.retried ?? 0;
    sum.clientAborts += b.clientAborts;
    sum.latency += b.latency.reduce((a, c) => a + c, 0);
  }
  return sum;
}

export interface InProcessForwarder {
  port: number;
  server: Server;
  /** Installs a route table, as a worker does (fallback releases get their own stats). */
  apply(routes: Route[]): void;
  /** Every bucket counted so far (the current second included). */
  buckets(): MetricsBucket[];
  /** Requests in flight of a release. */
  inFlight(releaseId: string): number;
  /** The fast lane, when it serves (options.fastLane). */
  lane: FastLane | undefined;
  close(): Promise<void>;
}

/** Serves createForwarder()/createUpgrader() on 127.0.0.1:0 in this process. */
export async function startForwarder(options: { timeoutMs?: number; hungUpstreamMs?: number; fastLane?: boolean } = {}): Promise<InProcessForwarder> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const registry = new UpstreamRegistry({ timeoutMs });
  const stats = new Map<string, ReleaseStats>();
  const taken: MetricsBucket[] = [];
  const statsOf = (releaseId: string, service: string, environment: string) => {
    let release = stats.get(releaseId);
    if (!release) stats.set(releaseId, (release = new ReleaseStats(releaseId, service, environment)));
    return release;
  };
  let table = new RouteIndex<RouteTarget>(0, [], () => undefined as never);
  const current = () => table;
  const server = createServer(createForwarder(current, { hungUpstreamMs: options.hungUpstreamMs }));
  server.on("upgrade", createUpgrader(current, timeoutMs, { hungUpstreamMs: options.hungUpstreamMs }));
  // With the fast lane, as in a worker: the lane takes every connection, Node's server what it hands over.
  let lane: FastLane | undefined;
  let front: NetServer | Server = server;
  if (options.fastLane ?? fastLaneByDefault()) {
    const fast = new FastLane(current, (socket) => server.emit("connection", socket), { upstreamTimeoutMs: timeoutMs, hungUpstreamMs: options.hungUpstreamMs });
    lane = fast;
    server.emit("listening");
    front = createNetServer({ noDelay: true }, (socket) => fast.adopt(socket));
  }
  await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", resolve));
  return {
    port: (front.address() as AddressInfo).port,
    server,
    apply(routes) {
      const used = new Set<UpstreamState>();
      table = new RouteIndex(table.version + 1, routes, (route) =>
        targetOf(route, statsOf(route.releaseId, route.service, route.environment), registry, used, statsOf),
      );
      registry.commit(used);
    },
    buckets() {
      for (const release of stats.values()) taken.push(...release.take(Date.now(), true));
      return taken;
    },
    inFlight: (releaseId) => stats.get(releaseId)?.inFlight ?? 0,
    lane,
    close: () =>
      new Promise<void>((resolve) => {
        registry.commit(new Set());
        lane?.close();
        server.closeAllConnections();
        if (front === server) server.close(() => resolve());
        else front.close(() => server.close(() => resolve()));
      }),
  };
}
