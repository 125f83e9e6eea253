/**
 * 10,000 (and 1,000) HTTP checks every 10 s against local upstreams: Engineroom's Monitor against
 * Prometheus + blackbox_exporter probing the same targets, one after the other in the same run.
 *
 *   node --import tsx bench/checks.ts [--checks 10000,1000] [--warmup 25] [--measure 60]
 *
 * Upstream: one nginx (1 worker, access log off) answering 200 on 4 loopback ports, so the 10,000
 * distinct URLs /t/<i> spread over 4 targets. Ours: bench/checks-runner.ts in its own process, the
 * Monitor with a real SQLite store (not the whole engine). The peer: Debian's prometheus (scrape
 * interval 10 s, 10,000 static targets relabelled to blackbox's /probe?target=…&module=http_2xx)
 * and prometheus-blackbox-exporter (http_2xx, preferred_ip_protocol ip4).
 *
 * For each: probes/s held over the measured period, CPU µs per probe (utime + stime from
 * /proc/<pid>/stat of its processes over the period, divided by the probes), start lag p99 (ours:
 * Monitor.stats(); the peer's: prometheus_target_interval_length_seconds{quantile="0.99"} − 10 s),
 * RSS, and our store's growth (bytes per minute bucket, measured at the end as what deleting them
 * frees, times the buckets a day writes).
 * Warm-up, then the measured period, per configuration; exits by itself and kills what it started.
 */
import { fork, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { freePort } from "./wrk-harness.js";

const { values } = parseArgs({ options: { checks: { type: "string", default: "10000,1000" }, warmup: { type: "string", default: "25" }, measure: { type: "string", default: "60" } } });
const sizes = values.checks!.split(",").map(Number);
const warmupS = Number(values.warmup);
const measureS = Number(values.measure);
const tmp = mkdtempSync(join(tmpdir(), "engineroom-bench-checks-"));
const children: ChildProcess[] = [];
const clockTick = Number(spawnSync("getconf", ["CLK_TCK"]).stdout.toString().trim()) || 100;

function cleanup(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  rmSync(tmp, { recursive: true, force: true });
}
process.on("exit", cleanup);
process.on("SIGINT", () => process.exit(130));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


async function waitForHttp(url: string, seconds = 30): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).status < 500) return;
    } catch {
      // not yet
    }
    await sleep(200);
  }
  throw new Error(`nothing answers at ${url}`);
}

/** utime + stime of the processes, in CPU seconds. */
function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / clockTick;
}

function rssBytes(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024;
}

function start(command: string, args: string[]): ChildProcess {
  const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
  let errors = "";
  child.stderr!.on("data", (chunk) => (errors = (errors + chunk).slice(-2000)));
  child.on("exit", (code, signal) => {
    if (code !== null && code !== 0) console.error(`${command} exited ${code}: ${errors}`);
    void signal;
  });
  children.push(child);
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await Promise.race([exited, sleep(10_000)]);
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}

interface Figures {
  who: string;
  checks: number;
  probesPerSecond: number;
  cpuUsPerProbe: number;
  lagP99Ms: number;
  rssMb: number;
  note: string;
}

// --- the upstream ---
const upstreamPorts = await Promise.all([0, 1, 2, 3].map(() => freePort()));
writeFileSync(
  join(tmp, "nginx.conf"),
  `worker_processes 1;
daemon off;
pid ${tmp}/nginx.pid;
error_log ${tmp}/nginx-error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 100000;
  client_body_temp_path ${tmp}/body; proxy_temp_path ${tmp}/proxy; fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi; scgi_temp_path ${tmp}/scgi;
  server {
    ${upstreamPorts.map((p) => `listen 127.0.0.1:${p};`).join("\n    ")}
    location / { return 200 "ok\\n"; }
  }
}
`,
);
start("nginx", ["-p", tmp, "-c", join(tmp, "nginx.conf")]);
for (const port of upstreamPorts) await waitForHttp(`http://127.0.0.1:${port}/t/0`);
const url = (i: number) => `http://127.0.0.1:${upstreamPorts[i % upstreamPorts.length]}/t/${i}`;

// --- ours ---
async function ours(checks: number): Promise<Figures> {
  const dir = mkdtempSync(join(tmp, `ours-${checks}-`));
  const runner = fork(resolve(import.meta.dirname, "checks-runner.ts"), [dir, String(checks), upstreamPorts.join(",")], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  children.push(runner);
  const next = <T>() => new Promise<T>((r) => runner.once("message", (m) => r(m as T)));
  await next<{ ready: true }>();
  await sleep(warmupS * 1000);
  const measuring = next();
  runner.send("measure");
  await measuring;
  const cpu0 = cpuSeconds([runner.pid!]);
  const t0 = performance.now();
  await sleep(measureS * 1000);
  const cpu1 = cpuSeconds([runner.pid!]);
  const seconds = (performance.now() - t0) / 1000;
  const reported = next<{ stats: { runs: number; skipped: number; lagMs: { p50: number; p99: number } }; rss: number; eventLoop: { p99: number; max: number }; store: { bytes: number; minuteRows: number } }>();
  runner.send("report");
  const report = await reported;
  runner.send("stop");
  await Promise.race([new Promise((r) => runner.once("exit", r)), sleep(15_000)]);
  const rows = report.store.minuteRows;
  const bytesPerRow = rows > 0 ? report.store.bytes / rows : NaN;
  // A day writes 1,440 minute buckets, 24 hour buckets and 1 day bucket per check (same row shape).
  const perDay = bytesPerRow * checks * (1440 + 24 + 1);
  // Kept: minutes 24 h, hours 35 d, days 400 d.
  const steady = bytesPerRow * checks * (1440 + 24 * 35 + 400);
  return {
    who: "engineroom",
    checks,
    probesPerSecond: report.stats.runs / seconds,
    cpuUsPerProbe: ((cpu1 - cpu0) * 1e6) / report.stats.runs,
    lagP99Ms: report.stats.lagMs.p99,
    rssMb: report.rss / 2 ** 20,
    note: `lag p50 ${report.stats.lagMs.p50.toFixed(2)}ms, ${report.stats.skipped} skipped, event-loop delay p99 ${report.eventLoop.p99.toFixed(1)}ms max ${report.eventLoop.max.toFixed(0)}ms; store ${Number.isNaN(bytesPerRow) ? "?" : bytesPerRow.toFixed(0)} B per bucket (${rows} minute buckets written): ${(perDay / 2 ** 20).toFixed(0)} MiB written per day, ${(steady / 2 ** 30).toFixed(2)} GiB once retention is full`,
  };
}

// --- the peer ---
async function metric(port: number, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split("\n").find((l) => pattern.test(l));
  return line ? Number(line.split(" ").at(-1)) : NaN;
}

async function peer(checks: number): Promise<Figures> {
  const dir = mkdtempSync(join(tmp, `peer-${checks}-`));
  const [promPort, bbPort] = [await freePort(), await freePort()];
  writeFileSync(join(dir, "blackbox.yml"), `modules:\n  http_2xx:\n    prober: http\n    timeout: 5s\n    http:\n      preferred_ip_protocol: ip4\n`);
  const targets = Array.from({ length: checks }, (_, i) => `'${url(i)}'`).join(", ");
  writeFileSync(
    join(dir, "prometheus.yml"),
    `global:
  scrape_interval: 10s
  scrape_timeout: 5s
scrape_configs:
  - job_name: blackbox
    metrics_path: /probe
    params: { module: [http_2xx] }
    static_configs:
      - targets: [${targets}]
    relabel_configs:
      - { source_labels: [__address__], target_label: __param_target }
      - { source_labels: [__param_target], target_label: instance }
      - { target_label: __address__, replacement: '127.0.0.1:${bbPort}' }
`,
  );
  const blackbox = start("prometheus-blackbox-exporter", [`--config.file=${join(dir, "blackbox.yml")}`, `--web.listen-address=127.0.0.1:${bbPort}`]);
  const prometheus = start("prometheus", [
    `--config.file=${join(dir, "prometheus.yml")}`,
    `--storage.tsdb.path=${join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${promPort}`,
  ]);
  await waitForHttp(`http://127.0.0.1:${bbPort}/metrics`);
  await waitForHttp(`http://127.0.0.1:${promPort}/-/ready`, 60);
  await sleep(warmupS * 1000);
  const pids = [prometheus.pid!, blackbox.pid!];
  const scrapes = /^prometheus_target_interval_length_seconds_count\{interval="10s"\}/;
  // The summary counts intervals, so it appears once targets have been scraped twice.
  while (Number.isNaN(await metric(promPort, scrapes))) await sleep(1000);
  const count0 = await metric(promPort, scrapes);
  const cpu0 = cpuSeconds(pids);
  const t0 = performance.now();
  await sleep(measureS * 1000);
  const cpu1 = cpuSeconds(pids);
  const count1 = await metric(promPort, scrapes);
  const seconds = (performance.now() - t0) / 1000;
  const p99 = await metric(promPort, /^prometheus_target_interval_length_seconds\{interval="10s",quantile="0.99"\}/);
  const p50 = await metric(promPort, /^prometheus_target_interval_length_seconds\{interval="10s",quantile="0.5"\}/);
  const rss = rssBytes(prometheus.pid!) + rssBytes(blackbox.pid!);
  const probes = count1 - count0;
  const promRss = rssBytes(prometheus.pid!);
  await Promise.all([stop(prometheus), stop(blackbox)]);
  return {
    who: "prometheus+blackbox",
    checks,
    probesPerSecond: probes / seconds,
    cpuUsPerProbe: ((cpu1 - cpu0) * 1e6) / probes,
    lagP99Ms: (p99 - 10) * 1000,
    rssMb: rss / 2 ** 20,
    note: `interval p50 ${p50.toFixed(4)}s p99 ${p99.toFixed(4)}s; prometheus ${(promRss / 2 ** 20).toFixed(0)} MiB of it`,
  };
}

const results: Figures[] = [];
for (const checks of sizes) {
  console.error(`--- ${checks} checks: engineroom (warm-up ${warmupS}s, measure ${measureS}s)`);
  results.push(await ours(checks));
  console.error(`--- ${checks} checks: prometheus + blackbox_exporter`);
  results.push(await peer(checks));
}

const cores = Number(spawnSync("nproc").stdout.toString().trim());
console.log(`\n${cores} cores (shared with other work); each line: warm-up ${warmupS}s, then ${measureS}s measured\n`);
console.log(["who".padEnd(20), "checks".padStart(6), "probes/s".padStart(9), "CPU µs/probe".padStart(13), "lag p99".padStart(9), "RSS MiB".padStart(8), "  notes"].join(" "));
for (const r of results) {
  console.log(
    [r.who.padEnd(20), String(r.checks).padStart(6), r.probesPerSecond.toFixed(0).padStart(9), r.cpuUsPerProbe.toFixed(0).padStart(13), `${r.lagP99Ms.toFixed(1)}ms`.padStart(9), r.rssMb.toFixed(0).padStart(8), `  ${r.note}`].join(" "),
  );
}
for (const checks of sizes) {
  const [a, b] = [results.find((r) => r.checks === checks && r.who === "engineroom")!, results.find((r) => r.checks === checks && r.who !== "engineroom")!];
  console.log(`${checks} checks: CPU per probe ${(a.cpuUsPerProbe / b.cpuUsPerProbe).toFixed(2)}× the peer's (target ≤ 0.4×); lag p99 ${a.lagP99Ms.toFixed(1)}ms (target ≤ 50ms); RSS ${a.rssMb.toFixed(0)} MiB (target < 500)`);
}
await stop(children[0]!);
process.exit(0);
