#!/usr/bin/env node
import { resolve } from "node:path";
import { Command, CommanderError } from "commander";
import { toEngineError } from "../core/index.js";
import type { DeployResult, Progress, RollbackResult } from "../deploy/index.js";
import type { Followed, InstanceLogs, ProjectStatus } from "../engine/index.js";
import type { Release } from "../store/index.js";
import type { ApiClient } from "./client.js";
import { connect, type GlobalOptions } from "./connect.js";
import type { Operation } from "./cut-off.js";
import { exitCodeFor, exitCodes } from "./exit-codes.js";
import { green, progressPrinter, renderError, renderReleases, renderStatus, yellow } from "./render.js";

// Only what every command needs is imported above (commander, the error catalogue, node:http via
// ./client.js): commands that talk to a running engine must start in milliseconds. Everything
// heavy (the engine, the config parser, the store) is imported by the command that needs it.

const program = new Command("engineroom")
  .description("Zero-downtime deploys, instant rollback and watched releases from one engineroom.yaml.")
  .option("-c, --config <file>", "the project's engineroom.yaml (default: ./engineroom.yaml or $ENGINEROOM_CONFIG)")
  .showHelpAfterError()
  .exitOverride();

const out = (text: string): void => {
  process.stdout.write(text + "\n");
};
const globals = (command: Command): GlobalOptions => command.optsWithGlobals() as GlobalOptions;
const json = (value: unknown): void => out(JSON.stringify(value, null, 2));
const service = (name: string) => encodeURIComponent(name);

program
  .command("init [dir]")
  .description("write a commented starter engineroom.yaml (and a tiny app to deploy) into a folder")
  .option("--force", "overwrite an existing engineroom.yaml")
  .action(async (dir: string | undefined, options: { force?: boolean }) => {
    const { init } = await import("./init.js");
    out(init(dir, options));
  });

program
  .command("up")
  .description("run the engine in the foreground: control loop, reverse proxy, local API (Ctrl-C stops it)")
  .option("--deploy", "deploy each service's declared artifact if it has no live release yet")
  .option("--json", "log as JSON lines")
  .action(async (options: { deploy?: boolean; json?: boolean }, command: Command) => {
    const { up } = await import("./up.js");
    await up({ ...globals(command), ...options });
  });

program
  .command("down")
  .description("stop the data plane (proxies and instances) and the engine")
  .option("--json", "print the result as JSON")
  .action(async (options: { json?: boolean }, command: Command) => {
    const { down } = await import("./down.js");
    process.exitCode = await down({ ...globals(command), ...options });
  });

program
  .command("deploy <service> [artifact]")
  .description("deploy a folder or .tgz (default: the service's declared artifact) into the first environment, with zero downtime")
  .option("--env <environment>", "the environment (only the first of the chain takes deploys; later ones get releases by promote)")
  .option("--watch", "stay through the watch window: exit 0 when the release is stable, 1 with the evidence if it is rolled back")
  .option("--json", "print the result as JSON")
  .action(async (name: string, artifact: string | undefined, options: { env?: string; watch?: boolean; json?: boolean }, command: Command) => {
    const body = { ...(artifact === undefined ? {} : { artifact: resolve(artifact) }), env: options.env, watch: options.watch === true };
    const result = await streamed<DeployResult>(command, "deploy", name, "POST", `/v1/services/${service(name)}/deploys`, body, options.json);
    if (options.json) return json(result);
    out(describeDeploy(name, result));
  });

program
  .command("promote <service>")
  .description("release the exact artifact that is live and stable in the environment before --to into --to")
  .option("--to <environment>", "the environment to promote into (default: the second of the chain)")
  .option("--initial", "the service's first release there: no rollback target is needed")
  .option("--skip-watch", "end the source release's watch window now (recorded) and promote it")
  .option("--json", "print the result as JSON")
  .action(async (name: string, options: { to?: string; initial?: boolean; skipWatch?: boolean; json?: boolean }, command: Command) => {
    const body = { to: options.to, initial: options.initial === true, skipWatch: options.skipWatch === true };
    const result = await streamed<DeployResult>(command, "promote", name, "POST", `/v1/services/${service(name)}/promote`, body, options.json);
    if (options.json) return json(result);
    out(describeDeploy(name, result));
  });

program
  .command("watch <service>")
  .description("follow the analysis of the service's release in its watch window, verdict by verdict, until it is stable or rolled back")
  .option("--env <environment>", "the environment (default: the first of the chain)")
  .option("--json", "print the result as JSON")
  .action(async (name: string, options: { env?: string; json?: boolean }, command: Command) => {
    const path = `/v1/services/${service(name)}/watch${query({ env: options.env })}`;
    const result = await streamed<Followed>(command, "watch", name, "GET", path, undefined, options.json);
    if (options.json) return json(result);
    out(`${name} v${result.release.number} is ${result.release.state}: ${result.release.reason}`);
  });

program
  .command("abort <service>")
  .description("roll back the release in its watch window now (recorded as an abort)")
  .option("--env <environment>", "the environment (default: the first of the chain)")
  .option("--json", "print the result as JSON")
  .action(async (name: string, options: { env?: string; json?: boolean }, command: Command) => {
    const result = await streamed<RollbackResult>(command, "abort", name, "POST", `/v1/services/${service(name)}/abort`, { env: options.env }, options.json);
    if (options.json) return json(result);
    out(`${green("aborted")} ${name} v${result.from.number} in ${result.to.environment}: traffic back on v${result.to.number}`);
  });

program
  .command("approve <release>")
  .description("approve a verified release that waits for approval (environments with require_approval), and switch to it")
  .option("--json", "print the result as JSON")
  .action(async (release: string, options: { json?: boolean }, command: Command) => {
    const result = await streamed<DeployResult>(command, "approve", release, "POST", `/v1/releases/${encodeURIComponent(release)}/approve`, {}, options.json);
    if (options.json) return json(result);
    out(describeDeploy(result.release.service, result));
  });

program
  .command("rollback <service>")
  .description("switch back to the previous release (instantly when it is still warm)")
  .option("--env <environment>", "the environment (required when the chain has more than one)")
  .option("--json", "print the result as JSON")
  .action(async (name: string, options: { env?: string; json?: boolean }, command: Command) => {
    const result = await streamed<RollbackResult>(command, "rollback", name, "POST", `/v1/services/${service(name)}/rollback`, { env: options.env }, options.json);
    if (options.json) return json(result);
    out(`${green("rolled back")} ${name} in ${result.to.environment}: v${result.from.number} → v${result.to.number} (${result.warm ? "warm" : "cold start"}), switch ${result.switchMs.toFixed(1)}ms`);
  });

program
  .command("status")
  .description("per environment: live release, rollback target, instances, traffic of every service; recent events; the API's address")
  .option("--env <environment>", "only this environment")
  .option("--json", "print JSON")
  .action(async (options: { env?: string; json?: boolean }, command: Command) => {
    const api = await connect(globals(command));
    const status = await api.get<ProjectStatus>(`/v1/status${query({ env: options.env })}`);
    out(options.json ? JSON.stringify({ ...status, api: api.address }, null, 2) : renderStatus(status, { api: api.address }));
  });

program
  .command("releases <service>")
  .description("the service's releases, newest first, with their state and why")
  .option("--env <environment>", "the environment (default: the first of the chain)")
  .option("--limit <n>", "how many", "20")
  .option("--json", "print JSON")
  .action(async (name: string, options: { env?: string; limit: string; json?: boolean }, command: Command) => {
    const api = await connect(globals(command));
    const { releases } = await api.get<{ releases: Release[] }>(`/v1/services/${service(name)}/releases${query({ env: options.env, limit: options.limit })}`);
    out(options.json ? JSON.stringify(releases, null, 2) : renderReleases(releases));
  });

program
  .command("logs <service>")
  .description("the last lines each running instance of the service printed")
  .option("--env <environment>", "only this environment (default: all)")
  .option("-n, --lines <n>", "lines per instance", "50")
  .option("--json", "print JSON")
  .action(async (name: string, options: { env?: string; lines: string; json?: boolean }, command: Command) => {
    const api = await connect(globals(command));
    const { instances } = await api.get<{ instances: InstanceLogs[] }>(`/v1/services/${service(name)}/logs${query({ env: options.env, lines: options.lines })}`);
    if (options.json) return json(instances);
    if (instances.length === 0) out(`${name} has no running instance`);
    for (const i of instances) {
      out(`==> ${i.instanceId} (${i.releaseId})`);
      for (const line of i.lines) out(line);
    }
  });

program
  .command("unlock")
  .description("take an environment's writer lock from its holder (a crashed holder's lease also expires by itself)")
  .option("--env <environment>", "the environment (default: the first of the chain)")
  .option("--force", "required: says you know the holder may still be working")
  .action(async (options: { env?: string; force?: boolean }, command: Command) => {
    const { unlock } = await import("./unlock.js");
    await unlock({ ...globals(command), ...options });
  });

program
  .command("plan")
  .description("what apply would change between engineroom.yaml and what runs (exit 0: none, 2: changes or bad input, 1: error)")
  .option("--out <file>", "save the plan, for `engineroom apply <file>`")
  .option("--refresh-only", "only look for drift: changes made outside the engine")
  .option("--json", "print JSON")
  .action(async (options: { out?: string; refreshOnly?: boolean; json?: boolean }, command: Command) => {
    const { plan } = await import("./plan.js");
    process.exitCode = await plan(await connect(globals(command)), options);
  });

program
  .command("apply [plan]")
  .description("apply a saved plan (refused if what runs changed since), or plan now and apply after confirmation")
  .option("--yes", "apply without asking")
  .option("--json", "print the result as JSON")
  .action(async (file: string | undefined, options: { yes?: boolean; json?: boolean }, command: Command) => {
    const { apply } = await import("./plan.js");
    await apply(await connect(globals(command)), file, options);
  });

program
  .command("schema")
  .description("print the JSON Schema of engineroom.yaml, for editors")
  .action(async () => json((await import("../config/index.js")).projectJsonSchema()));

/**
 * Command groups registered by their own module, which is imported only when the group is the one
 * run: otherwise a placeholder keeps the group in `engineroom --help`.
 */
const groups: Record<string, { description: string; register: () => Promise<void> }> = {
  secrets: {
    description: "set, list and remove secrets (values are read from standard input and never printed)",
    register: async () => (await import("./secrets.js")).registerSecretsCommands(program, globals),
  },
};

/** The command named on the command line (after global options), if any; `help <command>` names it too. */
function commandOf(argv: readonly string[]): string | undefined {
  const operands: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "-c" || arg === "--config") i++;
    else if (!arg.startsWith("-")) operands.push(arg);
    if (operands.length === 2 || (operands.length === 1 && operands[0] !== "help")) break;
  }
  return operands[0] === "help" ? operands[1] : operands[0];
}

/** Calls a streaming endpoint, printing progress unless --json, cancelled by Ctrl-C. */
async function streamed<T>(command: Command, operation: Operation, subject: string, method: "GET" | "POST", path: string, body: unknown, quiet: boolean | undefined): Promise<T> {
  const api: ApiClient = await connect(globals(command));
  const onProgress: (p: Progress) => void = quiet ? () => {} : progressPrinter();
  return interruptible((signal) => api.stream<T>(method, path, body, { operation, subject, onProgress, signal }));
}

function describeDeploy(name: string, result: DeployResult): string {
  const where = `${name} v${result.release.number} in ${result.release.environment}`;
  if (result.awaitingApproval) return `${yellow("awaiting approval")} ${where} is verified; switch it with: engineroom approve ${result.release.id}`;
  return `${green("live")} ${where} (${result.release.artifactDigest.slice(0, 19)}) in ${(result.totalMs / 1000).toFixed(1)}s; switch ${result.switchMs.toFixed(1)}ms; watching — rollback: engineroom rollback ${name} --env ${result.release.environment}`;
}

function query(params: Record<string, string | undefined>): string {
  const entries = Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined);
  return entries.length ? `?${new URLSearchParams(entries).toString()}` : "";
}

/** Runs a streaming call that Ctrl-C cancels (the engine then stops the new release before it gets traffic). */
async function interruptible<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = () => {
    process.stderr.write("\ninterrupted: the engine cancels the deploy if it has not switched yet; the live release keeps serving\n");
    controller.abort(new Error("interrupted"));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    return await work(controller.signal);
  } catch (error) {
    if (controller.signal.aborted) process.exit(exitCodes.interrupted);
    throw error;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

async function main(): Promise<void> {
  try {
    const named = commandOf(process.argv.slice(2));
    for (const [name, group] of Object.entries(groups)) {
      if (name === named) await group.register();
      else program.command(name).description(group.description);
    }
    await program.parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? 0 : exitCodes.badInput;
      return;
    }
    const engineError = toEngineError(error);
    process.stderr.write(renderError(engineError) + "\n");
    process.exitCode = exitCodeFor(engineError.code);
  }
}

await main();
