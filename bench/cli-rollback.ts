/**
 * CLI rollback benchmark: how long `engineroom rollback web`, typed in a shell, takes to put traffic
 * back on the previous release. A real engine (`engineroom up`, its own process, port-0 proxy and
 * API) runs a small service; each round deploys a new release (not timed), then spawns
 * `node bin/engineroom.js rollback web` and polls the proxy until the first answer comes from the
 * previous release. Baselines, measured in the same run: the same spawn of `node -e ""` (bare
 * Node.js start-up and exit), alone and while the proxy is polled as for the CLI, and the same
 * rollback asked over the API by this process (the engine's own share). The CLI runs with
 * ENGINEROOM_CLI_TIMING=1, so its time is split into Node's start-up, our code, and the engine.
 * `engineroom down` ends every process at the end.
 *
 *   npm run build && node --import tsx bench/cli-rollback.ts [--rounds 10] [--poll-gap 1] [--compare <other build>/bin/engineroom.js]
 *
 * `--compare` times another build's CLI the same way in every round (e.g. a checkout of the commit
 * before the thin CLI, built with `npx tsc -p tsconfig.build.json`; or this build's unbundled
 * `dist/cli/main.js`).
 *
 * Loopback only; every round is bounded (a rollback that takes over 10 s fails the run).
 */
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { testConfig } from "../test/helpers/project.js";
import { fmt, median, percentile } from "./stats.js";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "10" }, compare: { type: "string" }, "poll-gap": { type: "string", default: "1" } } });
const rounds = Math.min(50, Math.max(1, Number(values.rounds)));
const pollGapMs = Math.min(100, Math.max(0, Number(values["poll-gap"])));
const pollGap = () => (pollGapMs > 0 ? new Promise((r) => setTimeout(r, pollGapMs)) : undefined);
const root = resolve(import.meta.dirname, "..");
const bin = join(root, "bin/engineroom.js");
if (!existsSync(join(root, "dist/cli/main.js"))) {
  console.error("dist/ is missing: run `npm run build` first");
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), "engineroom-bench-cli-"));
writeFileSync(join(dir, "engineroom.yaml"), testConfig().replace("watch: 5m", "watch: 1h"));
const cli = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, timeout: 60_000 });
const engine = spawn(process.execPath, [bin, "up"], { cwd: dir, stdio: "ignore" });
const infoFile = join(dir, ".engineroom/engine.json");
const info = () => {
  try {
    return JSON.parse(readFileSync(infoFile, "utf8")) as { pid: number; proxy: string };
  } catch {
    return undefined;
  }
};
for (const deadline = Date.now() + 60_000; info()?.pid !== engine.pid; await new Promise((r) => setTimeout(r, 100))) {
  if (Date.now() > deadline) throw new Error("the engine did not start within 60 s");
}
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const target = new URL(`http://${info()!.proxy}`);
const api = new URL(`http://${(info() as { api?: string }).api}`);
const token = readFileSync(join(dir, ".engineroom/api-token"), "utf8").trim();

/** Asks for the rollback over the API from this (warm) process; resolves when the answer has ended. */
function apiRollback(): Promise<void> {
  return new Promise((done, fail) => {
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const req = request({ host: api.hostname, port: api.port, method: "POST", path: "/v1/services/web/rollback", headers }, (res) => res.resume().on("end", done));
    req.on("error", fail);
    req.end("{}");
  });
}

/** From asking over the API to the first proxied answer from `expect`. */
async function timedApi(expect: string): Promise<number> {
  const t0 = performance.now();
  const answered = apiRollback();
  const ms = await firstAnswerFrom(expect, t0, "the API call");
  await answered;
  return ms;
}

/**
 * Polls the proxy until an answer comes from `expect`; answers the milliseconds since `t0` (at most
 * 10 s, else fails). `--poll-gap` ms pass between one answer and the next request: polling back to
 * back keeps this process, a proxy worker and an instance busy on a machine of 2 cores, which
 * slows the start of the very process being timed.
 */
async function firstAnswerFrom(expect: string, t0: number, since: string): Promise<number> {
  for (const deadline = t0 + 10_000; performance.now() < deadline; await pollGap()) {
    if ((await version()) === expect) return performance.now() - t0;
  }
  throw new Error(`no answer from ${expect} within 10 s of ${since}`);
}

/** One GET / through the proxy; answers the x-version header. */
function version(): Promise<string | undefined> {
  return new Promise((done, fail) => {
    const req = request({ host: target.hostname, port: target.port, path: "/", agent }, (res) => {
      res.resume();
      res.on("end", () => done(res.headers["x-version"] as string | undefined));
    });
    req.on("error", fail);
    req.end();
  });
}

/** Where one CLI run's time went, from its `cli-timing` lines (ENGINEROOM_CLI_TIMING=1), in ms. */
interface Split {
  /** spawn → the child's time origin (fork, exec, Node's native start). */
  exec: number;
  /** time origin → Node's bootstrap complete. */
  bootstrap: number;
  /** bootstrap complete → the request handed to the socket: loading our code, finding the engine. */
  load: number;
  /** request sent → traffic on the old release: the engine's share and the way there and back. */
  engine: number;
}

/**
 * Spawns `args` at t0; resolves with spawn → exit, and spawn → first proxied answer from `expect`
 * (when given). With `poll`, the proxy is polled the same way until the process exits, without
 * expecting anything: a baseline under the same load as a timed command.
 */
async function timed(args: string[], expect?: string, poll = false): Promise<{ exitMs: number; trafficMs: number; code: number | null; output: string; split?: Split }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { cwd: dir, env: { ...process.env, NO_COLOR: "1", ENGINEROOM_CLI_TIMING: "1" }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (c) => (output += c));
  child.stderr.on("data", (c) => (output += c));
  let exitMs = NaN;
  let running = true;
  const exited = new Promise<number | null>((done) => child.on("exit", (code) => ((exitMs = performance.now() - t0), (running = false), done(code))));
  const trafficMs = expect ? await firstAnswerFrom(expect, t0, "the command") : NaN;
  while (poll && running) await version().then(pollGap);
  const code = await exited;
  return { exitMs, trafficMs, code, output, split: expect ? splitOf(output, t0, trafficMs) : undefined };
}

function splitOf(output: string, t0: number, trafficMs: number): Split | undefined {
  const sent = /^cli-timing (\{.*"step":"sent".*\})$/m.exec(output);
  if (!sent) return undefined;
  const at = JSON.parse(sent[1]!) as { at: number; timeOrigin: number; bootstrapComplete: number };
  const exec = at.timeOrigin - (performance.timeOrigin + t0);
  return { exec, bootstrap: at.bootstrapComplete, load: at.at - at.bootstrapComplete, engine: trafficMs - (exec + at.at) };
}

/** Deploys a new release of the fixture app answering `x-version: v<n>` (not timed). */
function deploy(n: number): void {
  const folder = join(dir, `artifact-v${n}`);
  cpSync(join(root, "test/fixtures/app"), folder, { recursive: true });
  writeFileSync(join(folder, "behaviour.json"), JSON.stringify({ version: `v${n}` }));
  const result = cli("deploy", "web", folder);
  if (result.status !== 0) throw new Error(`deploy of v${n} failed: ${result.stderr}`);
}

const traffic: number[] = [];
const viaApi: number[] = [];
const compared: number[] = [];
const exits: number[] = [];
const baseline: number[] = [];
const polledBaseline: number[] = [];
/** CPU time: the CLI's until its answer ended, and a bare `node -e` at its exit. */
const cliCpu: number[] = [];
const baselineCpu: number[] = [];
const splits: Split[] = [];
try {
  let n = 1;
  deploy(n);
  let live = `v${n}`;
  for (let round = 0; round < rounds; round++) {
    const previous = live;
    deploy(++n); // v(n) live, the one before it warm in its watch window
    if ((await version()) !== `v${n}`) throw new Error(`v${n} is not serving after its deploy`);
    const run = await timed([bin, "rollback", "web"], previous);
    live = previous;
    if (run.code !== 0) throw new Error(`rollback exited ${run.code}: ${run.output}`);
    traffic.push(run.trafficMs);
    exits.push(run.exitMs);
    if (run.split) splits.push(run.split);
    const ended = /^cli-timing (\{.*"step":"ended".*\})$/m.exec(run.output);
    if (ended) cliCpu.push((JSON.parse(ended[1]!) as { cpuMs: number }).cpuMs);
    baseline.push((await timed(["-e", ""])).exitMs);
    const bare = await timed(["-e", `process.on("exit", () => { const u = process.cpuUsage(); process.stderr.write("cli-cpu " + (u.user + u.system) / 1000 + "\\n"); })`]);
    baselineCpu.push(Number(/^cli-cpu ([\d.]+)$/m.exec(bare.output)?.[1]));
    polledBaseline.push((await timed(["-e", ""], undefined, true)).exitMs);
    const before = live;
    deploy(++n);
    viaApi.push(await timedApi(before));
    if (values.compare) {
      deploy(++n);
      const other = await timed([resolve(values.compare), "rollback", "web"], before);
      if (other.code !== 0) throw new Error(`the compared CLI's rollback exited ${other.code}: ${other.output}`);
      compared.push(other.trafficMs);
    }
    process.stderr.write(`round ${round + 1}: CLI → traffic ${fmt(run.trafficMs)}, CLI exit ${fmt(run.exitMs)}; node -e "" ${fmt(baseline.at(-1)!)} (${fmt(polledBaseline.at(-1)!)} polled); API → traffic ${fmt(viaApi.at(-1)!)}\n`);
  }
} finally {
  agent.destroy();
  cli("down");
  if (engine.exitCode === null && engine.signalCode === null) engine.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
}

console.log(`\ncli-rollback: ${rounds} warm rollbacks with \`node bin/engineroom.js rollback web\` (engine and data plane in their own processes), polling the proxy with ${pollGapMs} ms between answers`);
// The minimum is shown beside the median: on a shared machine it is the closest to an idle one.
console.log(`  spawn → traffic on the old release   median ${fmt(median(traffic))}  min ${fmt(Math.min(...traffic))}  p90 ${fmt(percentile(traffic, 0.9))}   target < 100 ms`);
console.log(`  spawn → CLI exit                     median ${fmt(median(exits))}  min ${fmt(Math.min(...exits))}`);
console.log(`  baseline: spawn → exit of node -e ""  median ${fmt(median(baseline))}  min ${fmt(Math.min(...baseline))}`);
console.log(`  baseline: the same, polling the proxy meanwhile as for the CLI  median ${fmt(median(polledBaseline))}  min ${fmt(Math.min(...polledBaseline))}`);
if (splits.length > 0) {
  const part = (key: keyof Split) => fmt(median(splits.map((s) => s[key])));
  console.log(`  where the CLI's time goes (medians of ${splits.length}): spawn → Node's time origin ${part("exec")}; → bootstrap complete ${part("bootstrap")}; → request sent ${part("load")} (our code: load, find the engine); → traffic ${part("engine")} (engine)`);
}
if (cliCpu.length > 0) {
  console.log(`  CPU time (less inflated by a busy machine than wall time): the CLI until its answer ended ${fmt(median(cliCpu))} (min ${fmt(Math.min(...cliCpu))}); node -e at its exit ${fmt(median(baselineCpu))} (min ${fmt(Math.min(...baselineCpu))})`);
}
if (values.compare) console.log(`  ${values.compare}: spawn → traffic   median ${fmt(median(compared))}  min ${fmt(Math.min(...compared))}`);
console.log(`  baseline: API call → traffic          median ${fmt(median(viaApi))}  min ${fmt(Math.min(...viaApi))}   (the engine's share, no CLI)`);
console.log(`  the CLI's own share (CLI → traffic, less node -e "", less API → traffic, medians) ${fmt(median(traffic) - median(baseline) - median(viaApi))}`);
