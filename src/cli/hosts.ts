import type { Command } from "commander";
import type { HostBootstrap, HostCheck } from "../hosts/index.js";
import { connect, type GlobalOptions } from "./connect.js";
import { wantsJson } from "./group-support.js";
import { green, out, red, table, yellow } from "./render.js";

/**
 * `engineroom hosts check [--env] [--json]`: every ssh host checked now (exit 1 when one is not
 * ready); `hosts bootstrap [--env] [--json]`: prepares them (state folder, code, daemon), idempotent
 * (exit 1 when one failed).
 */
export function registerHostsCommands(program: Command, globals: (command: Command) => GlobalOptions): void {
  const hosts = program
    .command("hosts")
    .description("the ssh hosts of environments with runtime: ssh: check, bootstrap")
    .option("--json", "print JSON");

  hosts
    .command("check")
    .description("per host: ssh and the pinned host key, Node.js, the state folder, the daemon, load and free disk (exit 1 when one is not ready)")
    .option("--env <environment>", "only this environment's hosts")
    .option("--json", "print JSON")
    .action(async (options: { env?: string; json?: boolean }, command: Command) => {
      const api = await connect(globals(command));
      const { hosts: checks } = await api.get<{ hosts: HostCheck[] }>(`/v1/hosts${options.env ? `?env=${encodeURIComponent(options.env)}` : ""}`);
      out(wantsJson(options, command) ? JSON.stringify({ hosts: checks }, null, 2) : renderChecks(checks));
      if (checks.some((c) => !c.ready)) process.exitCode = 1;
    });

  hosts
    .command("bootstrap")
    .description("prepare every host: state folder, the engine's code (shipped by digest when the host lacks it), the data-plane daemon; idempotent (exit 1 when one failed)")
    .option("--env <environment>", "only this environment's hosts")
    .option("--json", "print JSON")
    .action(async (options: { env?: string; json?: boolean }, command: Command) => {
      const api = await connect(globals(command));
      const { hosts: results } = await api.post<{ hosts: HostBootstrap[] }>("/v1/hosts/bootstrap", options.env ? { env: options.env } : {});
      out(wantsJson(options, command) ? JSON.stringify({ hosts: results }, null, 2) : renderBootstraps(results));
      if (results.some((r) => !r.ok)) process.exitCode = 1;
    });
}

export function renderChecks(checks: HostCheck[]): string {
  if (checks.length === 0) return "no ssh hosts (declare runtime: ssh and hosts: under an environment)";
  const rows = checks.map((c) => [
    c.environment,
    c.host,
    c.address,
    c.ready ? green("ready") : c.reachable ? yellow("not ready") : red(c.hostKey === "refused" ? "key refused" : "unreachable"),
    c.node ?? "-",
    c.daemonRunning ? "running" : "-",
    c.load ? c.load.map((l) => l.toFixed(2)).join(" ") : "-",
    c.freeDiskBytes === null ? "-" : `${(c.freeDiskBytes / 2 ** 30).toFixed(1)} GiB`,
  ]);
  const problems = checks.flatMap((c) => c.problems.map((p) => `  ${c.host}: ${p}${c.error ? `\n    hint: ${c.error.hint}` : ""}`));
  return [table(["env", "host", "address", "state", "node", "daemon", "load", "free disk"], rows), ...problems].join("\n");
}

export function renderBootstraps(results: HostBootstrap[]): string {
  if (results.length === 0) return "no ssh hosts (declare runtime: ssh and hosts: under an environment)";
  const rows = results.map((r) => [r.environment, r.host, r.address, r.ok ? green("ready") : red("failed"), r.code ?? "-", r.daemon ?? "-"]);
  const problems = results.filter((r) => !r.ok).map((r) => `  ${r.host}: ${r.error?.message ?? r.check.problems.join("; ")}${r.error ? `\n    hint: ${r.error.hint}` : ""}`);
  return [table(["env", "host", "address", "state", "code", "daemon"], rows), ...problems].join("\n");
}
