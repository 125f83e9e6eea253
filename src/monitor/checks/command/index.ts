import { spawn } from "node:child_process";
import { constants } from "node:os";
import { isAbsolute, resolve } from "node:path";
import { z } from "zod";
import type { CheckType, Probe, ProbeOutcome } from "../types.js";

/** The options of a `command` check. */
export const commandOptions = z.strictObject({
  command: z.string().min(1).meta({ description: "Run with /bin/sh -c, in its own process group; exit status 0 passes by default." }),
  cwd: z.string().min(1).optional().meta({ description: "Working folder, relative to the project's folder. Default: the project's folder." }),
  env: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name"), z.string().regex(/^[^\0]*$/, "a value cannot hold a NUL byte"))
    .default({})
    .meta({ description: "Environment variables, added to PATH, HOME, LANG, TZ and USER (the engine's other variables are not passed on)." }),
});

/** A `command` check's options as validated. */
export type CommandOptions = z.output<typeof commandOptions>;

/** stdout kept for conditions: the first 64 KiB; the rest is read and dropped so the command never blocks on a full pipe. */
const maxStdoutBytes = 64 * 1024;
/** The engine's variables a command gets; its others (a secrets key, a store URL) stay in the engine. */
const inherited = ["PATH", "HOME", "LANG", "TZ", "USER"];

/**
 * `command`: runs a shell command. Fields `exit_code` (128 + the signal's number when a signal
 * ended it) and `stdout`. At the deadline the whole process group is killed, children included.
 */
export const commandCheck: CheckType<CommandOptions> = {
  options: commandOptions,
  fields: { exit_code: "number", stdout: "string", response_time: "duration" },
  defaultConditions: ["exit_code == 0"],
  create: (options, context) => new CommandProbe(options, options.cwd === undefined || isAbsolute(options.cwd) ? (options.cwd ?? context.dir) : resolve(context.dir, options.cwd)),
};

class CommandProbe implements Probe {
  readonly target = "local";
  readonly #command: string;
  readonly #cwd: string;
  readonly #env: Record<string, string>;

  constructor(options: CommandOptions, cwd: string) {
    this.#command = options.command;
    this.#cwd = cwd;
    const env: Record<string, string> = {};
    for (const name of inherited) if (process.env[name] !== undefined) env[name] = process.env[name]!;
    this.#env = { ...env, ...options.env };
  }

  run(signal: AbortSignal): Promise<ProbeOutcome> {
    return new Promise((resolvePromise) => {
      // detached: the command leads a process group of its own, so one kill reaches its children too.
      const child = spawn("/bin/sh", ["-c", this.#command], { cwd: this.#cwd, env: this.#env, detached: true, stdio: ["ignore", "pipe", "ignore"] });
      const chunks: Buffer[] = [];
      let size = 0;
      child.stdout.on("data", (chunk: Buffer) => {
        if (size >= maxStdoutBytes) return;
        chunks.push(chunk.subarray(0, maxStdoutBytes - size));
        size = Math.min(maxStdoutBytes, size + chunk.length);
      });
      const killGroup = (): void => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
        } catch {
          // The group is gone already.
        }
      };
      let settled = false;
      const done = (outcome: ProbeOutcome): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener("abort", onAbort);
        killGroup();
        resolvePromise(outcome);
      };
      const onAbort = (): void => done({ fields: {}, error: "aborted" });
      signal.addEventListener("abort", onAbort, { once: true });
      child.once("error", (error: NodeJS.ErrnoException) =>
        done({ fields: {}, error: error.code === "ENOENT" ? `could not start the command: no folder ${this.#cwd}` : `could not start the command (${error.code ?? "error"})` }),
      );
      let exitCode = 0;
      child.once("exit", (code, signalName) => {
        exitCode = code ?? 128 + (signalName ? (constants.signals[signalName] ?? 0) : 0);
        // Whatever the command left running (a child in the background holding its stdout) ends
        // with it; then stdout closes and every byte it wrote has been read.
        killGroup();
      });
      child.once("close", () => done({ fields: { exit_code: exitCode, stdout: Buffer.concat(chunks, size).toString("utf8") } }));
    });
  }
}
