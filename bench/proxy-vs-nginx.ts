/**
 * Engineroom's proxy against nginx, both with one worker, both in front of the same upstream.
 *
 *   node --import tsx bench/proxy-vs-nginx.ts [--rounds 3] [--duration 10] [--connections 64] [--upstream-processes 1]
 *
 * Needs `nginx` and `wrk` on PATH (Debian: apt-get install nginx wrk); installs nothing. Runs
 * `wrk -t1 -c<connections> -d<duration>s --latency` against each proxy in alternating rounds and
 * prints the median req/s, p50 and p99 of each, and the ratios. Our proxy runs with metrics on (a
 * listener counts the buckets). It also reports each proxy's CPU time per request (from /proc:
 * nginx's worker; every process of ours, found as the processes this one started other than the
 * upstream, nginx and wrk, so it keeps working whatever process model createProxy has), which
 * shared or noisy machines disturb less than req/s, split into user and system time. Not a test: it
 * reports numbers and asserts nothing.
 */
import { loadavg, cpus } from "node:os";
import { createProxy, type MetricsBucket } from "../src/proxy/index.js";
import { descendants, Harness, parseArgs, requireTools, waitForPort, type Run } from "./wrk-harness.js";

const args = parseArgs(process.argv);
const rounds = Number(args.get("rounds") ?? 3);
const duration = Number(args.get("duration") ?? 10);
const connections = Number(args.get("connections") ?? 64);
const upstreamProcesses = Number(args.get("upstream-processes") ?? 1);

requireTools(["nginx", "wrk"]);
const harness = new Harness();

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const upstreamPort = await harness.startUpstream(upstreamProcesses);
const nginx = await harness.startNginx(upstreamPort);

const proxy = createProxy({ listen: "127.0.0.1:0", workers: 1 });
const { port: proxyPort } = await proxy.start();
let counted = 0;
proxy.onMetrics((buckets: MetricsBucket[]) => {
  for (const b of buckets) counted += b.status["2xx"] + b.status["5xx"] + b.upstreamErrors;
});
await proxy.apply([
  { host: "*", pathPrefix: "/", service: "bench", environment: "bench", releaseId: "rel_bench", upstreams: [{ host: "127.0.0.1", port: upstreamPort, instanceId: "up" }] },
]);
await waitForPort(proxyPort);

// Ours: this process (the controller side) and every process it started for the proxy.
const notOurs = new Set([...harness.upstreamPids, ...nginx.pids]);
const ourProcesses = [process.pid, ...descendants(process.pid).filter((pid) => !notOurs.has(pid))];
const targets = { nginx: nginx.port, engineroom: proxyPort } as const;
const workerPids = { nginx: [nginx.workerPid], engineroom: ourProcesses } as const;
const results: Record<keyof typeof targets, Run[]> = { nginx: [], engineroom: [] };
console.log(`wrk -t1 -c${connections} -d${duration}s, ${rounds} rounds, upstream in ${upstreamProcesses} process(es), node ${process.version}`);
for (const name of Object.keys(targets) as (keyof typeof targets)[]) await harness.wrk(targets[name], 2, connections, workerPids[name]); // warm-up
for (let round = 1; round <= rounds; round++) {
  const order = round % 2 === 1 ? (["nginx", "engineroom"] as const) : (["engineroom", "nginx"] as const);
  for (const name of order) {
    const run = await harness.wrk(targets[name], duration, connections, workerPids[name]);
    results[name].push(run);
    console.log(
      `round ${round} ${name.padEnd(10)} ${run.rps.toFixed(0).padStart(7)} req/s  p50 ${run.p50.toFixed(2)} ms  p99 ${run.p99.toFixed(2)} ms  ` +
        `CPU ${run.cpuUs.toFixed(1)} µs/req (system ${run.sysUs.toFixed(1)})  errors ${run.errors}`,
    );
  }
}
await new Promise((r) => setTimeout(r, 1500)); // let the last metric buckets arrive

type Summary = { rps: number; p50: number; p99: number; cpuUs: number; sysUs: number };
const summary = (runs: Run[]): Summary => ({
  rps: median(runs.map((r) => r.rps)),
  p50: median(runs.map((r) => r.p50)),
  p99: median(runs.map((r) => r.p99)),
  cpuUs: median(runs.map((r) => r.cpuUs)),
  sysUs: median(runs.map((r) => r.sysUs)),
});
const n = summary(results.nginx);
const e = summary(results.engineroom);
const cells = (values: string[]) => `| ${values[0]!.padEnd(16)} | ${values.slice(1).map((v) => v.padStart(10)).join(" | ")} |`;
const row = (name: string, s: Summary) => cells([name, s.rps.toFixed(0), s.p50.toFixed(2), s.p99.toFixed(2), s.cpuUs.toFixed(1), s.sysUs.toFixed(1)]);
console.log("\nmedians of the rounds");
console.log(cells(["proxy", "req/s", "p50 (ms)", "p99 (ms)", "CPU µs/req", "system µs"]));
console.log(`|${"-".repeat(18)}|${`${"-".repeat(12)}|`.repeat(5)}`);
console.log(row("nginx", n));
console.log(row("engineroom", e));
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
console.log(cells(["engineroom/nginx", ratio(e.rps, n.rps), ratio(e.p50, n.p50), ratio(e.p99, n.p99), ratio(e.cpuUs, n.cpuUs), ratio(e.sysUs, n.sysUs)]));
console.log(`upstream (a plain Node HTTP server, for scale): ${median([...results.nginx, ...results.engineroom].map((r) => r.upstreamUs)).toFixed(1)} µs/req`);
console.log(`\nrequests counted by the proxy's metrics: ${counted}`);
console.log(`targets: req/s ratio >= 0.80, p99 ratio <= 1.50 (load average at the end ${loadavg()[0]!.toFixed(2)} on ${cpus().length} cores: above the cores, other work disturbed the run)`);

await proxy.stop(1000);
harness.cleanup();
process.exit(0);
