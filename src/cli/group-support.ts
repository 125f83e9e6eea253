import { userInfo } from "node:os";
import type { Command } from "commander";

/**
 * `--json` given to a subcommand, or to its group before it (`engineroom alerts --json deliveries`):
 * commander gives an option the group declares too to the group.
 */
export function wantsJson(options: { json?: boolean }, command: Command): boolean {
  return options.json === true || (command.optsWithGlobals() as { json?: boolean }).json === true;
}

/** Who acts, as the engine records it (an ack, a silence, a test notice): the OS user name. */
export function operatorName(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? "unknown";
  }
}
