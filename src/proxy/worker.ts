/**
 * A proxy worker process (forked by the controller through node:cluster). It asks for the current
 * route table, installs it, and only then listens, so it never serves a request without a table.
 * It answers the controller's questions over IPC and sends metric buckets once a second.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createForwarder, targetOf, type RouteTarget } from "./forward.js";
import { workerConfigEnv, type FromWorker, type ToWorker, type WorkerConfig } from "./messages.js";
import { ReleaseStats } from "./metrics.js";
import { RouteIndex } from "./route-table.js";
import type { Route } from "./types.js";
import { createUpgrader } from "./upgrade.js";
import { UpstreamRegistry, type UpstreamState } from "./upstreams.js";

const config = JSON.parse(process.env[workerConfigEnv] ?? "null") as WorkerConfig | null;
if (!config || !process.send) {
  process.stderr.write("proxy worker: start it through the proxy controller, not directly\n");
  process.exit(2);
}

function send(message: FromWorker, then?: () => void): void {
  if (process.connected) process.send!(message, undefined, undefined, then);
}

const upstreams = new UpstreamRegistry({ timeoutMs: config.upstreamTimeoutMs });
/** Every release a table has named, kept while it has requests in flight or metrics to send. */
const releases = new Map<string, ReleaseStats>();
let liveReleases = new Set<string>();
let table = new RouteIndex<RouteTarget>(0, [], () => undefined as never);
const currentTable = () => table;

const server = createServer(createForwarder(currentTable));
// Longer than clients' idle timeouts (as nginx's 75 s): a client must never send on a connection the
// proxy is closing at that moment. Clients read the Keep-Alive hint and close first.
server.keepAliveTimeout = 75_000;
server.on("upgrade", createUpgrader(currentTable, config.upstreamTimeoutMs));
let listening = false;
let stopping = false;

function install(version: number, routes: Route[]): void {
  const used = new Set<UpstreamState>();
  const live = new Set<string>();
  const next = new RouteIndex<RouteTarget>(version, routes, (route) => {
    let release = releases.get(route.releaseId);
    if (!release) releases.set(route.releaseId, (release = new ReleaseStats(route.releaseId, route.service, route.environment)));
    live.add(route.releaseId);
    return targetOf(route, release, upstreams, used);
  });
  // The switch: one assignment. Requests already dispatched keep their own upstream and stats.
  table = next;
  liveReleases = live;
  upstreams.commit(used);
}

function listen(): void {
  listening = true;
  server.once("error", (error: NodeJS.ErrnoException) => {
    send({ type: "listen-error", code: error.code ?? "UNKNOWN", message: error.message }, () => process.exit(1));
  });
  server.listen({ host: config!.host, port: config!.port }, () => {
    send({ type: "listening", port: (server.address() as AddressInfo).port });
  });
}

/** Sends the metric buckets of finished seconds (of every second, with `all`), and forgets idle releases. */
function flushMetrics(all: boolean, then?: () => void): void {
  const now = Date.now();
  const buckets = [];
  for (const [id, release] of releases) {
    buckets.push(...release.take(now, all));
    if (release.idle && !liveReleases.has(id)) releases.delete(id);
  }
  if (buckets.length > 0) send({ type: "metrics", buckets }, then);
  else then?.();
}

// Tick just after each second boundary, so each second's bucket is sent once, complete.
function scheduleFlush(): void {
  setTimeout(() => {
    flushMetrics(false);
    scheduleFlush();
  }, 1050 - (Date.now() % 1000)).unref();
}

function inFlightTotal(): number {
  let total = 0;
  for (const release of releases.values()) total += release.inFlight;
  return total;
}

function stop(graceMs: number): void {
  if (stopping) return;
  stopping = true;
  server.close();
  const deadline = Date.now() + graceMs;
  const poll = () => {
    // Connections idle between keep-alive requests are closed as soon as they are idle.
    server.closeIdleConnections();
    if (inFlightTotal() > 0 && Date.now() < deadline) return void setTimeout(poll, 20);
    flushMetrics(true, () => process.exit(0));
  };
  poll();
}

process.on("message", (message: ToWorker) => {
  switch (message.type) {
    case "routes":
      if (message.version >= table.version) install(message.version, message.routes);
      send({ type: "ack", version: table.version });
      if (!listening && !stopping) listen();
      break;
    case "inflight":
      send({ type: "inflight", id: message.id, count: releases.get(message.releaseId)?.inFlight ?? 0 });
      break;
    case "stop":
      stop(message.graceMs);
      break;
  }
});

// Ctrl-C in a terminal signals the whole foreground process group, workers included: the engine
// decides when the proxy stops (after draining), so a worker ignores the signals it gets directly.
process.on("SIGINT", () => {});
process.on("SIGTERM", () => {});

// The engine is gone (crashed or killed): a worker must never outlive it.
process.on("disconnect", () => process.exit(0));
process.on("uncaughtException", (error) => {
  send({ type: "log", level: "error", message: "proxy worker crashed", fields: { error: error.stack ?? String(error) } }, () =>
    process.exit(1),
  );
  setTimeout(() => process.exit(1), 500).unref();
});

scheduleFlush();
send({ type: "hello" });
