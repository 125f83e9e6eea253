import { existsSync } from "node:fs";
import { dirname } from "node:path";
import type { Command } from "commander";
import { EngineError } from "../core/index.js";
import { secretProviders } from "../engine/index.js";
import { assertStorableValue, defaultKeyFile, providerFor, writableProviderFor, writeKeyFile } from "../secrets/index.js";
import { configPath, project, type GlobalOptions } from "./context.js";
import { green, out } from "./render.js";

/**
 * `engineroom secrets set|list|rm|keygen`: manages the project's secret providers directly (the
 * engine need not run). Values come from standard input only, never from arguments, which shells
 * keep in their history and `ps` shows to every user; nothing here ever prints a value.
 */
export function registerSecretsCommands(program: Command, globals: (command: Command) => GlobalOptions): void {
  const secrets = program.command("secrets").description("set, list and remove secrets (values are read from standard input and never printed)");

  secrets
    .command("set <name>")
    .description("store a secret read from standard input, e.g. printf %s \"$VALUE\" | engineroom secrets set db_password")
    .option("--provider <name>", "a writable provider under secrets.providers (default: secrets.default)")
    .action(async (name: string, options: { provider?: string }, command: Command) => {
      if (process.stdin.isTTY) {
        throw new EngineError("SECRET_VALUE_INVALID", "No value on standard input.", {
          hint: `Pipe it in: printf %s "$VALUE" | engineroom secrets set ${name}`,
        });
      }
      const value = (await readStdin()).replace(/\r?\n$/, "");
      const { name: providerName, provider } = writableProviderFor(secretProviders(project(globals(command))), options.provider);
      // Before any provider sees it: an empty value, or one too short to redact, is bad input.
      assertStorableValue(name, value, `provider "${providerName}"`);
      await provider.set(name, value);
      out(`${green("set")} ${name} in ${providerName} (${value.length} characters)`);
    });

  secrets
    .command("list")
    .description("list the names of the secrets a provider holds (never their values)")
    .option("--provider <name>", "a provider under secrets.providers (default: secrets.default)")
    .option("--json", "print JSON")
    .action(async (options: { provider?: string; json?: boolean }, command: Command) => {
      const { name: providerName, provider } = providerFor(secretProviders(project(globals(command))), options.provider);
      const names = await provider.list();
      if (options.json) return out(JSON.stringify({ provider: providerName, names }, null, 2));
      out(names.length ? names.join("\n") : `no secrets in ${providerName}`);
    });

  secrets
    .command("rm <name>")
    .description("remove a secret")
    .option("--provider <name>", "a writable provider under secrets.providers (default: secrets.default)")
    .action(async (name: string, options: { provider?: string }, command: Command) => {
      const { name: providerName, provider } = writableProviderFor(secretProviders(project(globals(command))), options.provider);
      const removed = await provider.remove(name);
      if (!removed) throw new EngineError("SECRET_NOT_FOUND", `No secret "${name}" in ${providerName}; nothing was changed.`);
      out(`${green("removed")} ${name} from ${providerName}`);
    });

  secrets
    .command("keygen")
    .description("write a new key for the local encrypted store to a file outside the project (mode 0600); refuses to overwrite one")
    .option("--file <path>", "where (default: ~/.config/engineroom/secrets.key)")
    .action(async (options: { file?: string }, command: Command) => {
      const file = options.file ?? defaultKeyFile();
      // Not parsed: keygen must work while the config is still being written. Only its folder matters.
      const config = configPath(globals(command));
      await writeKeyFile(file, undefined, { projectDir: existsSync(config) ? dirname(config) : undefined });
      out(`${green("wrote")} a new secrets key to ${file} (mode 0600); keep a copy somewhere safe: without it the local store cannot be read`);
    });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
