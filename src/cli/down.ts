import { join } from "node:path";
import { DataPlane } from "../dataplane/index.js";
import { isEngineError, processAlive, waitUntilGone } from "../core/index.js";
import { StateFiles } from "../engine/index.js";
import { LocalRuntime } from "../runtime/index.js";
import { project, type GlobalOptions } from "./context.js";
import { green } from "./render.js";

/**
 * `engineroom down`: stops everything of the project on this machine: the engine if it runs, then
 * the data plane (its proxies drain in-flight requests first), then every instance.
 */
export async function down(options: GlobalOptions & { json?: boolean }): Promise<number> {
  const loaded = project(options);
  const files = new StateFiles(loaded.stateDir);
  const say = (line: string) => void (options.json ? undefined : process.stderr.write(line + "\n"));
  const done: { engine: number | null; dataPlane: number | null; instances: string[] } = { engine: null, dataPlane: null, instances: [] };

  const engine = files.readEngineInfo();
  if (engine && processAlive(engine.pid)) {
    say(`stopping the engine (pid ${engine.pid})…`);
    process.kill(engine.pid, "SIGTERM");
    if (!(await waitUntilGone(engine.pid, 30_000))) process.kill(engine.pid, "SIGKILL");
    done.engine = engine.pid;
  }

  try {
    const plane = await DataPlane.attach({ stateDir: loaded.stateDir, start: false });
    done.dataPlane = plane.info.pid;
    say(`stopping the data plane (pid ${plane.info.pid}): proxies drain in-flight requests…`);
    await plane.shutdown(10_000);
  } catch (error) {
    if (!isEngineError(error) || error.code !== "DATAPLANE_UNAVAILABLE") throw error;
  }

  // Only the instances this project's runtime recorded, after checking each is still the same process.
  const runtime = new LocalRuntime({ logDir: join(loaded.stateDir, "logs"), stateDir: loaded.stateDir });
  const instances = await runtime.adopt();
  await Promise.all(instances.map((instance) => runtime.stop(instance.id, { graceMs: 10_000 }).then(() => runtime.forget(instance.id))));
  done.instances = instances.map((i) => i.id);
  files.removeEngineInfo();

  if (options.json) process.stdout.write(JSON.stringify(done, null, 2) + "\n");
  else {
    const parts = [
      done.engine ? `engine (pid ${done.engine})` : undefined,
      done.dataPlane ? `data plane (pid ${done.dataPlane})` : undefined,
      instances.length ? `${instances.length} instance(s)` : undefined,
    ].filter(Boolean);
    say(parts.length ? `${green("down")} stopped ${parts.join(", ")}` : "nothing was running");
  }
  return 0;
}
