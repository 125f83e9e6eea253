import type { Command } from "commander";
import { EngineError } from "../core/index.js";
import { writerLockKey } from "../deploy/index.js";
import { expandEnv } from "../engine/index.js";
import { openStore } from "../store/index.js";
import { project, type GlobalOptions } from "./context.js";
import { green } from "./render.js";

/**
 * `engineroom unlock --force [--env]`: takes an environment's writer lease from whoever holds it,
 * straight in the store (the holder may be a dead process on another host), and says whom from.
 */
export function registerUnlockCommand(program: Command, globals: (command: Command) => GlobalOptions): void {
  program
    .command("unlock")
    .description("take an environment's writer lock from its holder (a crashed holder's lease also expires by itself)")
    .option("--env <environment>", "the environment (default: the first of the chain)")
    .option("--force", "required: says you know the holder may still be working")
    .action(async (options: { env?: string; force?: boolean }, command: Command) => {
      const loaded = project(globals(command));
      const environment = options.env ?? loaded.config.environments[0]!.name;
      if (!loaded.config.environments.some((e) => e.name === environment)) {
        throw new EngineError("ENVIRONMENT_UNKNOWN", `No environment named "${environment}".`);
      }
      if (!options.force) {
        throw new EngineError("LOCK_HELD", "unlock takes a lock from its holder; nothing was changed.", { hint: "Pass --force if you are sure." });
      }
      const store = await openStore({ url: expandEnv(loaded.config.store.url), dir: loaded.stateDir });
      try {
        const from = await store.locks.forceRelease(writerLockKey(environment));
        await store.events.append({
          type: "lock.forced",
          environment,
          message: from ? `writer lock of ${environment} taken from "${from.command}" (pid ${from.pid} on ${from.host})` : `writer lock of ${environment} forced while free`,
          data: from ? { command: from.command, pid: from.pid, host: from.host, acquiredAt: from.acquiredAt } : {},
        });
        process.stdout.write(
          from
            ? `${green("unlocked")} ${environment}: took the lock from "${from.command}" (pid ${from.pid} on ${from.host}, held since ${new Date(from.acquiredAt).toISOString()})\n`
            : `${environment} was not locked\n`,
        );
      } finally {
        await store.close();
      }
    });
}
