/**
 * How fast can a proxy in Node be? The floors, beside nginx and our proxy, in one run:
 *
 *   node --import tsx bench/proxy-floor.ts [--rounds 3] [--duration 5] [--connections 64] [--only engineroom,raw+raw]
 *
 * Each runs in one process (one worker) in front of the same upstream (bench/proxy-upstream.mjs),
 * with `wrk -t1 -c<connections>` in alternating order round after round:
 *   nginx         worker_processes 1, keep-alive upstream (as bench/proxy-vs-nginx.ts)
 *   engineroom    our proxy, 1 worker, metrics on, with its fast lane (the default)
 *   regular path  the same with `fastLane: false`: every request through Node's HTTP server and undici
 *   node+undici   Node's HTTP server + undici's Client.dispatch, nothing else: the stacks our proxy is made of
 *   node+raw      Node's HTTP server + the cheapest client there is (a pooled socket, Content-Length only)
 *   node-answers  Node's HTTP server answering every request itself: the cost of its side alone
 *   raw+raw       HTTP parsed by hand on both sides (GET only, no validation): another HTTP stack
 * The minimal ones (bench/proxy-floor-variants.mjs) have no checks, timeouts or retries: they are
 * floors, not proxies. Prints req/s, its ratio to nginx, p99 and the CPU per request of the process
 * under test (from /proc). Needs nginx and wrk. Not a test: it reports numbers and asserts nothing.
 */
import { createRequire } from "node:module";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { createProxy } from "../src/proxy/index.js";
import { median } from "./stats.js";
import { descendants, Harness, parseArgs, requireTools, waitForPort, type Run } from "./wrk-harness.js";

const args = parseArgs(process.argv);
const rounds = Number(args.get("rounds") ?? 3);
const duration = Number(args.get("duration") ?? 5);
const connections = Number(args.get("connections") ?? 64);

requireTools(["nginx", "wrk"]);
const harness = new Harness();
const upstreamPort = await harness.startUpstream(1);
const nginx = await harness.startNginx(upstreamPort);

const targets = new Map<string, { port: number; pids: number[] }>();
targets.set("nginx", { port: nginx.port, pids: [nginx.workerPid] });

// Ours, with and without the fast lane: the processes each createProxy started (the controller side,
// in this process, is idle while wrk runs and left out).
const proxies = [];
for (const [name, fastLane] of [["engineroom", true], ["regular path", false]] as const) {
  const before = new Set(descendants(process.pid));
  const proxy = createProxy({ listen: "127.0.0.1:0", workers: 1, fastLane });
  proxy.onMetrics(() => {});
  const { port } = await proxy.start();
  await proxy.apply([
    { host: "*", pathPrefix: "/", service: "bench", environment: "bench", releaseId: "rel_bench", upstreams: [{ host: "127.0.0.1", port: upstreamPort, instanceId: "up" }] },
  ]);
  await waitForPort(port);
  targets.set(name, { port, pids: descendants(process.pid).filter((pid) => !before.has(pid)) });
  proxies.push(proxy);
}

const variants = fileURLToPath(new URL("./proxy-floor-variants.mjs", import.meta.url));
const undici = createRequire(import.meta.url).resolve("undici");
for (const variant of ["node+undici", "node+raw", "node-answers", "raw+raw"]) {
  const started = await harness.startChild(process.execPath, [variants], /listening (\d+)/, { VARIANT: variant, UPSTREAM: String(upstreamPort), UNDICI: undici });
  targets.set(variant, { port: Number(started.match[1]), pids: [started.child.pid!] });
}

// --only a,b: just those (and nginx, the baseline).
const only = args.get("only")?.split(",");
const names = [...targets.keys()].filter((name) => only === undefined || name === "nginx" || only.includes(name));
const results = new Map<string, Run[]>(names.map((name) => [name, []]));
console.log(`wrk -t1 -c${connections} -d${duration}s, ${rounds} rounds, node ${process.version}`);
for (const name of names) await harness.wrk(targets.get(name)!.port, 2, connections, targets.get(name)!.pids); // warm-up
for (let round = 1; round <= rounds; round++) {
  for (const name of round % 2 === 1 ? names : [...names].reverse()) {
    const run = await harness.wrk(targets.get(name)!.port, duration, connections, targets.get(name)!.pids);
    results.get(name)!.push(run);
    console.log(`round ${round} ${name.padEnd(12)} ${run.rps.toFixed(0).padStart(7)} req/s  p99 ${run.p99.toFixed(2)} ms  CPU ${run.cpuUs.toFixed(1)} µs/req  errors ${run.errors}`);
  }
}

const nginxRps = median(results.get("nginx")!.map((r) => r.rps));
const cells = (values: string[]) => `| ${values[0]!.padEnd(12)} | ${values.slice(1).map((v) => v.padStart(10)).join(" | ")} |`;
console.log("\nmedians of the rounds");
console.log(cells(["proxy", "req/s", "× nginx", "p99 (ms)", "CPU µs/req"]));
console.log(`|${"-".repeat(14)}|${`${"-".repeat(12)}|`.repeat(4)}`);
for (const name of names) {
  const runs = results.get(name)!;
  const rps = median(runs.map((r) => r.rps));
  console.log(cells([name, rps.toFixed(0), `${(rps / nginxRps).toFixed(2)}x`, median(runs.map((r) => r.p99)).toFixed(2), median(runs.map((r) => r.cpuUs)).toFixed(1)]));
}
console.log(`(load average at the end ${loadavg()[0]!.toFixed(2)} on ${cpus().length} cores)`);

for (const proxy of proxies) await proxy.stop(1000);
harness.cleanup();
process.exit(0);
