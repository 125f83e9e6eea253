/**
 * Switch benchmark: how long apply() takes until every proxy worker acknowledged a new route table,
 * while wrk keeps the workers busy. For 1 and 2 workers, with route tables through each worker's
 * control thread and shared memory (the default), and over the worker's IPC channel as before (the
 * baseline, the path the request thread's event loop delays), in the same run. Two upstream
 * processes answer after `--delay` ms (default 20, as the zero-downtime benchmark's instances); the
 * switches alternate between them. After every acknowledgement one request on a kept-alive
 * connection checks that it reaches the new upstream.
 *
 *   node --import tsx bench/switch.ts [--switches 100] [--rounds 2] [--workers 1,2] [--connections 64] [--delay 20] [--gap 20]
 *                                     [--no-engine] [--compare-entry <other checkout>/src/dataplane/daemon.ts]
 *
 * The "engine → data plane" case runs a real data-plane process (this build's) on a temp state
 * folder and switches through DataPlane from this process, as the engine does: that time goes from
 * the engine's request to the answer on the control socket, and includes writing the table to
 * disk. `--compare-entry` adds the same case with another build's data plane (a baseline: e.g. a
 * checkout of an earlier commit, with node_modules).
 *
 * Each round runs the four cases, in reverse order every other round; figures are over all rounds
 * (acknowledgement percentiles over every switch, req/s the median of the rounds).
 *
 * Needs wrk (Debian: apt-get install -y wrk). Loopback only; wrk is bounded by -d and stopped early;
 * every process it starts is ended before it exits. Prints figures, asserts nothing.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { Pool } from "undici";
import { DataPlane, daemonEntry } from "../src/dataplane/index.js";
import { createProxy, type Route, type SwitchResult } from "../src/proxy/index.js";
import { fmt, median, parseWrk, percentile } from "./stats.js";

const { values } = parseArgs({
  options: {
    switches: { type: "string", default: "100" },
    rounds: { type: "string", default: "2" },
    workers: { type: "string", default: "1,2" },
    connections: { type: "string", default: "64" },
    delay: { type: "string", default: "20" },
    gap: { type: "string", default: "20" },
    engine: { type: "boolean", default: true },
    "compare-entry": { type: "string" },
  },
  allowNegative: true,
});
const switches = Number(values.switches);
const connections = Number(values.connections);
const gapMs = Number(values.gap);
if (spawnSync("wrk", ["--version"]).error) {
  console.error("wrk is not installed (apt-get install -y wrk)");
  process.exit(2);
}

const children: ChildProcess[] = [];
process.on("exit", () => children.forEach((c) => c.exitCode === null && c.kill("SIGKILL")));
process.on("SIGINT", () => process.exit(130));

/** An upstream process on 127.0.0.1 that answers its name after `delay` ms. */
async function startUpstream(name: string, delay: number): Promise<number> {
  const code = `
    const { createServer } = require("node:http");
    const server = createServer((req, res) => { req.resume(); setTimeout(() => res.end(${JSON.stringify(name)}), ${delay}); });
    server.keepAliveTimeout = 60000;
    server.listen(0, "127.0.0.1", () => console.log("listening " + server.address().port));
    process.on("disconnect", () => process.exit(0));
  `;
  const child = spawn(process.execPath, ["-e", code], { stdio: ["ignore", "pipe", "inherit", "ipc"] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening (\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.once("exit", (c) => reject(new Error(`upstream ${name} exited (${c})`)));
  });
}

const delay = Number(values.delay);
const ports = { blue: await startUpstream("blue", delay), green: await startUpstream("green", delay) };
const table = (name: "blue" | "green"): Route[] => [
  { host: "*", pathPrefix: "/", service: "bench", environment: "bench", releaseId: `rel_${name}`, upstreams: [{ host: "127.0.0.1", port: ports[name], instanceId: name }] },
];

/** What a case switches through: a proxy in this process, or a data-plane process driven over its control socket as the engine does. */
interface Switcher {
  start(): Promise<number>;
  /** `ackMs` as the caller measures it; `ownAckMs`, the proxy's own, when it is another process's. */
  apply(routes: Route[]): Promise<{ ackMs: number; ownAckMs?: number }>;
  stop(): Promise<void>;
}

function localProxy(workers: number, controlThread: boolean): Switcher {
  const proxy = createProxy({ listen: "127.0.0.1:0", workers, controlThread, switchTimeoutMs: 10_000 });
  return { start: async () => (await proxy.start()).port, apply: (routes) => proxy.apply(routes), stop: () => proxy.stop(2_000) };
}

/**
 * A real data-plane process (from `entry`: this build's, or another build's for a baseline) on a
 * temp state folder, driven through DataPlane as the engine drives it: the time is the engine's,
 * from the request to the answer on the control socket (RemoteProxy.apply measures the same).
 */
function dataPlaneProxy(workers: number, entry: string): Switcher {
  const stateDir = mkdtempSync(join(tmpdir(), "engineroom-bench-switch-"));
  let plane: DataPlane | undefined;
  return {
    async start() {
      plane = await DataPlane.attach({ stateDir, entry });
      const address = await plane.proxy({ environment: "bench", listen: "127.0.0.1:0", workers, upstreamTimeoutMs: 60_000 }).start();
      return address.port;
    },
    async apply(routes) {
      const started = performance.now();
      const result = await plane!.request<SwitchResult>("proxy.apply", { environment: "bench", routes });
      return { ackMs: performance.now() - started, ownAckMs: result.ackMs };
    },
    async stop() {
      await plane?.shutdown(2_000);
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

interface Result {
  name: string;
  acks: number[];
  ownAcks: number[];
  wrongAfterAck: number;
  requests: number;
  failed: number;
  /** Non-2xx answers and wrk's socket errors by kind, when any. */
  problems: string;
  rps: number;
  latencyP99Ms: number;
}

async function run(name: string, proxy: Switcher): Promise<Result> {
  const port = await proxy.start();
  await proxy.apply(table("blue"));
  const wrk = spawn("wrk", ["-t2", `-c${connections}`, "-d120s", "--latency", `http://127.0.0.1:${port}/`], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(wrk);
  let output = "";
  wrk.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const wrkDone = new Promise<void>((resolve) => wrk.once("exit", () => resolve()));
  await new Promise((r) => setTimeout(r, 1_000)); // warm: every connection open and busy
  const probe = new Pool(`http://127.0.0.1:${port}`, { connections: 1 });
  const acks: number[] = [];
  const ownAcks: number[] = [];
  let wrongAfterAck = 0;
  for (let i = 0; i < switches; i++) {
    const target = i % 2 === 0 ? "green" : "blue";
    const { ackMs, ownAckMs } = await proxy.apply(table(target));
    acks.push(ackMs);
    if (ownAckMs !== undefined) ownAcks.push(ownAckMs);
    const res = await probe.request({ method: "GET", path: "/" });
    if ((await res.body.text()) !== target) wrongAfterAck++;
    await new Promise((r) => setTimeout(r, gapMs));
  }
  await probe.close();
  wrk.kill("SIGINT");
  await wrkDone;
  await proxy.stop();
  const summary = parseWrk(output);
  const socketErrors = Object.values(summary.socketErrors).reduce((a, b) => a + b, 0);
  const problems = summary.non2xx + socketErrors > 0 ? `non-2xx ${summary.non2xx}, socket errors ${JSON.stringify(summary.socketErrors)}` : "";
  return { name, acks, ownAcks, wrongAfterAck, requests: summary.requests, failed: summary.non2xx + socketErrors, problems, rps: summary.rps, latencyP99Ms: summary.latencyP99Ms ?? NaN };
}

console.log(`switch: ${switches} switches per case under wrk -t2 -c${connections}, upstreams answer in ${delay} ms, ${gapMs} ms between switches, node ${process.version}`);
const plural = (workers: number) => `${workers} worker${workers > 1 ? "s" : ""}`;
const cases: { name: string; switcher: () => Switcher }[] = values.workers.split(",").map(Number).flatMap((workers) => [
  { name: `${plural(workers)}, control thread`, switcher: () => localProxy(workers, true) },
  { name: `${plural(workers)}, IPC (baseline)`, switcher: () => localProxy(workers, false) },
  ...(values.engine ? [{ name: `${plural(workers)}, engine → data plane`, switcher: () => dataPlaneProxy(workers, daemonEntry) }] : []),
  ...(values["compare-entry"] ? [{ name: `${plural(workers)}, engine → compared`, switcher: () => dataPlaneProxy(workers, resolve(values["compare-entry"]!)) }] : []),
]);
const byCase = new Map<string, Result[]>();
for (let round = 0; round < Number(values.rounds); round++) {
  for (const { name, switcher } of round % 2 === 0 ? cases : [...cases].reverse()) {
    const result = await run(name, switcher());
    byCase.set(result.name, [...(byCase.get(result.name) ?? []), result]);
    const own = result.ownAcks.length > 0 ? ` (data plane's own: p50 ${fmt(median(result.ownAcks))} p99 ${fmt(percentile(result.ownAcks, 0.99))})` : "";
    process.stderr.write(`  round ${round + 1}: ${result.name}: ack p50 ${fmt(median(result.acks))} p99 ${fmt(percentile(result.acks, 0.99))}${own}, ${result.rps.toFixed(0)} req/s, request p99 ${fmt(result.latencyP99Ms)} ${result.problems}\n`);
  }
}
const results: Result[] = [...byCase.values()].map((runs) => ({
  name: runs[0]!.name,
  acks: runs.flatMap((r) => r.acks),
  ownAcks: runs.flatMap((r) => r.ownAcks),
  wrongAfterAck: runs.reduce((a, r) => a + r.wrongAfterAck, 0),
  requests: runs.reduce((a, r) => a + r.requests, 0),
  failed: runs.reduce((a, r) => a + r.failed, 0),
  problems: runs.map((r) => r.problems).join(" "),
  rps: median(runs.map((r) => r.rps)),
  latencyP99Ms: median(runs.map((r) => r.latencyP99Ms)),
}));

const cells = (v: string[]) => `| ${v[0]!.padEnd(32)} | ${v.slice(1).map((x) => x.padStart(9)).join(" | ")} |`;
console.log(cells(["case", "ack p50", "ack p99", "ack max", "own p50", "own p99", "req/s", "req p99", "failed", "old after"]));
console.log(`|${"-".repeat(34)}|${`${"-".repeat(11)}|`.repeat(9)}`);
for (const r of results) {
  const own = r.ownAcks.length > 0 ? [fmt(median(r.ownAcks)), fmt(percentile(r.ownAcks, 0.99))] : ["", ""];
  console.log(
    cells([r.name, fmt(median(r.acks)), fmt(percentile(r.acks, 0.99)), fmt(Math.max(...r.acks)), ...own, r.rps.toFixed(0), fmt(r.latencyP99Ms), String(r.failed), String(r.wrongAfterAck)]),
  );
}
console.log("engine → data plane: the engine's time (DataPlane over the control socket to a data-plane process, as RemoteProxy.apply measures it); own = the data plane's proxy alone");
console.log("reference: the node:cluster controller before this one, measured with bench/zero-downtime.ts (issue 7): ack p50 5.5 ms, p99 57 ms");
console.log("target: ack p99 < 10 ms; failed 0; old after = probe requests after an acknowledgement that reached the old upstream, target 0");
process.exit(0);
