import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { redactor, toEngineError, type EngineError } from "../core/index.js";
import { authorize, type AuditInput, type Caller, type Operations, type Scope } from "../engine/index.js";
import type { Tool, ToolContext } from "./tool.js";
import { tools } from "./tools.js";

/** What the MCP server needs from the engine's access layer: the rate limit and the audit trail (engine.access, engine.audit). */
export interface McpGuard {
  /** Throws RATE_LIMITED over the caller's rate. */
  admit(caller: Caller): void;
  record(input: AuditInput): Promise<void>;
}

export interface McpServerOptions {
  ops: Operations;
  caller: Caller;
  guard: McpGuard;
  /** Shown to clients as the server's version. */
  version?: string;
}

/** Codes that mean a guardrail refused the call (audited as `refused`), as opposed to an operation that ran and failed. */
const refusals = new Set([
  "ACCESS_DENIED",
  "RATE_LIMITED",
  "APPROVAL_REQUIRED",
  "APPROVAL_SELF",
  "APPROVAL_STALE",
  "APPROVAL_EXPIRED",
  "APPROVAL_DENIED",
  "SLO_BUDGET_EXHAUSTED",
  "PROMOTE_NOT_STABLE",
  "PROMOTE_NO_ROLLBACK_TARGET",
  "PLAN_STALE",
  "PLAN_BLOCKED",
]);

/**
 * An MCP server for one caller (the token of one HTTP request, or of the stdio session): every tool
 * of ./tools.ts, and resources for the status and the recent events. Each call is admitted by the
 * rate limit, authorized against the scopes its arguments need BEFORE its operation runs, and
 * audited (allowed or refused, arguments redacted, a summary of the result). A refusal is a tool
 * error carrying the stable code and the hint; nothing asks the client to confirm.
 */
export function createMcpServer(options: McpServerOptions): McpServer {
  const { ops, caller, guard } = options;
  const server = new McpServer({ name: "engineroom", version: options.version ?? "1" }, { capabilities: { logging: {} } });
  for (const tool of tools) {
    server.registerTool(
      tool.name,
      { description: tool.description, inputSchema: tool.input, annotations: { ...tool.annotations, openWorldHint: false } },
      async (args: Record<string, unknown>, extra: { signal: AbortSignal }) => callTool(tool, args, { ops, caller, signal: extra.signal }, guard),
    );
  }
  const resource = (name: string, uri: string, description: string, read: () => Promise<unknown>) =>
    server.registerResource(name, uri, { description, mimeType: "application/json" }, async () => {
      const value = await guarded(caller, guard, `resource:${name}`, {}, () => ["read"], read);
      return { contents: [{ uri, mimeType: "application/json", text: JSON.stringify(value, null, 2) }] };
    });
  resource("status", "engineroom://status", "The project's environments, services, live releases and health, now.", () => ops.status());
  resource("events", "engineroom://events", "The latest 100 events of the event log, oldest first.", async () => ({ events: await ops.events({ limit: 100 }) }));
  return server;
}

async function callTool(tool: Tool, args: Record<string, unknown>, ctx: ToolContext, guard: McpGuard): Promise<CallToolResult> {
  try {
    const result = await guarded(ctx.caller, guard, tool.name, args, () => tool.scopes(args, ctx), () => tool.run(args, ctx));
    return { content: [{ type: "text", text: JSON.stringify(result ?? null, null, 2) }] };
  } catch (error) {
    const failure = toEngineError(error);
    return { isError: true, content: [{ type: "text", text: JSON.stringify(redactor.redactDeep({ error: failure.toJSON() }), null, 2) }] };
  }
}

/** Admits, authorizes (before anything runs), runs, and audits one call; answers redacted. */
async function guarded(caller: Caller, guard: McpGuard, action: string, args: Record<string, unknown>, scopes: () => Promise<Scope[]> | Scope[], run: () => Promise<unknown>): Promise<unknown> {
  const audit = (decision: "allowed" | "refused", details: { reason?: string; result?: unknown }) =>
    guard.record({ caller, via: "mcp", action, args: redactor.redactDeep(args), decision, ...details }).catch(() => {});
  let phase: "check" | "run" = "check";
  try {
    guard.admit(caller);
    for (const need of await scopes()) authorize(caller, need);
    phase = "run";
    const result = redactor.redactDeep(await run());
    await audit("allowed", { result: summarize(result) });
    return result;
  } catch (error) {
    const failure = toEngineError(error);
    const refused = phase === "check" || refusals.has(failure.code);
    await audit(refused ? "refused" : "allowed", { reason: reasonOf(failure), ...(refused ? {} : { result: { error: failure.code } }) });
    throw failure;
  }
}

function reasonOf(error: EngineError): string {
  return `${error.code}: ${error.message}`.slice(0, 500);
}

/** A few fields that say what a result was, never the whole of it: ids, states, counts. */
export function summarize(result: unknown): unknown {
  if (Array.isArray(result)) return { count: result.length };
  if (result === null || typeof result !== "object") return result ?? null;
  const summary: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(result)) {
    if (Array.isArray(value)) summary[key] = { count: value.length };
    else if (value && typeof value === "object") {
      const v = value as Record<string, unknown>;
      const picked = Object.fromEntries(["id", "state", "status", "number", "hash", "environment", "service"].filter((k) => typeof v[k] === "string" || typeof v[k] === "number").map((k) => [k, v[k]]));
      if (Object.keys(picked).length) summary[key] = picked;
    } else if (["id", "state", "status", "hash", "number", "awaitingApproval"].includes(key)) summary[key] = value;
  }
  return summary;
}
