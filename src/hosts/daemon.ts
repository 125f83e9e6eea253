/**
 * The data-plane daemon on a host, started over ssh detached from the ssh session (its own session,
 * its streams on its log file), so that it keeps serving when the control host is unreachable.
 */
import { dataPlanePaths } from "../dataplane/index.js";
import { EngineError } from "../core/index.js";
import { runSsh, shellQuote, type SshTarget } from "./ssh.js";

export interface RemoteDaemonOptions {
  /** The state folder on the host. */
  stateDir: string;
  /** The engine's code on the host: the daemon entry file (…/dataplane/daemon.js). */
  entry: string;
  /** The folder the daemon runs in (where node finds its modules and loaders). */
  cwd: string;
  /** node on the host. Default `node` (from PATH). */
  node?: string;
  /** Flags for node (e.g. `--import tsx` when the code is TypeScript). */
  execArgv?: string[];
}

/** A shell snippet that exits 0 when something answers on the Unix socket `socket`; `node` is a shell word (quoted already). */
export function socketAnswersSnippet(node: string, socket: string): string {
  const script = "require('net').connect(process.argv[1]).on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))";
  return `${node} -e ${shellQuote(script)} ${shellQuote(socket)}`;
}

/**
 * Starts the daemon on the host unless one answers on its control socket already; resolves with
 * `started: false` when one was running (idempotent).
 */
export async function startRemoteDaemon(target: SshTarget, options: RemoteDaemonOptions): Promise<{ started: boolean }> {
  const node = options.node ?? "node";
  const paths = dataPlanePaths(options.stateDir);
  const run = [node, ...(options.execArgv ?? []), options.entry].map(shellQuote).join(" ");
  const script = [
    "set -e",
    `mkdir -p ${shellQuote(paths.dir)} && chmod 700 ${shellQuote(options.stateDir)} ${shellQuote(paths.dir)}`,
    `if ${socketAnswersSnippet(shellQuote(node), paths.socket)}; then echo running; exit 0; fi`,
    `cd ${shellQuote(options.cwd)}`,
    // setsid: its own session, so neither a hang-up nor the end of this ssh session reaches it.
    `ENGINEROOM_DATAPLANE_STATE=${shellQuote(options.stateDir)} setsid ${run} </dev/null >>${shellQuote(paths.log)} 2>&1 &`,
    "i=0; while [ $i -lt 300 ]; do",
    `  if ${socketAnswersSnippet(shellQuote(node), paths.socket)}; then echo started; exit 0; fi`,
    "  i=$((i+1)); sleep 0.1",
    "done",
    `echo "the data plane did not answer; its log:"; tail -n 8 ${shellQuote(paths.log)}; exit 3`,
  ].join("\n");
  const result = await runSsh(target, script, { timeoutMs: 90_000 });
  if (result.code !== 0) {
    throw new EngineError("HOST_NOT_READY", `The data plane did not start on host ${target.name}: ${(result.stdout + result.stderr).trim().slice(-600)}`, { details: { host: target.name } });
  }
  return { started: result.stdout.trim().endsWith("started") };
}
