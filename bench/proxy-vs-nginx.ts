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
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createProxy, type MetricsBucket } from "../src/proxy/index.js";

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ""), process.argv[i + 1] ?? "");
const rounds = Number(args.get("rounds") ?? 3);
const duration = Number(args.get("duration") ?? 10);
const connections = Number(args.get("connections") ?? 64);
const upstreamProcesses = Number(args.get("upstream-processes") ?? 1);

for (const tool of ["nginx", "wrk"]) {
  if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) {
    console.error(`${tool} is not installed; on Debian: apt-get install -y nginx wrk`);
    process.exit(2);
  }
}

const children: ChildProcess[] = [];
const tmp = mkdtempSync(join(tmpdir(), "engineroom-bench-"));
function cleanup(): void {
  for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
  rmSync(tmp, { recursive: true, force: true });
}
process.on("exit", cleanup);
process.on("SIGINT", () => process.exit(130));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

/** Spawns a child and resolves once a line of its output matches `ready`. */
function startChild(command: string, argv: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  const child = spawn(command, argv, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let output = "";
    const onData = (data: Buffer) => {
      output += data.toString();
      const match = output.match(ready);
      if (match) resolve({ child, match });
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`${command} exited with ${code}: ${output}`)));
    setTimeout(() => reject(new Error(`${command} did not start: ${output}`)), 15_000).unref();
  });
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text().then(() => r.ok), () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing answers on port ${port}`);
}

function nginxConfig(listenPort: number, upstreamPort: number): string {
  // Same job as our proxy: keep-alive upstream, same forwarded headers, no access log.
  return `worker_processes 1;
daemon off;
pid ${tmp}/nginx.pid;
error_log ${tmp}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${tmp}/body; proxy_temp_path ${tmp}/proxy; fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi; scgi_temp_path ${tmp}/scgi;
  upstream app { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${listenPort};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;
    }
  }
}
`;
}

interface Run {
  rps: number;
  p50: number;
  p99: number;
  /** Non-2xx/3xx answers and wrk's socket errors (connect, read, write, timeout: over 2 s). */
  errors: string;
  /** CPU time (user + system) of the proxy's processes per request, µs; NaN without /proc. */
  cpuUs: number;
  /** The system (kernel) part of cpuUs. */
  sysUs: number;
  /** CPU of the upstream process(es) per request, µs: what a plain Node HTTP server spends on the same requests, for scale. */
  upstreamUs: number;
}

const clockTicks = Number(spawnSync("getconf", ["CLK_TCK"]).stdout?.toString().trim()) || 100;
/** CPU seconds (user, system) the processes have used so far, from /proc (Linux); NaN elsewhere. */
function cpuSeconds(pids: readonly number[]): { user: number; sys: number } {
  let user = 0;
  let sys = 0;
  for (const pid of pids) {
    const path = `/proc/${pid}/stat`;
    if (!existsSync(path)) return { user: NaN, sys: NaN };
    const fields = readFileSync(path, "utf8").split(") ")[1]!.split(" ");
    user += Number(fields[11]) / clockTicks;
    sys += Number(fields[12]) / clockTicks;
  }
  return { user, sys };
}

/** Every process below `root` (children, their children...), from /proc; empty elsewhere. */
function descendants(root: number): number[] {
  if (!existsSync("/proc/self/stat")) return [];
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    const ppid = Number(stat.split(") ")[1]!.split(" ")[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid)!.push(Number(name));
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) for (const child of children.get(queue.pop()!) ?? []) out.push(child), queue.push(child);
  return out;
}

function toMs(text: string): number {
  const match = /^([\d.]+)(us|ms|s)$/.exec(text.trim());
  if (!match) return NaN;
  return Number(match[1]) * (match[2] === "us" ? 0.001 : match[2] === "s" ? 1000 : 1);
}

function wrk(port: number, seconds: number, pids: readonly number[]): Promise<Run> {
  const cpuBefore = cpuSeconds(pids);
  const upstreamBefore = cpuSeconds(upstreamPids);
  return new Promise((resolve, reject) => {
    const child = spawn("wrk", ["-t1", `-c${connections}`, `-d${seconds}s`, "--latency", `http://127.0.0.1:${port}/`]);
    children.push(child);
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.once("exit", (code) => {
      if (code !== 0) return reject(new Error(`wrk failed: ${out}`));
      const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1];
      const socketErrors = /Socket errors: (.*)/.exec(out)?.[1];
      const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
      const cpuAfter = cpuSeconds(pids);
      const sysUs = ((cpuAfter.sys - cpuBefore.sys) * 1e6) / requests;
      const upstreamAfter = cpuSeconds(upstreamPids);
      resolve({
        upstreamUs: ((upstreamAfter.user + upstreamAfter.sys - upstreamBefore.user - upstreamBefore.sys) * 1e6) / requests,
        cpuUs: ((cpuAfter.user - cpuBefore.user) * 1e6) / requests + sysUs,
        sysUs,
        rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
        p50: toMs(/\s50%\s+(\S+)/.exec(out)?.[1] ?? ""),
        p99: toMs(/\s99%\s+(\S+)/.exec(out)?.[1] ?? ""),
        errors: [non2xx && `non-2xx ${non2xx}`, socketErrors].filter(Boolean).join(", ") || "none",
      });
    });
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const upstreamScript = fileURLToPath(new URL("./proxy-upstream.mjs", import.meta.url));
const upstream = await startChild(process.execPath, [upstreamScript], /listening (\d+)/, { PROCESSES: String(upstreamProcesses) });
const upstreamPort = Number(upstream.match[1]);
const upstreamPids = [upstream.child.pid!, ...descendants(upstream.child.pid!)];

const nginxPort = await freePort();
writeFileSync(join(tmp, "nginx.conf"), nginxConfig(nginxPort, upstreamPort));
const nginx = spawn("nginx", ["-p", tmp, "-c", join(tmp, "nginx.conf")], { stdio: "inherit" });
children.push(nginx);
await waitForPort(nginxPort);

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

const nginxWorker = Number(spawnSync("pgrep", ["-P", String(nginx.pid), "-f", "nginx: worker"]).stdout?.toString().trim().split("\n")[0]);
// Ours: this process (the controller side) and every process it started for the proxy.
const notOurs = new Set([upstream.child.pid!, ...descendants(upstream.child.pid!), nginx.pid!, ...descendants(nginx.pid!)]);
const ourProcesses = [process.pid, ...descendants(process.pid).filter((pid) => !notOurs.has(pid))];
const targets = { nginx: nginxPort, engineroom: proxyPort } as const;
const workerPids = { nginx: [nginxWorker], engineroom: ourProcesses } as const;
const results: Record<keyof typeof targets, Run[]> = { nginx: [], engineroom: [] };
console.log(`wrk -t1 -c${connections} -d${duration}s, ${rounds} rounds, upstream in ${upstreamProcesses} process(es), node ${process.version}`);
for (const name of Object.keys(targets) as (keyof typeof targets)[]) await wrk(targets[name], 2, workerPids[name]); // warm-up
for (let round = 1; round <= rounds; round++) {
  const order = round % 2 === 1 ? (["nginx", "engineroom"] as const) : (["engineroom", "nginx"] as const);
  for (const name of order) {
    const run = await wrk(targets[name], duration, workerPids[name]);
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
cleanup();
process.exit(0);
