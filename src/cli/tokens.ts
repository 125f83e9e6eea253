import type { Command } from "commander";
import { EngineError, parseDuration } from "../core/index.js";
import type { AuditEntry, TokenRecord } from "../engine/index.js";
import { connect, type GlobalOptions } from "./connect.js";
import { wantsJson } from "./group-support.js";
import { bold, dim, green, out, red, table, yellow } from "./render.js";

const iso = (ms: number | null) => (ms === null ? "-" : new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z"));

/**
 * `engineroom tokens create --name <n> --scope <s>... [--expires 30d]` (prints the secret once),
 * `tokens list [--json]`, `tokens revoke <name|id>`. Through the running engine's API, with the
 * admin token (or $ENGINEROOM_TOKEN, which then needs scope admin).
 */
export function registerTokenCommands(program: Command, globals: (command: Command) => GlobalOptions): void {
  const list = async (options: { json?: boolean }, command: Command) => {
    const api = await connect(globals(command));
    const { tokens } = await api.get<{ tokens: TokenRecord[] }>("/v1/tokens");
    out(wantsJson(options, command) ? JSON.stringify({ tokens }, null, 2) : renderTokens(tokens));
  };
  const tokens = program.command("tokens").description("scoped API tokens: create, list, revoke").option("--json", "print JSON").action(list);
  tokens.command("list").description("every token: name, scopes, created, expires, last used (never a secret)").option("--json", "print JSON").action(list);

  tokens
    .command("create")
    .description("create a token; its secret is printed this once (store it, e.g. as a CI secret)")
    .requiredOption("--name <name>", "what the token is for, e.g. ci-bot")
    .requiredOption("--scope <scope...>", "read, approve, admin, deploy:<env>, promote:<env>, rollback:<env>, apply:<env> (<env> may be *); several allowed")
    .option("--expires <duration>", "expire after this long, e.g. 30d (default: never)")
    .option("--json", "print JSON")
    .action(async (options: { name: string; scope: string[]; expires?: string; json?: boolean }, command: Command) => {
      if (options.expires !== undefined && !((parseDuration(options.expires) ?? 0) > 0)) {
        throw new EngineError("TOKEN_INVALID", `--expires "${options.expires}" is not a duration such as 30d or 12h.`);
      }
      const api = await connect(globals(command));
      const scopes = options.scope.flatMap((s) => s.split(",")).filter((s) => s.trim());
      const created = await api.post<{ token: string; record: TokenRecord }>("/v1/tokens", { name: options.name, scopes, ...(options.expires && { expires: options.expires }) });
      if (wantsJson(options, command)) return out(JSON.stringify(created, null, 2));
      const { record } = created;
      out(`${green("created")} token ${bold(record.name)} (${record.id}) with ${record.scopes.join(", ")}${record.expiresAt ? `, expires ${iso(record.expiresAt)}` : ", no expiry"}`);
      out(created.token);
      out(dim("This secret is shown once and cannot be read back. Use it as ENGINEROOM_TOKEN, or as `Authorization: Bearer <token>`."));
    });

  tokens
    .command("revoke <token>")
    .description("revoke a token by name or id: it stops working at once")
    .option("--json", "print JSON")
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const api = await connect(globals(command));
      const { token } = await api.delete<{ token: TokenRecord }>(`/v1/tokens/${encodeURIComponent(name)}`);
      out(wantsJson(options, command) ? JSON.stringify({ token }, null, 2) : `${red("revoked")} token ${bold(token.name)} (${token.id}) at ${iso(token.revokedAt)}`);
    });
}

export function renderTokens(tokens: readonly TokenRecord[]): string {
  if (tokens.length === 0) return dim("No tokens. Create one with: engineroom tokens create --name <name> --scope <scope>");
  return table(
    ["NAME", "ID", "SCOPES", "CREATED", "EXPIRES", "LAST USED", "STATE"],
    tokens.map((t) => [t.name, t.id, t.scopes.join(","), iso(t.createdAt), iso(t.expiresAt), iso(t.lastUsedAt), t.revokedAt !== null ? red("revoked") : t.expiresAt !== null && t.expiresAt <= Date.now() ? yellow("expired") : green("active")]),
  );
}

/** `engineroom audit [--since 24h] [--token <name|id>] [--limit N] [--json]`: audited calls, oldest first. */
export function registerAuditCommand(program: Command, globals: (command: Command) => GlobalOptions): void {
  program
    .command("audit")
    .description("audited calls (API, MCP, dashboard): who, what, arguments (secrets redacted), allowed or refused and why")
    .option("--since <when>", "a duration back from now (24h, 7d) or an ISO time")
    .option("--token <token>", "only this token's calls (name or id)")
    .option("--limit <n>", "the newest this many", "100")
    .option("--json", "print JSON")
    .action(async (options: { since?: string; token?: string; limit: string; json?: boolean }, command: Command) => {
      const api = await connect(globals(command));
      const query = new URLSearchParams({ limit: options.limit, ...(options.since && { since: options.since }), ...(options.token && { token: options.token }) });
      const { entries } = await api.get<{ entries: AuditEntry[] }>(`/v1/audit?${query}`);
      out(wantsJson(options, command) ? JSON.stringify({ entries }, null, 2) : renderAudit(entries));
    });
}

export function renderAudit(entries: readonly AuditEntry[]): string {
  if (entries.length === 0) return dim("No audited calls in that period.");
  return table(
    ["TIME", "CALLER", "VIA", "ACTION", "DECISION", "DETAIL"],
    entries.map((e) => [iso(e.time), e.caller, e.via, e.action, e.decision === "allowed" ? green("allowed") : red("refused"), e.reason ?? summary(e)]),
  );
}

function summary(entry: AuditEntry): string {
  const args = JSON.stringify(entry.args);
  const result = entry.result === null ? "" : ` → ${JSON.stringify(entry.result)}`;
  const text = (args === "{}" ? "" : args) + result;
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}
