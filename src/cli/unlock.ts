import { EngineError } from "../core/index.js";
import type { Unlocked } from "../engine/index.js";
import { connect, type GlobalOptions } from "./connect.js";
import { green } from "./render.js";

/**
 * `engineroom unlock --force [--env]`: takes an environment's writer lease from whoever holds it and
 * says whom from. Through the running engine when there is one; otherwise straight in the store
 * (the holder may be a dead process on another host), through the same engine operation.
 */
export async function unlock(options: GlobalOptions & { env?: string; force?: boolean }): Promise<void> {
  if (!options.force) {
    throw new EngineError("LOCK_HELD", "unlock takes a lock from its holder; nothing was changed.", { hint: "Pass --force if you are sure." });
  }
  let unlocked: Unlocked;
  try {
    unlocked = await (await connect(options)).post<Unlocked>("/v1/unlock", options.env === undefined ? {} : { env: options.env });
  } catch (error) {
    if (!(error instanceof EngineError) || error.code !== "ENGINE_NOT_RUNNING") throw error;
    unlocked = await unlockWithoutEngine(options);
  }
  const { environment, from } = unlocked;
  process.stdout.write(
    from
      ? `${green("unlocked")} ${environment}: took the lock from "${from.command}" (pid ${from.pid} on ${from.host}, held since ${new Date(from.acquiredAt).toISOString()})\n`
      : `${environment} was not locked\n`,
  );
}

async function unlockWithoutEngine(options: GlobalOptions & { env?: string }): Promise<Unlocked> {
  const [{ project }, { expandEnv, forceUnlock }, { openStore }] = await Promise.all([import("./context.js"), import("../engine/index.js"), import("../store/index.js")]);
  const loaded = project(options);
  const environment = options.env ?? loaded.config.environments[0]!.name;
  if (!loaded.config.environments.some((e) => e.name === environment)) {
    throw new EngineError("ENVIRONMENT_UNKNOWN", `No environment named "${environment}".`);
  }
  const store = await openStore({ url: expandEnv(loaded.config.store.url), dir: loaded.stateDir });
  try {
    return await forceUnlock(store, environment, "cli");
  } finally {
    await store.close();
  }
}
