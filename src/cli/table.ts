import { createRequire } from "node:module";
import { parseArgs, type ParseArgsConfig } from "node:util";
import type { Command } from "commander";
import type { GlobalOptions } from "./connect.js";

/** One CLI command: its arguments, options and what it does. The one table that both parsers read. */
export interface CommandSpec {
  name: string;
  /** Commander's notation: `<service>` required, `[artifact]` optional. */
  args: string[];
  description: string;
  /** Commander's notation, e.g. `-n, --lines <n>` (takes a value) or `--json` (a flag). */
  options: { flags: string; description: string; default?: string }[];
  run(args: (string | undefined)[], options: Record<string, string | boolean | undefined>, globals: GlobalOptions): unknown;
}

/** The program's own options, valid before or after the command. */
export const globalOption = { flags: "-c, --config <file>", description: "the project's engineroom.yaml (default: ./engineroom.yaml or $ENGINEROOM_CONFIG)" };

interface ParsedFlags {
  long: string;
  short: string | undefined;
  takesValue: boolean;
  /** The name commander gives the value: `--skip-watch` → `skipWatch`. */
  key: string;
}

function parseFlags(flags: string): ParsedFlags {
  const match = /^(?:-(\w), )?--([\w-]+)(?: <[\w-]+>)?$/.exec(flags);
  if (!match) throw new Error(`unsupported option notation: ${flags}`);
  return { short: match[1], long: match[2]!, takesValue: flags.includes("<"), key: match[2]!.replace(/-(\w)/g, (_, c: string) => c.toUpperCase()) };
}

/**
 * Parses argv for one command of `table` with node:util alone, so that the commands run most often
 * (rollback, status, deploy …) never load commander. Answers undefined whenever anything is
 * unusual — help, an unknown command or option, a wrong number of arguments — and the caller
 * leaves it to commander, which says what is wrong.
 */
export function quickParse(argv: readonly string[], table: readonly CommandSpec[]): { spec: CommandSpec; args: (string | undefined)[]; options: Record<string, string | boolean | undefined>; globals: GlobalOptions } | undefined {
  if (argv.some((a) => a === "-h" || a === "--help" || a === "-V" || a === "--version" || a === "--")) return undefined;
  const spec = table.find((s) => s.name === firstOperand(argv));
  if (!spec) return undefined;
  const all: CommandSpec["options"] = [globalOption, ...spec.options];
  const flags = all.map((o) => ({ ...parseFlags(o.flags), default: o.default }));
  const options: NonNullable<ParseArgsConfig["options"]> = {};
  for (const f of flags) options[f.long] = { type: f.takesValue ? "string" : "boolean", ...(f.short ? { short: f.short } : {}) };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch {
    return undefined;
  }
  const [name, ...args] = parsed.positionals;
  const required = spec.args.filter((a) => a.startsWith("<")).length;
  if (name !== spec.name || args.length < required || args.length > spec.args.length) return undefined;
  const values: Record<string, string | boolean | undefined> = {};
  for (const f of flags) values[f.key] = (parsed.values[f.long] as string | boolean | undefined) ?? f.default;
  const { config, ...rest } = values;
  return { spec, args: spec.args.map((_, i) => args[i]), options: rest, globals: { config: config as string | undefined } };
}

/** The first operand of argv, past the global options. */
export function firstOperand(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "-c" || arg === "--config") i++;
    else if (!arg.startsWith("-")) return arg;
  }
  return undefined;
}

/** Loads commander (required, not imported: importing CommonJS from ESM scans its exports first, as costly as loading it). */
export function loadCommander(): typeof import("commander") {
  return createRequire(import.meta.url)("commander") as typeof import("commander");
}

/** Registers every command of `table` on a commander program. */
export function registerAll(program: Command, table: readonly CommandSpec[]): void {
  for (const spec of table) {
    const command = program.command([spec.name, ...spec.args].join(" ")).description(spec.description);
    for (const o of spec.options) command.option(o.flags, o.description, o.default);
    command.action(async (...received: unknown[]) => {
      const self = received.at(-1) as Command;
      const { config, ...options } = self.optsWithGlobals() as Record<string, string | boolean | undefined>;
      await spec.run(received.slice(0, spec.args.length) as (string | undefined)[], options, { config: config as string | undefined });
    });
  }
}
