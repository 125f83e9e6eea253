/**
 * Local runtime log shim benchmark: what running each instance under its own shim costs. For N
 * rounds each, starts a small HTTP app (1) the old way, `/bin/sh -c` spawned by this process with its
 * output piped in (the baseline), (2) through LocalRuntime compiled to plain JS (as `engineroom up`
 * runs from dist; needs `npm run build`, or --dist <dir>), and (3) through LocalRuntime from src under
 * tsx (as the tests run it). Prints medians: start() until resolved, start until the app's first HTTP
 * answer, and the resident memory of the shim (RSS, and PSS, which splits shared pages) and of the app.
 *
 * It also times adopt() of --adopt (default 10) running instances by a fresh runtime.
 *
 *   node bench/runtime-shim.mjs [--rounds 10] [--adopt 10] [--dist dist]
 *
 * Plain JS so that it runs without tsx; it starts itself again under tsx for (3). Loopback only;
 * every process it starts is stopped before the next round.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "10" }, dist: { type: "string", default: "dist" }, child: { type: "string" }, adopt: { type: "string" } } });
const rounds = Math.min(Number(values.rounds), 100);
const app = `require("node:http").createServer((q, s) => s.end("ok")).listen(Number(process.env.PORT), "127.0.0.1");`;
const here = import.meta.dirname;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.ceil(xs.length / 2) - 1];
const rssKiB = (pid) => Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN);
/** Proportional set size: resident memory with pages shared among processes (node's code) split between them. */
const pssKiB = (pid) => Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1] ?? NaN);

async function firstAnswer(port, deadline = Date.now() + 10_000) {
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/`)).ok) return;
    } catch {
      if (Date.now() > deadline) throw new Error("the app did not answer within 10 s");
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Rounds through a LocalRuntime loaded from `runtimeIndex` (src/runtime/index.ts or its compiled .js). */
async function viaRuntime(runtimeIndex, dir) {
  const { LocalRuntime } = await import(runtimeIndex);
  const runtime = new LocalRuntime({ logDir: join(dir, "logs"), stateDir: dir });
  const out = [];
  for (let i = 0; i < rounds; i++) {
    const port = await runtime.allocatePort();
    const t0 = performance.now();
    const info = await runtime.start({ id: `b${i}`, service: "bench", releaseId: "r", command: `exec "${process.execPath}" app.cjs`, cwd: dir, env: {}, port });
    const startMs = performance.now() - t0;
    await firstAnswer(port);
    const answerMs = performance.now() - t0;
    const appPid = Number(readFileSync(`/proc/${info.pid}/task/${info.pid}/children`, "utf8").trim().split(/\s+/)[0]);
    out.push({ startMs, answerMs, shimKiB: rssKiB(info.pid), shimPssKiB: pssKiB(info.pid), appKiB: rssKiB(appPid) });
    await runtime.stop(info.id, { graceMs: 2_000 });
    runtime.forget(info.id);
  }
  return out;
}

/** Starts `count` instances, then times adopt() by a fresh runtime on the same state (the next engine's view). */
async function adoption(runtimeIndex, dir, count) {
  const { LocalRuntime } = await import(runtimeIndex);
  const owner = new LocalRuntime({ logDir: join(dir, "logs"), stateDir: dir });
  const ports = [];
  for (let i = 0; i < count; i++) {
    const port = await owner.allocatePort();
    await owner.start({ id: `a${i}`, service: "bench", releaseId: "r", command: `exec "${process.execPath}" app.cjs`, cwd: dir, env: {}, port });
    ports.push(port);
  }
  for (const port of ports) await firstAnswer(port);
  owner.close();
  const times = [];
  for (let round = 0; round < 5; round++) {
    const probe = new LocalRuntime({ logDir: join(dir, "logs"), stateDir: dir });
    const t0 = performance.now();
    const adopted = await probe.adopt();
    times.push(performance.now() - t0);
    if (adopted.length !== count) throw new Error(`adopted ${adopted.length} of ${count}`);
    probe.close();
  }
  const next = new LocalRuntime({ logDir: join(dir, "logs"), stateDir: dir });
  await next.adopt();
  await next.stopAll(2_000);
  return times;
}

/** The baseline: the app spawned directly, output piped into this process, as the runtime did before the shim. */
async function direct(dir) {
  const out = [];
  for (let i = 0; i < rounds; i++) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const t0 = performance.now();
    const child = spawn("/bin/sh", ["-c", `exec "${process.execPath}" app.cjs`], { cwd: dir, env: { PORT: String(port), PATH: process.env.PATH }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    await new Promise((r) => child.once("spawn", r));
    const startMs = performance.now() - t0;
    child.stdout.resume();
    child.stderr.resume();
    await firstAnswer(port);
    out.push({ startMs, answerMs: performance.now() - t0, shimKiB: 0, shimPssKiB: 0, appKiB: rssKiB(child.pid) });
    const gone = new Promise((r) => child.once("exit", r));
    process.kill(-child.pid, "SIGTERM");
    await gone;
  }
  return out;
}

function row(name, results) {
  const m = (pick) => median(results.map(pick));
  const ms = (v) => `${v.toFixed(1)} ms`;
  const mib = (kib) => (kib ? `${(kib / 1024).toFixed(1)} MiB` : "-");
  console.log(`${name.padEnd(26)} start ${ms(m((r) => r.startMs)).padStart(9)}   first answer ${ms(m((r) => r.answerMs)).padStart(9)}   shim RSS ${mib(m((r) => r.shimKiB)).padStart(9)} (PSS ${mib(m((r) => r.shimPssKiB))})   app RSS ${mib(m((r) => r.appKiB))}`);
}

/** Runs this file again as a child (under tsx for the src variant) and reads its rounds. */
async function inChild(execArgv, runtimeIndex, extra = []) {
  const child = spawn(process.execPath, [...execArgv, join(here, "runtime-shim.mjs"), "--child", runtimeIndex, "--rounds", String(rounds), ...extra], { stdio: ["ignore", "pipe", "inherit"], cwd: resolve(here, "..") });
  let text = "";
  child.stdout.on("data", (c) => (text += c));
  const code = await new Promise((r) => child.once("exit", r));
  if (code !== 0) throw new Error(`the ${runtimeIndex} rounds failed`);
  return JSON.parse(text);
}

const dir = mkdtempSync(join(tmpdir(), "engineroom-bench-shim-"));
writeFileSync(join(dir, "app.cjs"), app);
try {
  if (values.child && values.adopt) console.log(JSON.stringify(await adoption(values.child, dir, Number(values.adopt))));
  else if (values.child) console.log(JSON.stringify(await viaRuntime(values.child, dir)));
  else {
    console.log(`${rounds} rounds each, medians`);
    row("direct spawn (baseline)", await direct(dir));
    const distIndex = resolve(values.dist, "runtime/index.js");
    if (existsSync(distIndex)) {
      row("shim, plain JS (dist)", await inChild([], distIndex));
      const count = Math.min(Number(values.adopt ?? 10), 50);
      const times = await inChild([], distIndex, ["--adopt", String(count)]);
      console.log(`adopt() of ${count} running instances by a new runtime: median ${median(times).toFixed(1)} ms over ${times.length} rounds`);
    } else console.log(`shim, plain JS (dist): skipped, no ${distIndex} (npm run build)`);
    row("shim, under tsx (src)", await inChild(["--import", "tsx"], resolve(here, "../src/runtime/index.ts")));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
