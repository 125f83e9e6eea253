/**
 * A deploy of 10 instances over 3 namespace hosts under load (issue 11): three network-namespace
 * hosts reached over real ssh (test/helpers/netns-hosts.ts), bootstrapped through the API, run
 * `production` (`runtime: ssh`) with `web` at `instances: 10` (slot i → host i mod 3: 4/3/3). After
 * v1, R rounds deploy vN+1 while keep-alive load goes through the environment's front door, then the
 * digest of vR is deployed again (it is on every host: nothing is shipped). The same rounds on the
 * local runtime (one machine, no ssh), with the same app and load, are the baseline of the same run;
 * the two projects run side by side and their rounds take turns, so both see the load of the moment.
 *
 * Prints per round and as medians: request → live, the phases the deploy's progress gives (artifact
 * stored and release created, shipped to every host — seen as the digest's folder appearing in each
 * host's agent store —, instances started, healthy, smoke-verified, switched, and the switch's
 * acknowledgement by every host's proxy), requests sent and failed (target 0), and the artifact bytes
 * shipped (the tar stream shipArtifact sends per host, counted when the host got a new copy).
 *
 *   node --import tsx bench/fleet-deploy.ts [--rounds 3] [--connections 6] [--payload-kb 1024]
 *
 * Needs root, iproute2, openssh-server/-client (it skips with the namespace helper's reason
 * otherwise). Traffic goes to loopback and the run's namespaces only; the load is bounded in count
 * and time. Every process and namespace is ended at the end, on failure and on Ctrl-C.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { skippedTopLevel } from "../src/artifact/index.js";
import type { DeployResult } from "../src/deploy/index.js";
import type { EngineEvent } from "../src/store/index.js";
import { startLoad, type LoadResult } from "../test/helpers/load.js";
import { leftoverNamespaces, processGone, startTestHosts, type TestHosts } from "../test/helpers/netns-hosts.js";
import { startProject, testConfig, type TestProject } from "../test/helpers/project.js";
import { fmt, median } from "./stats.js";

const { values } = parseArgs({
  options: { rounds: { type: "string", default: "3" }, connections: { type: "string", default: "6" }, "payload-kb": { type: "string", default: "1024" } },
});
const rounds = Number(values.rounds);
const connections = Number(values.connections);
const payloadKb = Number(values["payload-kb"]);
const instances = 10;
/** Bounds of each round's load: it is stopped 300 ms after the deploy, these only cap a deploy that hangs. */
const loadBounds = { maxMs: 300_000, maxRequests: 2_000_000 };

// Everything started is ended in reverse order, once: at the end, on a failure, on Ctrl-C.
const cleanups: { what: string; run: () => Promise<void> }[] = [];
let cleaning: Promise<void> | undefined;
const cleanup = () =>
  (cleaning ??= (async () => {
    for (const c of cleanups.reverse()) await c.run().catch((error) => process.stderr.write(`cleanup (${c.what}) failed: ${(error as Error).message}\n`));
  })());
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: ending every process and namespace of the run…\n`);
    void cleanup().finally(() => process.exit(130));
  });
}

const lab = await startTestHosts(3);
if (typeof lab === "string") {
  console.log(`fleet-deploy: skipped, no test hosts here: ${lab}`);
  process.exit(0);
}
const hosts: TestHosts = lab;
const prefix = hosts.hosts[0]!.namespace.replace(/-\d+$/, "");
cleanups.push({ what: "namespace hosts", run: () => hosts.stop() });

interface Round {
  label: string;
  /** From the request (ms): release (created), starting (the last instance started), healthy, verified, live (their events). */
  at: Record<string, number>;
  /** From the request until the digest's folder was in the last host's agent store (fleet, when shipped). */
  shippedAt?: number;
  /** From the request until the copy was in each host's agent store, in the hosts' order (fleet, when shipped). */
  shippedEach?: (number | undefined)[];
  ackMs: number;
  resultMs: number;
  load: LoadResult;
  /** Bytes sent to the hosts for the artifact (the tar stream, per host that got a new copy). */
  bytesShipped?: number;
  hostsShipped?: number;
  placement: string;
  load1: number;
}

interface Phase {
  name: string;
  rounds: Round[];
  again: Round;
  first: Round;
}

/** The tar stream shipArtifact sends for `folder` (the same command and exclusions), in bytes. */
function tarBytes(folder: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const tar = spawn("tar", ["-cf", "-", "-C", folder, "--anchored", ...skippedTopLevel.map((n) => `--exclude=./${n}`), "."], { stdio: ["ignore", "pipe", "ignore"] });
    let bytes = 0;
    tar.stdout.on("data", (chunk: Buffer) => (bytes += chunk.length));
    tar.once("error", reject);
    tar.once("close", (code) => (code === 0 ? resolve(bytes) : reject(new Error(`tar exited with ${code}`))));
  });
}

/**
 * Watches every host's agent store while a deploy runs: when a new `sha256-*` folder appears on a
 * host (the agent moved a verified copy in), and whether the ones there changed (a copy shipped again).
 */
function watchHostStores(t0: number) {
  const stores = hosts.hosts.map((h) => join(h.stateDir, "agent", "artifacts"));
  const snapshot = (dir: string) => {
    const seen = new Map<string, string>();
    for (const name of existsSync(dir) ? readdirSync(dir) : []) {
      if (!name.startsWith("sha256-")) continue;
      const s = statSync(join(dir, name), { throwIfNoEntry: false });
      if (s) seen.set(name, `${s.ino}:${s.ctimeMs}`);
    }
    return seen;
  };
  const before = stores.map(snapshot);
  const arrived: (number | undefined)[] = stores.map(() => undefined);
  let incomingSeen = false;
  const poll = () => {
    stores.forEach((dir, i) => {
      if (arrived[i] === undefined && [...snapshot(dir).keys()].some((name) => !before[i]!.has(name))) arrived[i] = Date.now() - t0;
      const incoming = join(dir, "incoming");
      if (existsSync(incoming) && readdirSync(incoming).length > 0) incomingSeen = true;
    });
  };
  const timer = setInterval(poll, 20);
  return {
    /** Per host: when a new copy arrived, and whether a copy already there was replaced. */
    stop() {
      clearInterval(timer);
      poll();
      const after = stores.map(snapshot);
      const replaced = before.some((seen, i) => [...seen].some(([name, id]) => after[i]!.get(name) !== id));
      return { arrived, replaced, incomingSeen };
    },
  };
}

/** Which host runs each running instance of a release, as "host1 4 / host2 3 / host3 3". */
function placement(p: TestProject, releaseId: string): string {
  const counts: Record<string, number> = {};
  for (const i of p.engine.runtime.list()) if (i.releaseId === releaseId && i.status === "running") counts[i.labels.host ?? "local"] = (counts[i.labels.host ?? "local"] ?? 0) + 1;
  return Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([host, n]) => `${host} ${n}`)
    .join(" / ");
}

/** Processes of this machine whose command line names `text` (the engine's ssh forwarding names the project's folder). */
function processesNaming(text: string): number[] {
  return readdirSync("/proc").filter((entry) => {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) return false;
    try {
      return readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(text) && !processGone(Number(entry));
    } catch {
      return false; // gone meanwhile
    }
  }).map(Number);
}

/** Milliseconds, as seconds from one second on. */
const fmtMs = (ms: number) => (Number.isFinite(ms) && ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : fmt(ms));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The time (epoch ms) of each `release.<state>` event of the release, from the engine's event log. */
async function transitions(p: TestProject, afterId: number, releaseId: string): Promise<Record<string, number>> {
  const { events } = await p.api.get<{ events: EngineEvent[] }>(`/v1/events?service=web&after=${afterId}&limit=1000`);
  const times: Record<string, number> = {};
  for (const e of events) if (e.releaseId === releaseId && e.type.startsWith("release.")) times[e.type.slice("release.".length)] ??= e.time;
  return times;
}

/**
 * One deploy of `folder`, with keep-alive load through the front door when `underLoad`. Its phases
 * come from the store's clock (release created, state events) and the instances' start times, not
 * from when the progress lines arrive (they may arrive together).
 */
async function timedDeploy(p: TestProject, label: string, folder: string, options: { underLoad: boolean; fleet: boolean }): Promise<Round> {
  const load1 = loadavg()[0]!;
  const load = options.underLoad ? startLoad(p.proxyUrl, { connections, ...loadBounds }) : undefined;
  if (load) await sleep(300);
  const lastEvent = (await p.api.get<{ events: EngineEvent[] }>("/v1/events?service=web&limit=1")).events.at(-1)?.id ?? 0;
  const t0 = Date.now();
  const stores = options.fleet ? watchHostStores(t0) : undefined;
  let result: DeployResult;
  try {
    result = await p.api.stream<DeployResult>("/v1/services/web/deploys", { artifact: folder }, () => {});
  } catch (error) {
    stores?.stop();
    await load?.stop();
    throw error;
  }
  const resultMs = Date.now() - t0;
  const release = result.release;
  const running = p.engine.runtime.list().filter((i) => i.releaseId === release.id);
  if (load) await sleep(300);
  const totals = load ? await load.stop() : { requests: 0, failures: 0, problems: {}, versions: {} };
  if (release.state !== "watching") throw new Error(`${label}: the release is ${release.state}, not watching`);
  if (running.length !== instances) throw new Error(`${label}: ${running.length} instances of the release run, not ${instances}`);
  const events = await transitions(p, lastEvent, release.id);
  const at: Record<string, number> = { release: release.createdAt - t0, starting: Math.max(...running.map((i) => i.startedAt)) - t0 };
  for (const state of ["healthy", "verified", "live"]) if (events[state] !== undefined) at[state] = events[state]! - t0;
  const round: Round = { label, at, ackMs: result.ackMs, resultMs, load: totals, placement: placement(p, release.id), load1 };
  if (stores) {
    const seen = stores.stop();
    const got = seen.arrived.filter((ms) => ms !== undefined);
    round.hostsShipped = got.length;
    round.shippedEach = seen.arrived;
    round.shippedAt = got.length === hosts.hosts.length ? Math.max(...got) : undefined;
    round.bytesShipped = got.length * (got.length > 0 ? await tarBytes(folder) : 0);
    if (seen.replaced) throw new Error(`${label}: a host's copy of an artifact was replaced (shipped again)`);
    if (got.length === 0 && seen.incomingSeen) throw new Error(`${label}: something arrived in a host's incoming/ although no host got a new copy`);
  }
  process.stderr.write(`${describe(round)}\n`);
  return round;
}

function describe(r: Round): string {
  const { at } = r;
  const parts = [
    `${r.label}: live ${fmtMs(at.live ?? NaN)}`,
    `stored ${fmtMs(at.release ?? NaN)}`,
    ...(r.hostsShipped !== undefined ? [`shipped ${r.hostsShipped ? r.shippedEach!.map((ms) => (ms === undefined ? "-" : fmtMs(ms))).join(" / ") : "to no host"}`] : []),
    `started ${fmtMs(at.starting ?? NaN)}`,
    `healthy ${fmtMs(at.healthy ?? NaN)}`,
    `verified ${fmtMs(at.verified ?? NaN)}`,
    `ack ${fmtMs(r.ackMs)}`,
    `requests ${r.load.requests} failed ${r.load.failures}${r.load.failures ? ` ${JSON.stringify(r.load.problems)}` : ""}`,
    ...(r.bytesShipped !== undefined ? [`bytes shipped ${r.bytesShipped}`] : []),
    `[${r.placement}] load ${r.load1.toFixed(2)}`,
  ];
  return parts.join(", ");
}

/** A project under measure: its v1 first, then one round after the other (the fleet's and the local one's in turn). */
function phaseOf(name: string, p: TestProject, fleet: boolean) {
  const folders: string[] = [];
  const artifact = (version: string) => {
    const folder = p.artifact({ version });
    if (fleet) {
      // The engine probes the instances from outside their host: the app listens on every address of it.
      const server = join(folder, "server.js");
      writeFileSync(server, readFileSync(server, "utf8").replace('Number(process.env.PORT), "127.0.0.1"', 'Number(process.env.PORT), "0.0.0.0"'));
    }
    if (payloadKb > 0) writeFileSync(join(folder, "payload.bin"), randomBytes(payloadKb * 1024));
    folders.push(folder);
    return folder;
  };
  const phase: Phase = { name, rounds: [], again: undefined as unknown as Round, first: undefined as unknown as Round };
  return {
    phase,
    first: async () => void (phase.first = await timedDeploy(p, `${name} v1`, artifact("v1"), { underLoad: false, fleet })),
    round: async (n: number) => void phase.rounds.push(await timedDeploy(p, `${name} round ${n} (v${n + 1})`, artifact(`v${n + 1}`), { underLoad: true, fleet })),
    // vR is the warm previous release now, not the live one: its digest deploys as a new release.
    again: async () => void (phase.again = await timedDeploy(p, `${name} v${rounds}'s digest again`, folders[rounds - 1]!, { underLoad: true, fleet })),
  };
}

function fleetConfig(): string {
  const entries = hosts.hosts
    .map((h, i) => `      ${h.name}:\n        address: ${h.address}\n        key: { secret: host_key }\n        host_key: ${h.hostKey}\n        labels: { n: "${i + 1}" }\n        state_dir: ${h.stateDir}\n`)
    .join("");
  const top = `secrets:\n  providers:\n    keys: { type: file, dir: ./keys }\nenvironments:\n  production:\n    runtime: ssh\n    host_proxy_listen: 0.0.0.0:0\n    hosts:\n${entries}`;
  return tuned(testConfig("", top));
}

/** Both phases: 10 instances, a start bound that a loaded 2-core machine meets, a watch longer than the run. */
const tuned = (config: string) => config.replace("instances: 2", `instances: ${instances}`).replace("start_timeout: 5s", "start_timeout: 60s").replace("watch: 5m", "watch: 1h");

let ok = true;
try {
  process.stderr.write(`3 namespace hosts up (${hosts.hosts.map((h) => `${h.name} ${h.address}`).join(", ")}); load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}\n`);
  const fleetProject = await startProject(fleetConfig(), {
    beforeStart: (dir) => {
      mkdirSync(join(dir, "keys"), { mode: 0o700 });
      writeFileSync(join(dir, "keys", "host_key"), readFileSync(hosts.hosts[0]!.keyFile), { mode: 0o600 });
    },
  });
  cleanups.push({
    what: "fleet project",
    run: async () => {
      await fleetProject.cleanup();
      const left = processesNaming(fleetProject.dir);
      if (left.length > 0) throw new Error(`processes of the fleet project left: ${left.join(", ")}`);
    },
  });
  const boot = await fleetProject.api.post<{ hosts: { host: string; ok: boolean }[] }>("/v1/hosts/bootstrap", {});
  if (!boot.hosts.every((h) => h.ok)) throw new Error(`bootstrap failed: ${JSON.stringify(boot.hosts)}`);
  await fleetProject.stop();
  await fleetProject.restart();
  if (fleetProject.engine.fleets.length !== 1) throw new Error("the restarted engine did not attach to the hosts");
  const localProject = await startProject(tuned(testConfig()));
  cleanups.push({ what: "local project", run: () => localProject.cleanup() });
  // The rounds of the fleet and of the baseline take turns, so that both see the machine's load of the moment.
  const phases = [phaseOf("fleet", fleetProject, true), phaseOf("local", localProject, false)];
  for (const ph of phases) await ph.first();
  for (let n = 1; n <= rounds; n++) for (const ph of n % 2 ? phases : [...phases].reverse()) await ph.round(n);
  for (const ph of phases) await ph.again();
  const [fleet, local] = phases.map((ph) => ph.phase) as [Phase, Phase];
  ok = report(fleet, local);
} catch (error) {
  ok = false;
  process.stderr.write(`fleet-deploy failed: ${(error as Error).stack ?? error}\n`);
} finally {
  await cleanup();
  const left = leftoverNamespaces(prefix);
  if (left.length > 0) {
    ok = false;
    process.stderr.write(`namespaces left: ${left.join(", ")}\n`);
  }
}
process.exit(ok ? 0 : 1);

/** Prints the figures; true when no request failed. */
function report(fleet: Phase, local: Phase): boolean {
  const phaseOf = (r: Round) => ({
    live: r.at.live ?? NaN,
    stored: r.at.release ?? NaN,
    shipped: r.shippedAt !== undefined ? r.shippedAt - (r.at.release ?? NaN) : NaN,
    started: (r.at.starting ?? NaN) - (r.at.release ?? NaN),
    healthy: (r.at.healthy ?? NaN) - (r.at.starting ?? NaN),
    verified: (r.at.verified ?? NaN) - (r.at.healthy ?? NaN),
    switched: (r.at.live ?? NaN) - (r.at.verified ?? NaN),
    ack: r.ackMs,
    result: r.resultMs,
  });
  type Key = keyof ReturnType<typeof phaseOf>;
  const rows: [Key, string][] = [
    ["live", "request → live"],
    ["stored", "  request → artifact stored, release created"],
    ["shipped", "  release → artifact on every host (shipped)"],
    ["started", "  release → last instance started"],
    ["healthy", "  started → healthy (health gate)"],
    ["verified", "  healthy → verified (smoke tests)"],
    ["switched", "  verified → live (switch)"],
    ["ack", "  switch acknowledged by every proxy"],
    ["result", "request → result (live + watch set up)"],
  ];
  const cell = (phase: Phase, key: Key) => {
    const values = phase.rounds.map((r) => phaseOf(r)[key]);
    return values.every(Number.isNaN) ? "n/a" : `${fmtMs(median(values))} (${values.map((v) => fmtMs(v)).join(", ")})`;
  };
  const sum = (phase: Phase, f: (r: Round) => number) => phase.rounds.reduce((a, r) => a + f(r), 0);
  const width = 48;
  console.log(`\nfleet-deploy: ${instances} instances of web, ${rounds} rounds of deploy vN+1 under keep-alive load (${connections} connections through the front door)`);
  console.log(`  artifact: the fixture app + ${payloadKb} KiB of random bytes; fleet: 3 network-namespace hosts over ssh [${fleet.rounds[0]!.placement}]; local: one machine, no ssh`);
  console.log(`  ${"median (each round)".padEnd(width)}${"fleet (ssh, 3 hosts)".padEnd(width)}local (baseline)`);
  // Each host's copy, from the request: whether the hosts get theirs together or one after the other.
  const each = hosts.hosts.map((_, i) => median(fleet.rounds.map((r) => r.shippedEach?.[i] ?? NaN)));
  for (const [key, label] of rows) {
    console.log(`  ${label.padEnd(width)}${cell(fleet, key).padEnd(width)}${cell(local, key)}`);
    if (key === "shipped") console.log(`  ${"    request → on host1 / host2 / host3".padEnd(width)}${each.map(fmtMs).join(" / ").padEnd(width)}n/a`);
  }
  const requests = (phase: Phase) => `${sum(phase, (r) => r.load.requests)} (${phase.rounds.map((r) => r.load.requests).join(", ")})`;
  const failed = (phase: Phase) => `${sum(phase, (r) => r.load.failures)}`;
  console.log(`  ${"requests sent during the rounds".padEnd(width)}${requests(fleet).padEnd(width)}${requests(local)}`);
  console.log(`  ${"failed requests (target 0)".padEnd(width)}${failed(fleet).padEnd(width)}${failed(local)}`);
  const problems = [...fleet.rounds, fleet.again, ...local.rounds, local.again].filter((r) => r.load.failures > 0);
  for (const r of problems) console.log(`    ${r.label}: ${JSON.stringify(r.load.problems)}`);
  const shipped = fleet.rounds.map((r) => `${r.bytesShipped} B to ${r.hostsShipped} hosts`);
  console.log(`  ${"artifact bytes shipped, new digest".padEnd(width)}${(shipped[0] ?? "n/a").padEnd(width)}n/a (no ssh)`);
  if (new Set(shipped).size > 1) console.log(`    each round: ${shipped.join("; ")}`);
  console.log(
    `  ${"the same digest again: bytes shipped".padEnd(width)}${`${fleet.again.bytesShipped} B (no host's copy changed)`.padEnd(width)}n/a`,
  );
  console.log(`  ${"the same digest again: request → live".padEnd(width)}${fmtMs(fleet.again.at.live ?? NaN).padEnd(width)}${fmtMs(local.again.at.live ?? NaN)}`);
  console.log(
    `  ${"  its requests sent / failed".padEnd(width)}${`${fleet.again.load.requests} / ${fleet.again.load.failures}`.padEnd(width)}${local.again.load.requests} / ${local.again.load.failures}`,
  );
  console.log(`  ${"first deploy (v1, no load): request → live".padEnd(width)}${fmtMs(fleet.first.at.live ?? NaN).padEnd(width)}${fmtMs(local.first.at.live ?? NaN)}`);
  const loads = [...fleet.rounds, ...local.rounds].map((r) => r.load1.toFixed(2));
  console.log(`  1-minute load average at each round: fleet ${loads.slice(0, rounds).join(", ")}; local ${loads.slice(rounds).join(", ")} (2 cores shared)`);
  const failures = [...fleet.rounds, fleet.again, ...local.rounds, local.again].reduce((a, r) => a + r.load.failures, 0);
  return failures === 0;
}
