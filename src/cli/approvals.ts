import type { Command } from "commander";
import type { ApprovalRequest } from "../engine/index.js";
import { connect, type GlobalOptions } from "./connect.js";
import { wantsJson } from "./group-support.js";
import { dim, green, out, red, table, yellow } from "./render.js";

type Json = { json?: boolean };

/**
 * `engineroom approvals`: the requests that wait for a person (`--all`: decided and expired ones
 * too); `grant <id>`, `deny <id> [--reason]`. Through the running engine's API, with the caller's
 * token: granting needs the approve scope, and never the token that asked.
 */
export function registerApprovalCommands(program: Command, globals: (command: Command) => GlobalOptions): void {
  const list = async (options: Json & { all?: boolean }, command: Command) => {
    const api = await connect(globals(command));
    const { approvals } = await api.get<{ approvals: ApprovalRequest[] }>(`/v1/approvals${options.all ? "?all=true" : ""}`);
    out(wantsJson(options, command) ? JSON.stringify({ approvals }, null, 2) : renderApprovals(approvals));
  };
  const group = program
    .command("approvals")
    .description("approval requests waiting for a person (--all: every recent one); grant, deny")
    .option("--json", "print JSON")
    .option("--all", "decided and expired requests too")
    .action(list);
  group.command("list").description("approval requests waiting for a person").option("--all", "decided and expired requests too").option("--json", "print JSON").action(list);
  group
    .command("grant <id>")
    .description("grant a request (apr_…: the requester's next try of that very change goes ahead; rel_…: the waiting release is switched to now)")
    .option("--json", "print JSON")
    .action(async (id: string, options: Json, command: Command) => {
      const api = await connect(globals(command));
      const result = await api.post<{ approval: ApprovalRequest }>(`/v1/approvals/${encodeURIComponent(id)}/grant`, {});
      out(wantsJson(options, command) ? JSON.stringify(result, null, 2) : `${green("granted")} ${result.approval.id}: ${result.approval.summary} (asked by ${result.approval.requestedBy.name})`);
    });
  group
    .command("deny <id>")
    .description("deny a request, with a reason")
    .option("--reason <text>", "why")
    .option("--json", "print JSON")
    .action(async (id: string, options: Json & { reason?: string }, command: Command) => {
      const api = await connect(globals(command));
      const approval = await api.post<ApprovalRequest>(`/v1/approvals/${encodeURIComponent(id)}/deny`, { reason: options.reason });
      out(wantsJson(options, command) ? JSON.stringify(approval, null, 2) : `${red("denied")} ${approval.id}: ${approval.summary}`);
    });
}

export function renderApprovals(approvals: readonly ApprovalRequest[]): string {
  if (approvals.length === 0) return dim("No approval request waits.");
  const when = (ms: number) => (ms >= Number.MAX_SAFE_INTEGER ? "-" : new Date(ms).toISOString().slice(0, 16).replace("T", " "));
  return table(
    ["id", "status", "change", "asked by", "scope", "bound to", "expires"],
    approvals.map((a) => [a.id, a.status === "pending" ? yellow(a.status) : a.status, a.summary, a.requestedBy.name, a.scope, a.hash.slice(0, 19), when(a.expiresAt)]),
  );
}
