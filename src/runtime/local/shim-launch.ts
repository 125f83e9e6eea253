import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync } from "node:fs";
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { childExecArgv } from "../../core/index.js";
import type { ShimStart } from "./instance-files.js";
import { caughtSignals } from "./procfs.js";

// The shim sits beside this file with the same extension: .ts under tsx (run with the engine's own
// node flags, which load tsx), .js in dist.
const here = fileURLToPath(import.meta.url);
const shimFile = join(dirname(here), `shim${extname(here)}`);

/** Environment of the shim itself: what node needs, nothing of the app's (which may hold secrets). */
const shimEnvNames = ["PATH", "HOME", "LANG", "TZ", "NODE_OPTIONS"];
/** The shim catches these once it is set up; before, SIGTERM to its group would kill it. */
const readySignals = [1, 2, 15]; // SIGHUP, SIGINT, SIGTERM
const readyMask = readySignals.reduce((mask, n) => mask | (1n << BigInt(n - 1)), 0n);
const readyTimeoutMs = 15_000;

export interface LaunchedShim {
  child: ChildProcess;
  /**
   * Resolves true once the shim ignores SIGTERM (so that stopping the instance cannot kill the shim
   * before it ran its app), or once it has recorded its app's exit (an app that ended that fast);
   * false when the shim died before either, or did not get there within 15 s. Never rejects.
   */
  ready: Promise<boolean>;
}

/**
 * Starts a log shim in its own session (so its pid is the instance's process group), with nothing of
 * this process's stdio: its stdin is a pipe that carries `start` once and is closed, its stderr a
 * file. `onSpawned` runs as soon as the pid is known (to record it before anything else can fail).
 * Resolves once the shim is spawned: instances of a release start side by side, each shim's own
 * start-up (a node process) overlapping the others'. Rejects only when node cannot be spawned.
 */
export async function launchShim(start: ShimStart, errorsPath: string, onSpawned: (pid: number) => void): Promise<LaunchedShim> {
  const errors = openSync(errorsPath, "a", 0o600);
  let child: ChildProcess;
  try {
    const env: Record<string, string> = {};
    for (const name of shimEnvNames) if (process.env[name] !== undefined) env[name] = process.env[name]!;
    child = spawn(process.execPath, [...childExecArgv(process.execArgv), shimFile], {
      // The engine's folder, where its node flags resolve (`--import tsx`); the shim moves to the instance's.
      cwd: process.cwd(),
      env,
      detached: true,
      stdio: ["pipe", "ignore", errors],
    });
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", reject);
    });
  } finally {
    closeSync(errors);
  }
  const pid = child.pid!;
  onSpawned(pid);
  child.stdin!.on("error", () => {}); // a shim that died early: its exit says so
  child.stdin!.end(JSON.stringify(start));
  let exited = false;
  child.once("exit", () => (exited = true));
  return { child, ready: untilReady(pid, start.exitPath, () => exited) };
}

async function untilReady(pid: number, exitPath: string, exited: () => boolean): Promise<boolean> {
  const deadline = Date.now() + readyTimeoutMs;
  for (let wait = 2; ; wait = Math.min(wait * 2, 20)) {
    const caught = await caughtSignals(pid);
    if (!exited() && caught !== undefined && (caught & readyMask) === readyMask) return true;
    if (exited() || caught === undefined) return existsSync(exitPath);
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}
