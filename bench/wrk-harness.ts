/**
 * What the proxy benchmarks share (bench/proxy-vs-nginx.ts, bench/proxy-floor.ts): child processes
 * that are ended on exit, nginx as the peer proxy, wrk runs with the CPU time of the processes under
 * test read from /proc, and the upstream (bench/proxy-upstream.mjs).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Exits with a plain message when a tool the benchmark needs is missing. */
export function requireTools(tools: readonly string[]): void {
  for (const tool of tools) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) {
      console.error(`${tool} is not installed; on Debian: apt-get install -y nginx wrk`);
      process.exit(2);
    }
  }
}

/** `--name value` pairs of the command line. */
export function parseArgs(argv: readonly string[]): Map<string, string> {
  const args = new Map<string, string>();
  for (let i = 2; i < argv.length; i += 2) args.set(argv[i]!.replace(/^--/, ""), argv[i + 1] ?? "");
  return args;
}

export interface Run {
  rps: number;
  p50: number;
  p99: number;
  /** Non-2xx/3xx answers and wrk's socket errors (connect, read, write, timeout: over 2 s). */
  errors: string;
  /** CPU time (user + system) of the measured processes per request, µs; NaN without /proc. */
  cpuUs: number;
  /** The system (kernel) part of cpuUs. */
  sysUs: number;
  /** CPU of the upstream process(es) per request, µs: what a plain Node HTTP server spends on the same requests, for scale. */
  upstreamUs: number;
}

const clockTicks = Number(spawnSync("getconf", ["CLK_TCK"]).stdout?.toString().trim()) || 100;

/** CPU seconds (user, system) the processes have used so far, from /proc (Linux); NaN elsewhere. */
export function cpuSeconds(pids: readonly number[]): { user: number; sys: number } {
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
export function descendants(root: number): number[] {
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

/** A port nothing listens on now, on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

export async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text().then(() => r.ok), () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing answers on port ${port}`);
}

function nginxConfig(tmp: string, listenPort: number, upstreamPort: number): string {
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

/** The child processes of one benchmark run and its scratch folder, ended and removed on exit. */
export class Harness {
  readonly tmp = mkdtempSync(join(tmpdir(), "engineroom-bench-"));
  readonly children: ChildProcess[] = [];
  /** The upstream's processes, once startUpstream() ran. */
  upstreamPids: number[] = [];

  constructor() {
    process.on("exit", () => this.cleanup());
    process.on("SIGINT", () => process.exit(130));
  }

  cleanup(): void {
    for (const child of this.children) if (child.exitCode === null) child.kill("SIGTERM");
    rmSync(this.tmp, { recursive: true, force: true });
  }

  /** Spawns a child and resolves once a line of its output matches `ready`. */
  startChild(command: string, argv: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
    const child = spawn(command, argv, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    this.children.push(child);
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

  /** bench/proxy-upstream.mjs in `processes` processes; resolves with its port. */
  async startUpstream(processes: number): Promise<number> {
    const script = fileURLToPath(new URL("./proxy-upstream.mjs", import.meta.url));
    const upstream = await this.startChild(process.execPath, [script], /listening (\d+)/, { PROCESSES: String(processes) });
    this.upstreamPids = [upstream.child.pid!, ...descendants(upstream.child.pid!)];
    return Number(upstream.match[1]);
  }

  /** nginx with one worker in front of the upstream; its port, and the pids to count (the master and the worker). */
  async startNginx(upstreamPort: number): Promise<{ port: number; workerPid: number; pids: number[] }> {
    const port = await freePort();
    writeFileSync(join(this.tmp, "nginx.conf"), nginxConfig(this.tmp, port, upstreamPort));
    const nginx = spawn("nginx", ["-p", this.tmp, "-c", join(this.tmp, "nginx.conf")], { stdio: "inherit" });
    this.children.push(nginx);
    await waitForPort(port);
    const workerPid = Number(spawnSync("pgrep", ["-P", String(nginx.pid), "-f", "nginx: worker"]).stdout?.toString().trim().split("\n")[0]);
    return { port, workerPid, pids: [nginx.pid!, workerPid] };
  }

  /** `wrk -t1 -c<connections> -d<seconds>s --latency` against the port; CPU counted for `pids`. */
  wrk(port: number, seconds: number, connections: number, pids: readonly number[]): Promise<Run> {
    const cpuBefore = cpuSeconds(pids);
    const upstreamBefore = cpuSeconds(this.upstreamPids);
    return new Promise((resolve, reject) => {
      const child = spawn("wrk", ["-t1", `-c${connections}`, `-d${seconds}s`, "--latency", `http://127.0.0.1:${port}/`]);
      this.children.push(child);
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.once("exit", (code) => {
        if (code !== 0) return reject(new Error(`wrk failed: ${out}`));
        const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1];
        const socketErrors = /Socket errors: (.*)/.exec(out)?.[1];
        const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
        const cpuAfter = cpuSeconds(pids);
        const sysUs = ((cpuAfter.sys - cpuBefore.sys) * 1e6) / requests;
        const upstreamAfter = cpuSeconds(this.upstreamPids);
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
}
