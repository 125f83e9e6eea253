/**
 * A proxy worker process (forked by the controller). Its main thread is the request thread: it
 * serves the connections the controller accepted and hands over (server.emit("connection")), and
 * answers the controller's questions over IPC. Route tables reach it through its control thread
 * (control-thread.ts) and shared memory: once per request it checks the table version, and
 * recompiles its RouteIndex when the version moved, before routing. It sends metric buckets once
 * a second.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { dirname, extname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { MessageChannel, Worker } from "node:worker_threads";
import type { ControlThreadData } from "./control-thread.js";
import { createForwarder, targetOf, type RouteTarget } from "./forward.js";
import { controlFd, workerConfigEnv, type FromWorker, type ToWorker, type WorkerConfig } from "./messages.js";
import { ReleaseStats } from "./metrics.js";
import { RouteIndex } from "./route-table.js";
import { createTableBuffer, noVersion, TableReader } from "./shared-table.js";
import type { Route } from "./types.js";
import { FastLane } from "./fast-lane/lane.js";
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
let table = new RouteIndex<RouteTarget>(noVersion, [], () => undefined as never);
let reader: TableReader | undefined;

/** The table a request is routed by: read once per request, so a request sees exactly one version. */
function currentTable(): RouteIndex<RouteTarget> {
  if (reader !== undefined && reader.version() !== table.version) {
    const published = reader.read();
    install(published.version, JSON.parse(published.json) as Route[]);
  }
  return table;
}

let stopping = false;
const forward = createForwarder(currentTable);
const server = createServer(forward);
// Longer than clients' idle timeouts (as nginx's 75 s): a client must never send on a connection the
// proxy is closing at that moment. Clients read the Keep-Alive hint and close first.
server.keepAliveTimeout = 75_000;
server.on("upgrade", createUpgrader(currentTable, config.upstreamTimeoutMs));
// The server never listens itself (the controller accepts), but its connection tracking starts on
// "listening": it enforces headersTimeout/requestTimeout and lets closeIdleConnections() work.
server.emit("listening");
const sockets = new Set<Socket>();
const lane = config.fastLane
  ? new FastLane(currentTable, (socket) => server.emit("connection", socket), { upstreamTimeoutMs: config.upstreamTimeoutMs, keepAliveMs: server.keepAliveTimeout })
  : undefined;

function serve(socket: Socket): void {
  sockets.add(socket);
  socket.once("close", () => sockets.delete(socket));
  socket.setNoDelay(true);
  if (lane) lane.adopt(socket);
  else server.emit("connection", socket);
}

function install(version: number, routes: Route[]): void {
  const used = new Set<UpstreamState>();
  const live = new Set<string>();
  // A route's release and its fallback release each count in their own stats, kept while the table names them.
  const statsOf = (releaseId: string, service: string, environment: string) => {
    let stats = releases.get(releaseId);
    if (!stats) releases.set(releaseId, (stats = new ReleaseStats(releaseId, service, environment)));
    live.add(releaseId);
    return stats;
  };
  const next = new RouteIndex<RouteTarget>(version, routes, (route) =>
    targetOf(route, statsOf(route.releaseId, route.service, route.environment), upstreams, used, statsOf),
  );
  // The switch: one assignment. Requests already dispatched keep their own upstream and stats.
  table = next;
  liveReleases = live;
  upstreams.commit(used);
}

function startControlThread(): void {
  const buffer = createTableBuffer(config!.tableBufferBytes);
  const { port1, port2 } = new MessageChannel();
  reader = new TableReader(buffer, port1);
  const workerData: ControlThreadData = { buffer, port: port2, fd: controlFd };
  // Beside this file with the same extension. Worker threads do not inherit tsx's loader on Node 20,
  // so under tsx (tests, benchmarks) the thread registers it before it imports the .ts file.
  const here = fileURLToPath(import.meta.url);
  const file = join(dirname(here), `control-thread${extname(here)}`);
  const options = { workerData, transferList: [port2] };
  const thread =
    extname(here) === ".ts"
      ? new Worker(
          `import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))})` +
            `.then((tsx) => { tsx.register(); return import(${JSON.stringify(pathToFileURL(file).href)}); })`,
          { ...options, eval: true },
        )
      : new Worker(file, options);
  // Picks a new table up while the request thread idles; a request picks it up anyway.
  thread.on("message", () => currentTable());
  thread.on("error", (error) => crash("proxy control thread crashed", error));
  thread.on("exit", () => {
    if (!stopping && process.connected) crash("proxy control thread exited", new Error("its control pipe closed"));
  });
  thread.unref();
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

/**
 * Drains: every answer from now on closes its connection; connections still idle after a short
 * window (in which busy keep-alive clients get that answer) are closed; exits once nothing is in
 * flight, or at the grace deadline.
 */
function stop(graceMs: number): void {
  if (stopping) return;
  stopping = true;
  // From now on every answer tells its keep-alive client to close, so none sends on a closing connection.
  server.removeAllListeners("request");
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    res.shouldKeepAlive = false;
    forward(req, res);
  });
  if (lane) lane.stopping = true;
  const started = Date.now();
  const deadline = started + graceMs;
  const idleWindowEnd = started + Math.min(300, graceMs / 2);
  const poll = () => {
    const now = Date.now();
    if (now >= idleWindowEnd) {
      server.closeIdleConnections();
      lane?.closeIdle();
    }
    const busy = inFlightTotal() > 0 || (sockets.size > 0 && now < idleWindowEnd);
    if (busy && now < deadline) return void setTimeout(poll, 20);
    flushMetrics(true, () => process.exit(0));
  };
  poll();
}

process.on("message", (message: ToWorker, handle?: unknown) => {
  switch (message.type) {
    case "connection":
      if (handle) serve(handle as Socket);
      break;
    case "routes":
      if (message.version >= table.version) install(message.version, message.routes);
      send({ type: "ack", version: table.version });
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

// The controller's process is gone (crashed or killed): a worker must never outlive it.
process.on("disconnect", () => process.exit(0));

function crash(message: string, error: unknown): void {
  send({ type: "log", level: "error", message, fields: { error: (error as Error)?.stack ?? String(error) } }, () => process.exit(1));
  setTimeout(() => process.exit(1), 500).unref();
}
process.on("uncaughtException", (error) => crash("proxy worker crashed", error));

if (config.controlThread) startControlThread();
scheduleFlush();
send({ type: "hello" });
