/**
 * The data-plane process: `node daemon.js` with ENGINEROOM_DATAPLANE_STATE naming the state folder.
 * Started detached by the engine (its own session, its output on a log file), it serves the proxies'
 * last route tables whether or not an engine is connected, and answers the control socket.
 *
 * With ENGINEROOM_DATAPLANE_HANDOVER=1 it is a successor: it gets the listening sockets of its
 * predecessor over the IPC channel, serves on them, takes over the control socket, says "ready",
 * and the predecessor drains and exits. No connection is refused on the way.
 */
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, openSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { dirname } from "node:path";
import { EngineError, createLogger, toEngineError } from "../core/index.js";
import type { MetricsBucket } from "../proxy/index.js";
import { HostAgent, isAgentOp } from "./agent.js";
import { DataPlaneHost } from "./host.js";
import { answers, codeVersion, dataPlanePaths, jsonLines, type Answer, type HelloResult, type Request } from "./protocol.js";

const stateDir = process.env.ENGINEROOM_DATAPLANE_STATE;
if (!stateDir) {
  process.stderr.write("data plane: set ENGINEROOM_DATAPLANE_STATE (the engine starts this process; run `engineroom up`)\n");
  process.exit(2);
}
const successor = process.env.ENGINEROOM_DATAPLANE_HANDOVER === "1" && typeof process.send === "function";
const paths = dataPlanePaths(stateDir);
const logger = createLogger({ format: "json" }).child({ component: "dataplane", pid: process.pid });
const version = codeVersion();
const host = new DataPlaneHost({ stateDir, logger });
// Instances on this host, for engines elsewhere (`runtime: ssh`); every client hears their exits.
const agent = new HostAgent({ stateDir, logger, host: process.env.ENGINEROOM_AGENT_HOST });
agent.onExit((exit) => {
  for (const client of clients) write(client, { event: "exit", exit });
});
const clients = new Set<Socket>();
let control: Server | undefined;
let exiting = false;

// Ctrl-C in the engine's terminal does not reach this process (its own session); a hang-up neither.
process.on("SIGINT", () => {});
process.on("SIGHUP", () => {});
process.on("SIGTERM", () => void exit("SIGTERM", 10_000, false));
process.on("uncaughtException", (error) => {
  logger.error("data plane crashed", { error: error.stack ?? String(error) });
  process.exit(1);
});

function hello(): HelloResult {
  return { pid: process.pid, version, bootId: host.bootId, startedAt: host.startedAt, proxies: host.records() };
}

async function handle(request: Request, client: Socket): Promise<unknown> {
  switch (request.op) {
    case "hello":
      return hello();
    case "proxy.ensure":
      return host.ensure({ environment: request.environment, listen: request.listen, workers: request.workers, upstreamTimeoutMs: request.upstreamTimeoutMs });
    case "proxy.apply":
      return host.apply(request.environment, request.routes);
    case "proxy.inflight":
      return host.inFlight(request.environment, request.releaseId);
    case "proxy.remove":
      return host.remove(request.environment, request.graceMs);
    case "metrics.subscribe": {
      const unsubscribe = host.subscribe((batch) => write(client, { event: "metrics", bootId: host.bootId, seq: batch.seq, buckets: batch.buckets }), request);
      client.once("close", unsubscribe);
      return { bootId: host.bootId };
    }
    case "handover":
      return handOver(request.entry, request.execArgv);
    case "shutdown":
      setImmediate(() => void exit("shutdown", request.graceMs, true));
      return { pid: process.pid };
    default:
      const op = (request as { op: string }).op;
      if (isAgentOp(op)) return agent.handle(op, request as unknown as Record<string, unknown>);
      throw new EngineError("API_BAD_REQUEST", `Unknown data-plane operation ${(request as { op?: unknown }).op}.`);
  }
}

function write(client: Socket, value: unknown): void {
  if (!client.destroyed) client.write(JSON.stringify(value) + "\n");
}

function serve(client: Socket): void {
  clients.add(client);
  client.on("close", () => clients.delete(client));
  client.on("error", () => {});
  client.on(
    "data",
    jsonLines((value) => {
      const request = value as Request;
      handle(request, client).then(
        (result) => write(client, { id: request.id, ok: true, result: result ?? null } satisfies Answer),
        (error) => {
          const e = toEngineError(error);
          write(client, { id: request.id, ok: false, error: { code: e.code, message: e.message, hint: e.hint, details: e.details } } satisfies Answer);
        },
      );
    }),
  );
}

async function listenControl(): Promise<void> {
  mkdirSync(dirname(paths.socket), { recursive: true, mode: 0o700 });
  rmSync(paths.socket, { force: true }); // a stale one, or the predecessor's (it keeps its open socket)
  const server = createServer(serve);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(paths.socket, () => resolve());
  });
  chmodSync(paths.socket, 0o600);
  control = server;
  writeFileSync(paths.info, JSON.stringify({ pid: process.pid, version, bootId: host.bootId, socket: paths.socket, startedAt: host.startedAt }) + "\n", { mode: 0o600 });
}

/** Starts the successor from `entry`, hands it the listening sockets and the metric history, and exits once it serves. */
async function handOver(entry: string, execArgv: string[]): Promise<{ pid: number }> {
  const log = openSync(paths.log, "a");
  const child = spawn(process.execPath, [...execArgv, entry], {
    detached: true,
    stdio: ["ignore", log, log, "ipc"],
    env: { ...process.env, ENGINEROOM_DATAPLANE_STATE: stateDir, ENGINEROOM_DATAPLANE_HANDOVER: "1" },
  });
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the successor did not say ready within 30 s")), 30_000);
    child.on("message", (message: { type?: string; error?: string }) => {
      if (message?.type === "ready") {
        clearTimeout(timer);
        resolve();
      } else if (message?.type === "failed") {
        clearTimeout(timer);
        reject(new Error(message.error ?? "the successor failed"));
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the successor exited (${signal ?? `code ${code}`})`));
    });
  });
  try {
    for (const [environment, server] of host.listeners()) child.send({ type: "listener", environment }, server);
    child.send({ type: "history", batches: host.history() });
    child.send({ type: "go" });
    await ready;
  } catch (error) {
    child.kill("SIGKILL");
    throw new EngineError("DATAPLANE_HANDOVER_FAILED", `The data plane could not hand over to ${entry}: ${(error as Error).message}.`, { cause: error });
  }
  child.disconnect();
  child.unref();
  logger.info("handed over to a successor; draining", { successor: child.pid });
  setImmediate(() => void exit("handover", 10_000, false));
  return { pid: child.pid! };
}

/** Stops serving: with `down`, the records go too (`engineroom down`); otherwise a successor or the next start serves them. */
async function exit(why: string, graceMs: number, down: boolean): Promise<void> {
  if (exiting) return;
  exiting = true;
  logger.info("data plane stopping", { why, graceMs });
  // After a handover the socket path is the successor's: closing our server would unlink it (libuv
  // removes a pipe's path on close), so it stays open until the process exits.
  if (why !== "handover") control?.close();
  await host.stopAll(graceMs, { forget: down });
  if (down) await agent.stopAll(graceMs);
  else agent.close();
  if (down) {
    rmSync(paths.info, { force: true });
    rmSync(paths.socket, { force: true });
  }
  for (const client of clients) client.destroy();
  process.exit(0);
}

/**
 * A successor waits for its predecessor's listening sockets and history before it serves. A received
 * server listens at once: until a proxy takes it, connections are held unread (pauseOnConnect) in a
 * queue, then given to the proxy's own connection handler.
 */
function receiveHandover(): Promise<{ listeners: Map<string, Server>; history: MetricsBucket[][]; release: () => void }> {
  return new Promise((resolve) => {
    const listeners = new Map<string, Server>();
    const held: Array<[Server, Socket]> = [];
    const hold = new Map<Server, (socket: Socket) => void>();
    let history: MetricsBucket[][] = [];
    const release = () => {
      for (const [server, handler] of hold) server.off("connection", handler);
      for (const [server, socket] of held.splice(0)) server.emit("connection", socket);
    };
    process.on("message", (message: { type?: string; environment?: string; batches?: MetricsBucket[][] }, handle?: unknown) => {
      if (message?.type === "listener" && message.environment && handle) {
        const server = handle as Server & { pauseOnConnect: boolean };
        server.pauseOnConnect = true;
        const handler = (socket: Socket) => void held.push([server, socket]);
        server.on("connection", handler);
        hold.set(server, handler);
        listeners.set(message.environment, server);
      } else if (message?.type === "history") history = message.batches ?? [];
      else if (message?.type === "go") resolve({ listeners, history, release });
    });
  });
}

async function main(): Promise<void> {
  if (successor) {
    const { listeners, history, release } = await receiveHandover();
    host.addHistory(history);
    await host.restore(listeners);
    await agent.restore();
    release();
    await listenControl();
    process.send!({ type: "ready" });
    process.disconnect?.();
  } else {
    if (await answers(paths.socket)) {
      logger.info("another data-plane process serves this state folder; exiting");
      process.exit(0);
    }
    await host.restore();
    await agent.restore();
    await listenControl();
  }
  logger.info("data plane serving", { version, proxies: host.records().map((r) => `${r.environment}@${r.address}`) });
}

main().catch((error) => {
  logger.error("data plane could not start", { error: toEngineError(error).message });
  if (successor) process.send?.({ type: "failed", error: toEngineError(error).message });
  process.exit(1);
});
