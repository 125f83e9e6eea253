import { spawn } from "node:child_process";
import { openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { EngineError, processAlive, systemClock, waitUntilGone } from "../core/index.js";
import { DrillLoad } from "../drill/index.js";
import type { DrillView } from "../engine/index.js";
import type { DrillRunRecord } from "../store/index.js";
import { configPath, connect, stateDirOf, type GlobalOptions } from "./connect.js";
import { operatorName } from "./group-support.js";

/** How long the load runs before the engine is stopped, and after it is back: failures then are outside the fault. */
const marginMs = 1_000;

/**
 * A restart drill, run by the CLI around the engine (which cannot restart itself): under the drill's
 * load through the environment's proxy, the engine `engineroom up` started is stopped with SIGTERM
 * (as Ctrl-C does: the data plane keeps serving), started again detached (`engineroom up`, its output
 * in `<state_dir>/engine-restart.log`), and timed until its API answers and a request through the
 * proxy succeeds; what was measured is handed to the new engine, which judges and records it.
 */
export async function runRestartDrill(drill: DrillView, globals: GlobalOptions, say: (line: string) => void): Promise<DrillRunRecord> {
  const stateDir = await stateDirOf(configPath(globals));
  const before = engineInfo(stateDir);
  if (!before || !processAlive(before.pid)) throw new EngineError("ENGINE_NOT_RUNNING", "No engine runs for this project: a restart drill restarts a running engine.");
  if (before.pid === process.pid) throw new EngineError("DRILL_UNSUPPORTED", "The engine runs in this process: a restart drill restarts an engine started by `engineroom up`.");
  // Refused like any drill while another runs, a deploy holds the environment or a release is watched.
  await (await connect(globals)).post(`/v1/drills/${encodeURIComponent(drill.name)}/check`, {});
  const startedAt = Date.now();
  const deadline = startedAt + drill.timeoutMs;
  const load = new DrillLoad(drill.target, systemClock);
  load.start(drill.load.rps, Math.ceil((drill.load.rps * drill.timeoutMs) / 1000));
  let faultAt: number | null = null;
  let healthyAt: number | null = null;
  let error: string | undefined;
  try {
    await sleep(marginMs);
    faultAt = Date.now();
    say(`stopping the engine (pid ${before.pid}); the data plane keeps serving…`);
    process.kill(before.pid, "SIGTERM");
    if (!(await waitUntilGone(before.pid, Math.max(1, deadline - Date.now())))) throw new Error(`the engine (pid ${before.pid}) did not stop before the drill's time limit`);
    const log = openSync(join(stateDir, "engine-restart.log"), "a");
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, "up", ...(globals.config ? ["--config", globals.config] : [])], { detached: true, stdio: ["ignore", log, log], env: process.env });
    child.unref();
    say(`starting the engine again (pid ${child.pid}, output in ${join(stateDir, "engine-restart.log")})…`);
    while (healthyAt === null) {
      if (Date.now() > deadline) throw new Error("the engine was not back before the drill's time limit");
      if (child.exitCode !== null) throw new Error(`the engine exited (code ${child.exitCode}) while starting again; see ${join(stateDir, "engine-restart.log")}`);
      if (engineInfo(stateDir)?.pid === child.pid && (await answers(globals)) && (await load.probe())) healthyAt = Date.now();
      else await sleep(100);
    }
    await sleep(marginMs);
  } catch (e) {
    error = (e as Error).message;
  } finally {
    await load.stop();
  }
  // The body of POST /v1/drills/{name}/results: the times flat, epoch ms.
  const body = { startedAt, faultAt, faultEndedAt: healthyAt, healthyAt, ...(error && { error }), sent: load.sent, failures: load.failures, by: operatorName() };
  const api = await connect(globals);
  return (await api.post<{ run: DrillRunRecord }>(`/v1/drills/${encodeURIComponent(drill.name)}/results`, body)).run;
}

function engineInfo(stateDir: string): { pid: number } | undefined {
  try {
    const info = JSON.parse(readFileSync(join(stateDir, "engine.json"), "utf8")) as { pid?: unknown };
    return typeof info.pid === "number" ? { pid: info.pid } : undefined;
  } catch {
    return undefined;
  }
}

async function answers(globals: GlobalOptions): Promise<boolean> {
  try {
    await (await connect(globals)).get("/v1/drills");
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
