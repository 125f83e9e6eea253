import { join } from "node:path";
import type { ExitInfo } from "../types.js";
import { LocalRuntime } from "./local-runtime.js";

/**
 * Stops every instance recorded under `stateDir` that still runs, and forgets them: for stopping
 * what an engine left serving when no engine runs (`engineroom down`, a test's cleanup). Each is
 * checked to be the recorded process first, as `adopt()` does; SIGTERM, then SIGKILL after `graceMs`.
 *
 * @example
 * await stopRecordedInstances(".engineroom"); // nothing left running of this project
 */
export async function stopRecordedInstances(stateDir: string, graceMs = 5_000): Promise<ExitInfo[]> {
  const runtime = new LocalRuntime({ logDir: join(stateDir, "logs"), stateDir });
  try {
    await runtime.adopt();
    const exits = await runtime.stopAll(graceMs);
    for (const exit of exits) runtime.forget(exit.id);
    return exits;
  } finally {
    runtime.close();
  }
}
