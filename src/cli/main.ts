#!/usr/bin/env node
import { resolve } from "node:path";
import type { Command } from "commander";
import { toEngineError } from "../core/index.js";
import type { DeployResult, Progress, RollbackResult } from "../deploy/index.js";
import type { Followed, InstanceLogs, ProjectStatus } from "../engine/index.js";
import type { Release } from "../store/index.js";
import { connect, type GlobalOptions } from "./connect.js";
import type { Operation } from "./cut-off.js";
import { exitCodeFor, exitCodes } from "./exit-codes.js";
import { green, out, progressPrinter, renderError, renderReleases, renderStatus, yellow } from "./render.js";
import { firstOperand, globalOption, loadCommander, quickParse, registerAll, type CommandSpec } from "./table.js";

// Only what every command needs is imported above (the error catalogue, node:http via ./connect.js):
// commands that talk to a running engine must start in milliseconds. A well-formed command line is
// parsed with node:util; commander (help, errors, the secrets group) and everything heavy (the
// engine, the config parser, the store) are loaded only by what needs them.

type Options = Record<string, string | boolean | undefined>;
const json = (value: unknown): void => out(JSON.stringify(value, null, 2));
const service = (name: string | undefined) => encodeURIComponent(name!);
const jsonOption = { flags: "--json", description: "print the result as JSON" };
const printJson = { flags: "--json", description: "print JSON" };
const env = (what = "the environment (default: the first of the chain)") => ({ flags: "--env <environment>", description: what });

const commands: CommandSpec[] = [
  {
    name: "init",
    args: ["[dir]"],
    description: "write a commented starter engineroom.yaml (and a tiny app to deploy) into a folder",
    options: [{ flags: "--force", description: "overwrite an existing engineroom.yaml" }],
    run: async ([dir], options) => out((await import("./init.js")).init(dir, { force: options.force === true })),
  },
  {
    name: "up",
    args: [],
    description: "run the engine in the foreground: control loop, reverse proxy, local API (Ctrl-C stops it)",
    options: [
      { flags: "--deploy", description: "deploy each service's declared artifact if it has no live release yet" },
      { flags: "--json", description: "log as JSON lines" },
    ],
    run: async (_, options, globals) => (await import("./up.js")).up({ ...globals, deploy: options.deploy === true, json: options.json === true }),
  },
  {
    name: "down",
    args: [],
    description: "stop the data plane (proxies and instances) and the engine",
    options: [jsonOption],
    run: async (_, options, globals) => {
      process.exitCode = await (await import("./down.js")).down({ ...globals, json: options.json === true });
    },
  },
  {
    name: "deploy",
    args: ["<service>", "[artifact]"],
    description: "deploy a folder or .tgz (default: the service's declared artifact) into the first environment, with zero downtime",
    options: [
      env("the environment (only the first of the chain takes deploys; later ones get releases by promote)"),
      { flags: "--watch", description: "stay through the watch window: exit 0 when the release is stable, 1 with the evidence if it is rolled back" },
      { flags: "--artifact <digest>", description: "deploy a stored artifact by its digest (sha256:…, e.g. one uploaded from CI by `engineroom ci upload`)" },
      jsonOption,
    ],
    run: async ([name, path], options, globals) => {
      const artifact = typeof options.artifact === "string" ? options.artifact : path;
      const named = artifact === undefined ? {} : { artifact: /^sha256:/.test(artifact) ? artifact : resolve(artifact) };
      const body = { ...named, env: options.env, watch: options.watch === true };
      if (!options.json) {
        const learned = await (await import("./postmortems.js")).learnedBefore(await connect(globals), [name!]);
        if (learned) out(learned);
      }
      const result = await streamed<DeployResult>(globals, options, "deploy", name!, "POST", `/v1/services/${service(name)}/deploys`, body);
      options.json ? json(result) : out(describeDeploy(name!, result));
    },
  },
  {
    name: "promote",
    args: ["<service>"],
    description: "release the exact artifact that is live and stable in the environment before --to into --to",
    options: [
      { flags: "--to <environment>", description: "the environment to promote into (default: the second of the chain)" },
      { flags: "--initial", description: "the service's first release there: no rollback target is needed" },
      { flags: "--skip-watch", description: "end the source release's watch window now (recorded) and promote it" },
      { flags: "--override-budget <reason>", description: "promote although the service's error budget there is spent (recorded with the reason)" },
      jsonOption,
    ],
    run: async ([name], options, globals) => {
      const body = { to: options.to, initial: options.initial === true, skipWatch: options.skipWatch === true, overrideBudget: options.overrideBudget };
      const result = await streamed<DeployResult>(globals, options, "promote", name!, "POST", `/v1/services/${service(name)}/promote`, body);
      options.json ? json(result) : out(describeDeploy(name!, result));
    },
  },
  {
    name: "watch",
    args: ["<service>"],
    description: "follow the analysis of the service's release in its watch window, verdict by verdict, until it is stable or rolled back",
    options: [env(), jsonOption],
    run: async ([name], options, globals) => {
      const path = `/v1/services/${service(name)}/watch${query({ env: options.env })}`;
      const result = await streamed<Followed>(globals, options, "watch", name!, "GET", path, undefined);
      options.json ? json(result) : out(`${name} v${result.release.number} is ${result.release.state}: ${result.release.reason}`);
    },
  },
  {
    name: "abort",
    args: ["<service>"],
    description: "roll back the release in its watch window now (recorded as an abort)",
    options: [env(), jsonOption],
    run: async ([name], options, globals) => {
      const result = await streamed<RollbackResult>(globals, options, "abort", name!, "POST", `/v1/services/${service(name)}/abort`, { env: options.env });
      options.json ? json(result) : out(`${green("aborted")} ${name} v${result.from.number} in ${result.to.environment}: traffic back on v${result.to.number}`);
    },
  },
  {
    name: "mcp",
    args: [],
    description: "the MCP server for agents over stdio, relayed to the running engine (token: ENGINEROOM_TOKEN, else --token-file; neither: read-only)",
    options: [
      { flags: "--token-file <file>", description: "read the token from this file (e.g. <state_dir>/api-token for admin rights)" },
      { flags: "--read-only", description: "narrow the token to the read scope" },
    ],
    run: async (_, options, globals) => (await import("./mcp.js")).mcp(globals, { tokenFile: options.tokenFile as string | undefined, readOnly: options.readOnly === true }),
  },
  {
    name: "approve",
    args: ["<release>"],
    description: "approve a verified release that waits for approval (environments with require_approval), and switch to it",
    options: [jsonOption],
    run: async ([release], options, globals) => {
      const result = await streamed<DeployResult>(globals, options, "approve", release!, "POST", `/v1/releases/${service(release)}/approve`, {});
      options.json ? json(result) : out(describeDeploy(result.release.service, result));
    },
  },
  {
    name: "rollback",
    args: ["<service>"],
    description: "switch back to the previous release (instantly when it is still warm)",
    options: [env("the environment (required when the chain has more than one)"), jsonOption],
    run: async ([name], options, globals) => {
      const result = await streamed<RollbackResult>(globals, options, "rollback", name!, "POST", `/v1/services/${service(name)}/rollback`, { env: options.env });
      if (options.json) return json(result);
      out(`${green("rolled back")} ${name} in ${result.to.environment}: v${result.from.number} → v${result.to.number} (${result.warm ? "warm" : "cold start"}), switch ${result.switchMs.toFixed(1)}ms`);
    },
  },
  {
    name: "status",
    args: [],
    description: "per environment: live release, rollback target, instances, traffic of every service; recent events; the API's address",
    options: [env("only this environment"), printJson],
    run: async (_, options, globals) => {
      const api = await connect(globals);
      const status = await api.get<ProjectStatus>(`/v1/status${query({ env: options.env })}`);
      out(options.json ? JSON.stringify({ ...status, api: api.address }, null, 2) : renderStatus(status, { api: `${api.scheme}://${api.address}` }));
    },
  },
  {
    name: "releases",
    args: ["<service>"],
    description: "the service's releases, newest first, with their state and why",
    options: [env(), { flags: "--limit <n>", description: "how many", default: "20" }, printJson],
    run: async ([name], options, globals) => {
      const api = await connect(globals);
      const { releases } = await api.get<{ releases: Release[] }>(`/v1/services/${service(name)}/releases${query({ env: options.env, limit: options.limit })}`);
      out(options.json ? JSON.stringify(releases, null, 2) : renderReleases(releases));
    },
  },
  {
    name: "logs",
    args: ["<service>"],
    description: "the last lines each running instance of the service printed",
    options: [env("only this environment (default: all)"), { flags: "-n, --lines <n>", description: "lines per instance", default: "50" }, printJson],
    run: async ([name], options, globals) => {
      const api = await connect(globals);
      const { instances } = await api.get<{ instances: InstanceLogs[] }>(`/v1/services/${service(name)}/logs${query({ env: options.env, lines: options.lines })}`);
      if (options.json) return json(instances);
      if (instances.length === 0) out(`${name} has no running instance`);
      for (const i of instances) {
        out(`==> ${i.instanceId} (${i.releaseId})`);
        for (const line of i.lines) out(line);
      }
    },
  },
  {
    name: "unlock",
    args: [],
    description: "take an environment's writer lock from its holder (a crashed holder's lease also expires by itself)",
    options: [env(), { flags: "--force", description: "required: says you know the holder may still be working" }],
    run: async (_, options, globals) => (await import("./unlock.js")).unlock({ ...globals, env: options.env as string | undefined, force: options.force === true }),
  },
  {
    name: "plan",
    args: [],
    description: "what apply would change between engineroom.yaml and what runs (exit 0: none, 2: changes or bad input, 1: error)",
    options: [
      { flags: "--out <file>", description: "save the plan, for `engineroom apply <file>`" },
      { flags: "--refresh-only", description: "only look for drift: changes made outside the engine" },
      printJson,
    ],
    run: async (_, options, globals) => {
      const { plan } = await import("./plan.js");
      process.exitCode = await plan(await connect(globals), { out: options.out as string | undefined, refreshOnly: options.refreshOnly === true, json: options.json === true });
    },
  },
  {
    name: "apply",
    args: ["[plan]"],
    description: "apply a saved plan (refused if what runs changed since), or plan now and apply after confirmation",
    options: [
      { flags: "--yes", description: "apply without asking" },
      { flags: "--override-budget <reason>", description: "make the plan's promotions although a service's error budget there is spent (recorded with the reason)" },
      { flags: "--approve-cost", description: "apply although the plan raises the monthly cost over cost.budget.max_monthly_increase (recorded)" },
      jsonOption,
    ],
    run: async ([file], options, globals) =>
      (await import("./plan.js")).apply(await connect(globals), file, { yes: options.yes === true, json: options.json === true, overrideBudget: options.overrideBudget as string | undefined, approveCost: options.approveCost === true }),
  },
  {
    name: "schema",
    args: [],
    description: "print the JSON Schema of engineroom.yaml, for editors",
    options: [],
    // The engine's face, not config's: the monitoring, runtime and secrets sections' schemas live above config/.
    run: async () => json((await import("../engine/index.js")).projectJsonSchema()),
  },
];

/**
 * Command groups that register themselves on commander, imported only when the group is the one
 * run; otherwise a placeholder keeps the group in `engineroom --help`.
 */
const groups: Record<string, { description: string; register: (program: Command) => Promise<void> }> = {
  slo: {
    description: "per SLO and environment: attained, error budget left, burn rates, time to exhaustion, alert state (--json)",
    register: async (program) => (await import("./slo.js")).registerSloCommands(program, (command) => command.optsWithGlobals() as GlobalOptions),
  },
  checks: {
    description: "every check's state, last result, uptime (24h/7d/30d) and latency (--json); `checks history <name>`",
    register: async (program) => (await import("./checks.js")).registerCheckCommands(program, (command) => command.optsWithGlobals() as GlobalOptions),
  },
  alerts: {
    description: "firing alerts; ack, silence, outcome, noise, deliveries",
    register: async (program) => (await import("./alerts.js")).registerAlertsCommands(program, (command) => command.optsWithGlobals() as GlobalOptions),
  },
  incidents: {
    description: "open incidents (--all: recent ones); show, open, ack, update, resolve, close",
    register: async (program) => (await import("./incidents.js")).registerIncidentCommands(program, (command) => command.optsWithGlobals() as GlobalOptions),
  },
  runbook: {
    description: "runbooks: list, run <name> [--service] [--env] [--dry-run] [--incident], show <run-id>, approve <run-id>, deny <run-id>",
    register: async (program) => (await import("./runbook.js")).registerRunbookCommands(program, (command) => command.optsWithGlobals() as GlobalOptions),
  },
  approvals: {
    description: "approval requests waiting for a person (changes to production asked for by tokens without admin); grant, deny",
    register: async (program) => (await import("./approvals.js")).registerApprovalCommands(program, (command) => command.optsWithGlobals() as GlobalOptions),
  },
  drill: {
    description: "drills: list (last result, timings, next run), run <name> (exit 1 when it fails its pass rule)",
    register: async (program) => (await import("./drill.js")).registerDrillCommands(program, (command) => command.optsWithGlobals() as GlobalOptions),
  },
  postmortem: {
    description: "an incident's post-mortem: postmortem <incident> [--regenerate] [--json]",
    register: async (program) => (await import("./postmortems.js")).registerPostmortemCommand(program, (command) => command.optsWithGlobals() as GlobalOptions),
  },
  actions: {
    description: "post-mortems' action items: list (--open), add <incident> --type --owner --due \"text\", close <id>",
    register: async (program) => (await import("./postmortems.js")).registerActionCommands(program, (command) => command.optsWithGlobals() as GlobalOptions),
  },
  learnings: {
    description: "the learning log (date | learning | source; --service, --json); learnings add --service <service> \"text\"",
    register: async (program) => (await import("./postmortems.js")).registerLearningCommands(program, (command) => command.optsWithGlobals() as GlobalOptions),
  },
  hosts: {
    description: "the ssh hosts of environments with runtime: ssh: check (--json; exit 1 when one is not ready), bootstrap (state folder, code, daemon; idempotent)",
    register: async (program) => (await import("./hosts.js")).registerHostsCommands(program, (command) => command.optsWithGlobals() as GlobalOptions),
  },
  channels: {
    description: "the notification channels (--json); `channels test <name>` sends a test notice to one",
    register: async (program) => (await import("./channels.js")).registerChannelsCommands(program, (command) => command.optsWithGlobals() as GlobalOptions),
  },
  report: {
    description: "the scorecard: uptime, deployment success, time to recovery, alert noise, cost, DORA's keys (--since 30d, --env, --json, --html)",
    register: async (program) => (await import("./report.js")).registerReportCommands(program, (command) => command.optsWithGlobals() as GlobalOptions),
  },
  ci: {
    description: "builds from CI: keygen (a signing key pair), upload (sign and send a build with its provenance), plan (test shards from JUnit timings), github (write a workflow)",
    register: async (program) => (await import("./ci.js")).registerCiCommands(program, (command) => command.optsWithGlobals() as GlobalOptions),
  },
  tokens: {
    description: "scoped API tokens: create --name --scope… [--expires 30d] (prints the secret once), list, revoke <name|id>",
    register: async (program) => (await import("./tokens.js")).registerTokenCommands(program, (command) => command.optsWithGlobals() as GlobalOptions),
  },
  audit: {
    description: "audited calls: who, what, arguments (secrets redacted), allowed or refused and why (--since, --token, --json)",
    register: async (program) => (await import("./tokens.js")).registerAuditCommand(program, (command) => command.optsWithGlobals() as GlobalOptions),
  },
  secrets: {
    description: "set, list and remove secrets (values are read from standard input and never printed)",
    register: async (program) => (await import("./secrets.js")).registerSecretsCommands(program, (command) => command.optsWithGlobals() as GlobalOptions),
  },
};

/** Calls a streaming endpoint, printing progress unless --json, cancelled by Ctrl-C. */
async function streamed<T>(globals: GlobalOptions, options: Options, operation: Operation, subject: string, method: "GET" | "POST", path: string, body: unknown): Promise<T> {
  const api = await connect(globals);
  const onProgress: (p: Progress) => void = options.json ? () => {} : progressPrinter();
  return interruptible((signal) => api.stream<T>(method, path, body, { operation, subject, onProgress, signal }));
}

function describeDeploy(name: string, result: DeployResult): string {
  const where = `${name} v${result.release.number} in ${result.release.environment}`;
  if (result.awaitingApproval) return `${yellow("awaiting approval")} ${where} is verified; switch it with: engineroom approve ${result.release.id}`;
  return `${green("live")} ${where} (${result.release.artifactDigest.slice(0, 19)}) in ${(result.totalMs / 1000).toFixed(1)}s; switch ${result.switchMs.toFixed(1)}ms; watching — rollback: engineroom rollback ${name} --env ${result.release.environment}`;
}

function query(params: Record<string, string | boolean | undefined>): string {
  const entries = Object.entries(params).filter((e): e is [string, string] => typeof e[1] === "string");
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

/** The whole program on commander: for help, for command lines the quick parse leaves alone, and for groups. */
async function withCommander(argv: string[]): Promise<void> {
  const { Command, CommanderError } = loadCommander();
  const program = new Command("engineroom")
    .description("Zero-downtime deploys, instant rollback and watched releases from one engineroom.yaml.")
    .option(globalOption.flags, globalOption.description)
    .showHelpAfterError()
    .exitOverride();
  registerAll(program, commands);
  const argvCommand = firstOperand(argv.slice(2));
  const named = argvCommand === "help" ? firstOperand(argv.slice(argv.indexOf("help") + 1)) : argvCommand;
  for (const [name, group] of Object.entries(groups)) {
    if (name === named) await group.register(program);
    else program.command(name).description(group.description);
  }
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    process.exitCode = error.exitCode === 0 ? 0 : exitCodes.badInput;
  }
}

async function main(): Promise<void> {
  try {
    const quick = quickParse(process.argv.slice(2), commands);
    if (quick) await quick.spec.run(quick.args, quick.options, quick.globals);
    else await withCommander(process.argv);
  } catch (error) {
    const engineError = toEngineError(error);
    process.stderr.write(renderError(engineError) + "\n");
    process.exitCode = exitCodeFor(engineError.code);
  }
}

await main();
