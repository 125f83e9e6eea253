import { spawn } from "node:child_process";
import { redactor, type Clock } from "../core/index.js";

/** A `run` step's output is kept to its last this many characters. */
export const outputCap = 16 * 1024;

export interface CommandResult {
  /** null when it was ended (timed out) or could not start. */
  code: number | null;
  timedOut: boolean;
  /** stdout and stderr as they came, redacted, its last `outputCap` characters. */
  output: string;
  error?: string;
}

/**
 * Runs `command` under `sh -c` in its own process group in `cwd`, its output captured (redacted,
 * capped); after `timeoutMs` on the clock the whole group is ended (TERM, then KILL a second later).
 */
export function runCommand(command: string, options: { cwd: string; env: Record<string, string>; timeoutMs: number; clock: Clock; signal?: AbortSignal }): Promise<CommandResult> {
  return new Promise((resolve) => {
    let output = "";
    let dropped = false;
    const keep = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      if (output.length > outputCap * 2) {
        output = output.slice(-outputCap);
        dropped = true;
      }
    };
    const child = spawn("sh", ["-c", command], { cwd: options.cwd, env: { ...process.env, ...options.env }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    const timer = new AbortController();
    let timedOut = false;
    const kill = (signal: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        /* already gone */
      }
    };
    const end = () => {
      kill("SIGTERM");
      setTimeout(() => kill("SIGKILL"), 1000).unref();
    };
    options.clock.sleep(options.timeoutMs, timer.signal).then(
      () => {
        timedOut = true;
        end();
      },
      () => undefined,
    );
    options.signal?.addEventListener("abort", end, { once: true });
    const finish = (code: number | null, error?: string) => {
      timer.abort();
      const tail = output.length > outputCap || dropped ? `[… earlier output dropped]\n${output.slice(-outputCap)}` : output;
      resolve({ code: timedOut ? null : code, timedOut, output: redactor.redact(tail), ...(error !== undefined && { error: redactor.redact(error) }) });
    };
    child.on("error", (error) => finish(null, error.message));
    child.on("close", (code) => finish(code));
  });
}
