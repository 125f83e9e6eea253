#!/usr/bin/env node
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { Command, CommanderError } from "commander";
import { projectJsonSchema, starterConfig } from "../config/index.js";
import { EngineError, toEngineError } from "../core/index.js";
import type { DeployResult, RollbackResult } from "../deploy/index.js";
import type { InstanceLogs, ProjectStatus } from "../engine/index.js";
import type { Release } from "../store/index.js";
import { client, type GlobalOptions } from "./context.js";
import { exitCodeFor, exitCodes } from "./exit-codes.js";
import { green, progressPrinter, renderError, renderReleases, renderStatus, yellow } from "./render.js";
import { starterApp } from "./starter-app.js";
import { registerSecretsCommands } from "./secrets.js";
import { registerPlanCommands } from "./plan.js";
import { registerUnlockCommand } from "./unlock.js";
import { up } from "./up.js";

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

program
  .command("init [dir]")
  .description("write a commented starter engineroom.yaml (and a tiny app to deploy) into a folder")
  .option("--force", "overwrite an existing engineroom.yaml")
  .action((dir: string | undefined, options: { force?: boolean }) => {
    const target = resolve(dir ?? ".");
    const file = join(target, "engineroom.yaml");
    if (existsSync(file) && !options.force) {
      throw new EngineError("CONFIG_INVALID", `${file} exists already; nothing was changed.`, { hint: "Pass --force to overwrite it." });
    }
    mkdirSync(target, { recursive: true });
    writeFileSync(file, starterConfig(projectName(basename(target))));
    const written = [file];
    if (!existsSync(join(target, "app"))) {
      mkdirSync(join(target, "app"));
      writeFileSync(join(target, "app", "server.js"), starterApp);
      written.push(join(target, "app", "server.js"));
    }
    out(`${green("wrote")} ${written.join(", ")}\nnext: cd ${dir ?? "."} && engineroom up --deploy`);
  });

program
  .command("up")
  .description("run the engine in the foreground: control loop, reverse proxy, local API (Ctrl-C stops it)")
  .option("--deploy", "deploy each service's declared artifact if it has no live release yet")
  .option("--json", "log as JSON lines")
  .action(async (options: { deploy?: boolean; json?: boolean }, command: Command) => {
    await up({ ...globals(command), ...options });
  });

program
  .command("deploy <service> [artifact]")
  .description("deploy a folder or .tgz (default: the service's declared artifact) into the first environment, with zero downtime")
  .option("--watch", "stay through the watch window: exit 0 when the release is stable, 1 with the evidence if it is rolled back")
  .option("--json", "print the result as JSON")
  .action(async (service: string, artifact: string | undefined, options: { watch?: boolean; json?: boolean }, command: Command) => {
    const body = { ...(artifact === undefined ? {} : { artifact: resolve(artifact) }), watch: options.watch === true };
    const result = await streamed<DeployResult>(command, `/v1/services/${encodeURIComponent(service)}/deploys`, body, options.json);
    if (options.json) return json(result);
    out(describeDeploy(service, result));
  });

program
  .command("promote <service>")
  .description("release the exact artifact that is live and stable in the environment before --to into --to")
  .option("--to <environment>", "the environment to promote into (default: the second of the chain)")
  .option("--initial", "the service's first release there: no rollback target is needed")
  .option("--skip-watch", "end the source release's watch window now (recorded) and promote it")
  .option("--json", "print the result as JSON")
  .action(async (service: string, options: { to?: string; initial?: boolean; skipWatch?: boolean; json?: boolean }, command: Command) => {
    const body = { to: options.to, initial: options.initial === true, skipWatch: options.skipWatch === true };
    const result = await streamed<DeployResult>(command, `/v1/services/${encodeURIComponent(service)}/promote`, body, options.json);
    if (options.json) return json(result);
    out(describeDeploy(service, result));
  });

program
  .command("watch <service>")
  .description("follow the analysis of the service's release in its watch window, verdict by verdict, until it is stable or rolled back")
  .option("--env <environment>", "the environment (default: the first of the chain)")
  .option("--json", "print the result as JSON")
  .action(async (service: string, options: { env?: string; json?: boolean }, command: Command) => {
    const path = `/v1/services/${encodeURIComponent(service)}/watch${query({ env: options.env })}`;
    const api = client(globals(command));
    const result = await interruptible((signal) => api.streamGet<{ release: Release }>(path, options.json ? () => {} : progressPrinter(), signal));
    if (options.json) return json(result);
    out(`${service} v${result.release.number} is ${result.release.state}: ${result.release.reason}`);
  });

program
  .command("abort <service>")
  .description("roll back the release in its watch window now (recorded as an abort)")
  .option("--env <environment>", "the environment (default: the first of the chain)")
  .option("--json", "print the result as JSON")
  .action(async (service: string, options: { env?: string; json?: boolean }, command: Command) => {
    const result = await streamed<RollbackResult>(command, `/v1/services/${encodeURIComponent(service)}/abort`, { env: options.env }, options.json);
    if (options.json) return json(result);
    out(`${green("aborted")} ${service} v${result.from.number} in ${result.to.environment}: traffic back on v${result.to.number}`);
  });

program
  .command("approve <release>")
  .description("approve a verified release that waits for approval (environments with require_approval), and switch to it")
  .option("--json", "print the result as JSON")
  .action(async (release: string, options: { json?: boolean }, command: Command) => {
    const result = await streamed<DeployResult>(command, `/v1/releases/${encodeURIComponent(release)}/approve`, {}, options.json);
    if (options.json) return json(result);
    out(describeDeploy(result.release.service, result));
  });

program
  .command("rollback <service>")
  .description("switch back to the previous release (instantly when it is still warm)")
  .option("--env <environment>", "the environment (required when the chain has more than one)")
  .option("--json", "print the result as JSON")
  .action(async (service: string, options: { env?: string; json?: boolean }, command: Command) => {
    const result = await streamed<RollbackResult>(command, `/v1/services/${encodeURIComponent(service)}/rollback`, { env: options.env }, options.json);
    if (options.json) return json(result);
    out(`${green("rolled back")} ${service} in ${result.to.environment}: v${result.from.number} → v${result.to.number} (${result.warm ? "warm" : "cold start"}), switch ${result.switchMs.toFixed(1)}ms`);
  });

program
  .command("status")
  .description("per environment: live release, rollback target, instances, traffic of every service; recent events")
  .option("--env <environment>", "only this environment")
  .option("--json", "print JSON")
  .action(async (options: { env?: string; json?: boolean }, command: Command) => {
    const status = await client(globals(command)).get<ProjectStatus>(`/v1/status${query({ env: options.env })}`);
    out(options.json ? JSON.stringify(status, null, 2) : renderStatus(status));
  });

program
  .command("releases <service>")
  .description("the service's releases, newest first, with their state and why")
  .option("--env <environment>", "the environment (default: the first of the chain)")
  .option("--limit <n>", "how many", "20")
  .option("--json", "print JSON")
  .action(async (service: string, options: { env?: string; limit: string; json?: boolean }, command: Command) => {
    const { releases } = await client(globals(command)).get<{ releases: Release[] }>(
      `/v1/services/${encodeURIComponent(service)}/releases${query({ env: options.env, limit: options.limit })}`,
    );
    out(options.json ? JSON.stringify(releases, null, 2) : renderReleases(releases));
  });

program
  .command("logs <service>")
  .description("the last lines each running instance of the service printed")
  .option("--env <environment>", "only this environment (default: all)")
  .option("-n, --lines <n>", "lines per instance", "50")
  .option("--json", "print JSON")
  .action(async (service: string, options: { env?: string; lines: string; json?: boolean }, command: Command) => {
    const { instances } = await client(globals(command)).get<{ instances: InstanceLogs[] }>(
      `/v1/services/${encodeURIComponent(service)}/logs${query({ env: options.env, lines: options.lines })}`,
    );
    if (options.json) return json(instances);
    if (instances.length === 0) out(`${service} has no running instance`);
    for (const i of instances) {
      out(`==> ${i.instanceId} (${i.releaseId})`);
      for (const line of i.lines) out(line);
    }
  });

registerSecretsCommands(program, globals);
registerUnlockCommand(program, globals);
registerPlanCommands(program, globals);

program
  .command("schema")
  .description("print the JSON Schema of engineroom.yaml, for editors")
  .action(() => json(projectJsonSchema()));

/** Calls a streaming endpoint, printing progress unless --json, cancelled by Ctrl-C. */
function streamed<T>(command: Command, path: string, body: unknown, quiet: boolean | undefined): Promise<T> {
  const api = client(globals(command));
  return interruptible((signal) => api.stream<T>(path, body, quiet ? () => {} : progressPrinter(), signal));
}

function describeDeploy(service: string, result: DeployResult): string {
  const where = `${service} v${result.release.number} in ${result.release.environment}`;
  if (result.awaitingApproval) return `${yellow("awaiting approval")} ${where} is verified; switch it with: engineroom approve ${result.release.id}`;
  return `${green("live")} ${where} (${result.release.artifactDigest.slice(0, 19)}) in ${(result.totalMs / 1000).toFixed(1)}s; switch ${result.switchMs.toFixed(1)}ms; watching — rollback: engineroom rollback ${service} --env ${result.release.environment}`;
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

function projectName(folder: string): string {
  const name = folder.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^[^a-z]+/, "").slice(0, 63);
  return name || "my-project";
}

async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? 0 : exitCodes.badInput;
      return;
    }
    const engineError = toEngineError(error);
    process.stderr.write(renderError(engineError) + "\n");
    // `plan` keeps Terraform's detailed exit codes: 2 means changes, so any error is 1.
    process.exitCode = process.argv.includes("plan") ? exitCodes.failed : exitCodeFor(engineError.code);
  }
}

await main();
