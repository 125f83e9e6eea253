/**
 * The node flags a child process of ours should run with (a proxy worker, the data-plane process, an
 * instance's log shim): loaders (`--import tsx` under the tests) and limits carry over, but not flags
 * that would run something else or clash: an -e/-p script, the test runner, watch mode, or an
 * inspector port the parent already holds.
 */
export function childExecArgv(execArgv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    if (arg === "-e" || arg === "--eval" || arg === "-p" || arg === "--print" || arg === "--input-type") i++; // and its value
    else if (!/^(--eval=|--print=|--input-type=|--test|--watch|--inspect|--debug|--cpu-prof|--heap-prof)/.test(arg)) out.push(arg);
  }
  return out;
}

/** True while a process with this pid exists (one we may not signal counts too). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Waits until the process is gone; false when it still runs after `timeoutMs`. */
export async function waitUntilGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (processAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}
