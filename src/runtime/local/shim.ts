/**
 * The log shim of one local instance (like conmon or containerd-shim): a small process the runtime
 * starts in its own session, which runs the instance's app and outlives the engine.
 *
 * - It leads the instance's session and process group, and runs `/bin/sh -c <command>` in that group,
 *   so SIGTERM to the group reaches the app; the shim itself ignores SIGTERM, SIGINT and SIGHUP and
 *   keeps draining the app's output.
 * - It reads the app's stdout and stderr through pipes and writes them, redacted, to the instance's
 *   log as `<ISO time> <out|err> <text>`, rotated (log-file.ts).
 * - When the app exits, it kills what is left of the group (at once after a crash; after the output
 *   closes when the group was asked to stop), records the app's code or signal in the exit file, and
 *   exits.
 *
 * Everything it needs, secret values to redact included, comes once on its standard input as JSON
 * (`ShimStart`), never in its argv or environment. Its own standard error goes to a file that must
 * never hold a secret: messages it writes there are redacted too.
 */
import { spawn } from "node:child_process";
import { pathToFileURL } from "node:url";
import { Redactor } from "../../core/index.js";
import { writeAtomic, type ExitRecord, type ShimStart } from "./instance-files.js";
import { LineSplitter, LogWriter } from "./log-file.js";
import { signalGroupExcept } from "./procfs.js";

/** Output waiting for the disk beyond this pauses the app's pipes (and so the app). */
const pauseAtChars = 1024 * 1024;
/** After the app exits, how long its pipes may stay open (held by an escaped process) before we stop reading. */
const pipeCloseTimeoutMs = 2_000;

const redactor = new Redactor();
let stopRequested = false;

/** Reads the start data, runs the app, and exits once it has exited and its output is on disk. */
export async function runShim(): Promise<void> {
  // HUP last: the runtime waits until all three are caught before it treats the shim as started.
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(signal, () => (stopRequested = true));
  process.on("uncaughtException", (error) => fail(`the log shim failed: ${error.message}`));

  let start: ShimStart;
  try {
    start = JSON.parse(await readStdin()) as ShimStart;
  } catch {
    // Never print what was read: it holds secret values.
    return fail("the log shim could not read its start data");
  }
  for (const [name, value] of start.secrets ?? []) redactor.add(name, value);
  // Where the instance runs; /proc/<pid>/cwd of the shim is then what a later engine checks.
  process.chdir(start.cwd);

  const log = new LogWriter({
    path: start.logPath,
    maxBytes: start.logMaxBytes,
    files: start.logFiles,
    onError: (error) => warn(`instance output could not be written; dropping it: ${String(error)}`),
  });
  const stamp = (tag: string, line: string) => log.write(`${new Date().toISOString()} ${tag} ${redactor.redact(line)}`);

  // Asked to stop while it was starting (the runtime signals the group once the shim is ready to take
  // it, which is before the app runs): the app would never hear of it, so it does not start.
  if (stopRequested) return finish(start, { code: null, signal: null, error: "asked to stop before it started", exitedAt: Date.now() });

  const app = spawn("/bin/sh", ["-c", start.command], { cwd: start.cwd, env: start.env, stdio: ["ignore", "pipe", "pipe"] });
  app.once("error", async (error) => {
    stamp("err", `[engineroom] could not start the instance: ${error.message}`);
    await log.close();
    finish(start, { code: null, signal: null, error: error.message, exitedAt: Date.now() });
  });

  const streams = [app.stdout, app.stderr];
  const sources = [[app.stdout, "out"], [app.stderr, "err"]] as const;
  let paused = false;
  for (const [stream, tag] of sources) {
    const splitter = new LineSplitter((line) => stamp(tag, line));
    stream.on("data", (chunk: Buffer) => {
      splitter.push(chunk);
      if (paused || log.pendingChars < pauseAtChars) return;
      // The disk is behind: stop reading until it catches up, which in turn blocks the app's writes.
      paused = true;
      for (const s of streams) s.pause();
      void log.flush().then(() => {
        paused = false;
        for (const s of streams) s.resume();
      });
    });
    stream.on("end", () => splitter.end());
    stream.on("close", () => splitter.end());
  }

  let pipeTimer: NodeJS.Timeout | undefined;
  app.once("exit", (_code: number | null, signal: NodeJS.Signals | null) => {
    // A crashed app takes the rest of its group with it; a stopping one had its SIGTERM and keeps its
    // grace. The signal to the group can end the app (sh) before this shim has handled its own copy of
    // it (both arrive through the event loop, in either order): an app ended by one of the signals
    // the shim catches was asked to stop too.
    const stopping = stopRequested || signal === "SIGTERM" || signal === "SIGINT" || signal === "SIGHUP";
    if (!stopping) signalGroupExcept(process.pid, process.pid, "SIGKILL");
    // Stop waiting for pipes that a process which left the group (setsid) may hold open forever.
    pipeTimer = setTimeout(() => {
      app.stdout.destroy();
      app.stderr.destroy();
    }, pipeCloseTimeoutMs);
  });
  app.once("close", async (code: number | null, signal: NodeJS.Signals | null) => {
    clearTimeout(pipeTimer);
    signalGroupExcept(process.pid, process.pid, "SIGKILL"); // anything left that had closed its output
    await log.close();
    finish(start, { code, signal, exitedAt: Date.now() });
  });
}

let finished = false;

function finish(start: ShimStart, exit: ExitRecord): void {
  if (finished) return; // a spawn error may be followed by the close of its pipes
  finished = true;
  try {
    writeAtomic(start.exitPath, JSON.stringify(exit) + "\n");
  } catch (error) {
    warn(`the exit status could not be recorded: ${(error as Error).message}`);
  }
  process.exit(0);
}

function fail(message: string): void {
  warn(message);
  signalGroupExcept(process.pid, process.pid, "SIGKILL");
  process.exit(1);
}

function warn(message: string): void {
  process.stderr.write(`${new Date().toISOString()} ${redactor.redact(message)}\n`);
}

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on("data", (chunk: Buffer) => chunks.push(chunk));
    process.stdin.once("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    process.stdin.once("error", reject);
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runShim().catch((error: Error) => fail(`the log shim failed: ${error.message}`));
}
