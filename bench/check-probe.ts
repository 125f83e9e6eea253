/**
 * CPU per http probe: 1,000 runs of http checks (runCheck: timer, probe, conditions) against a
 * local upstream in a child process, so that only the prober's CPU is counted
 * (process.cpuUsage before/after, user + system). Three shapes:
 *  - one check run 1,000 times, default conditions (status only; the body is discarded unread);
 *  - 1,000 distinct checks on one upstream, as the scheduler holds them, run once each;
 *  - 1,000 runs of a check whose conditions read a JSON path (the body is read and parsed);
 *  - 1,000 distinct checks paced at 1,000 probes/s (10 started every 10 ms), as a scheduler runs them.
 * The first three run at a bounded concurrency (like the scheduler's per-host cap), after a warm-up.
 *
 *   node --import tsx bench/check-probe.ts [--probes 1000] [--concurrency 20] [--rounds 5]
 *
 * Loopback only; bounded in count. Prints the median over rounds of µs of CPU per probe.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { parseArgs } from "node:util";
import { closeCheckConnections, defineCheck, runCheck, type CheckDefinition } from "../src/monitor/checks/index.js";
import { median } from "./stats.js";

const { values } = parseArgs({ options: { probes: { type: "string", default: "1000" }, concurrency: { type: "string", default: "20" }, rounds: { type: "string", default: "5" } } });
const probes = Number(values.probes);
const concurrency = Number(values.concurrency);
const rounds = Number(values.rounds);

const upstreamSource = `
const http = require("node:http");
const body = JSON.stringify({ status: "ok", version: "1.2.3", items: [{ id: 1 }, { id: 2 }] });
const server = http.createServer((req, res) => { res.setHeader("content-type", "application/json"); res.end(body); });
server.keepAliveTimeout = 60000;
server.listen(0, "127.0.0.1", () => process.stdout.write(String(server.address().port) + "\\n"));
`;
const upstream = spawn(process.execPath, ["-e", upstreamSource], { stdio: ["ignore", "pipe", "inherit"] });
const [portLine] = (await once(upstream.stdout!, "data")) as [Buffer];
const url = `http://127.0.0.1:${Number(portLine.toString().trim())}/health`;

function http(name: string, extra: Record<string, unknown> = {}): CheckDefinition {
  return defineCheck(name, { type: "http", url, interval: "10s", ...extra }, { path: ["checks", name] });
}

/** Runs `count` probes over `definitions` (round robin), `concurrency` at a time; answers CPU µs per probe and failures. */
async function measure(definitions: CheckDefinition[], count: number): Promise<{ cpuUs: number; wallMs: number; failed: number }> {
  let next = 0;
  let failed = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const definition = definitions[next++ % definitions.length]!;
        const result = await runCheck(definition, { now: Date.now });
        if (!result.ok) failed++;
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  return { cpuUs: (used.user + used.system) / count, wallMs: performance.now() - started, failed };
}

/** Starts 10 probes every 10 ms until `count` have started: 1,000 probes/s. */
async function paced(definitions: CheckDefinition[], count: number): Promise<{ cpuUs: number; wallMs: number; failed: number }> {
  let failed = 0;
  const running: Promise<void>[] = [];
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < count; i += 10) {
    for (let j = i; j < Math.min(count, i + 10); j++) {
      running.push(runCheck(definitions[j % definitions.length]!, { now: Date.now }).then((result) => void (result.ok || failed++)));
    }
    const due = started + (i + 10);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
  }
  await Promise.all(running);
  const used = process.cpuUsage(cpu);
  return { cpuUs: (used.user + used.system) / count, wallMs: performance.now() - started, failed };
}

const shapes: [string, CheckDefinition[], typeof measure][] = [
  ["one check, default conditions", [http("one")], measure],
  ["1,000 distinct checks, default conditions", Array.from({ length: probes }, (_, i) => http(`c${i}`)), measure],
  ["one check reading body.json.status", [http("json", { conditions: ["status == 200", 'body.json.status == "ok"', "response_time < 1s"] })], measure],
  ["1,000 distinct checks paced at 1,000/s", Array.from({ length: probes }, (_, i) => http(`p${i}`)), paced],
];

try {
  await measure([http("warm-up")], 1000); // warm-up: JIT, the connection pool
  console.log(`http probes: ${probes} per round, concurrency ${concurrency}, ${rounds} rounds, upstream in a child process`);
  for (const [label, definitions, run] of shapes) {
    const figures = [];
    for (let round = 0; round < rounds; round++) figures.push(await run(definitions, probes));
    const failed = figures.reduce((sum, f) => sum + f.failed, 0);
    console.log(
      `  ${label.padEnd(44)} CPU ${median(figures.map((f) => f.cpuUs)).toFixed(0).padStart(4)} µs/probe (min ${Math.min(...figures.map((f) => f.cpuUs)).toFixed(0)}, max ${Math.max(...figures.map((f) => f.cpuUs)).toFixed(0)}), ` +
        `${(probes / (median(figures.map((f) => f.wallMs)) / 1000)).toFixed(0)} probes/s wall, ${failed} failed`,
    );
  }
} finally {
  await closeCheckConnections();
  upstream.kill();
}
