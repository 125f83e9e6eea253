import { z } from "zod";
import { EngineError, parseDuration } from "../core/index.js";
import { scopeFor, type Scope } from "../engine/index.js";
import { parsePlan, type Plan } from "../plan/index.js";
import { responseTools } from "./response-tools.js";
import { changes, read, readTool, records, type Tool, type ToolContext } from "./tool.js";
import { incidentSeverities, incidentStates, type IncidentSeverity, type IncidentState } from "../store/index.js";

const env = z.string().max(63).optional().describe("the environment (default: as the CLI's --env)");
const service = z.string().min(1).max(63).describe("a service declared in engineroom.yaml");

type Args = Record<string, unknown>;
const str = (args: Args, key: string) => args[key] as string | undefined;
const num = (args: Args, key: string) => args[key] as number | undefined;

/** The environment a service change goes to: named, else the only one, else API_BAD_REQUEST (before any scope is checked, so the refusal is about the input). */
function environmentOf(ctx: ToolContext, given: string | undefined, fallback: "first" | "last" | "only"): string {
  const chain = ctx.ops.project().environments;
  if (given !== undefined) {
    if (!chain.includes(given)) throw new EngineError("ENVIRONMENT_UNKNOWN", `No environment "${given}" (environments: ${chain.join(", ")}).`);
    return given;
  }
  if (fallback === "first") return chain[0]!;
  if (fallback === "last") return chain.at(-1)!;
  if (chain.length === 1) return chain[0]!;
  throw new EngineError("API_BAD_REQUEST", `Name the environment (one of ${chain.join(", ")}).`, { hint: `Pass env: one of ${chain.join(", ")}.` });
}

function durationMs(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) throw new EngineError("API_BAD_REQUEST", `\`${what}\` "${text}" is not a duration.`, { hint: "Write it like 30m, 2h or 1d." });
  return ms;
}

/** The responder scopes of an incident: rollback in each of its environments (deploy implies rollback). */
async function incidentScopes(args: Args, ctx: ToolContext): Promise<Scope[]> {
  const incident = await ctx.ops.incident(str(args, "id")!);
  return ["read", ...incident.incident.environments.map((e) => scopeFor("rollback", e))];
}

const planFrom = (value: unknown): Plan | undefined => {
  if (value === undefined) return undefined;
  const parsed = parsePlan(JSON.stringify(value));
  if (!parsed.ok) throw new EngineError("PLAN_INVALID", `The plan cannot be read: ${parsed.problem}.`);
  return parsed.plan;
};

/** The operator's tools, in the order an operator reaches for them. */
const operatorTools: readonly Tool[] = [
  readTool("status", "The project's environments, services, live releases, instances and health.", { env }, (a, c) => c.ops.status(str(a, "env"))),
  readTool(
    "releases",
    "A service's releases, newest first, with their state and reason.",
    { service, env, limit: z.number().int().min(1).max(200).optional() },
    async (a, c) => ({ releases: await c.ops.releases(str(a, "service")!, { environment: str(a, "env"), limit: num(a, "limit") ?? 20 }) }),
  ),
  readTool(
    "logs",
    "The last lines of output of a service's instances (secrets redacted).",
    { service, env, lines: z.number().int().min(1).max(1000).optional() },
    async (a, c) => ({ instances: await c.ops.logs(str(a, "service")!, { environment: str(a, "env"), lines: num(a, "lines") ?? 100 }) }),
  ),
  readTool(
    "events",
    "The event log (deploys, switches, rollbacks, alerts, incidents, audit), oldest first; `after` follows it.",
    { service: service.optional(), env, after: z.number().int().min(0).optional(), limit: z.number().int().min(1).max(1000).optional() },
    async (a, c) => ({ events: await c.ops.events({ service: str(a, "service"), environment: str(a, "env"), afterId: num(a, "after"), limit: num(a, "limit") ?? 100 }) }),
  ),
  readTool(
    "plan",
    "What apply would change, with the plan's hash (an approval is bound to it) and the drift found.",
    { refresh_only: z.boolean().optional().describe("scan for drift afresh") },
    (a, c) => c.ops.plan({ refreshOnly: a.refresh_only === true }),
  ),
  {
    name: "apply",
    description:
      "Applies the plan (give the plan from the plan tool to refuse a changed one). A plan touching the last environment (production) by a token without admin needs a person's approval first: the first call answers APPROVAL_REQUIRED with the request's id.",
    input: { plan: z.record(z.string(), z.unknown()).optional().describe("the plan object from the plan tool"), override_budget: z.string().max(500).optional() },
    annotations: changes,
    scopeText: "apply:<env> of every environment the plan changes",
    async scopes(_a, c) {
      const { plan } = await c.ops.plan();
      const touched = [...new Set(plan.changes.filter((x) => x.action !== "no-op" || x.drift.length > 0).map((x) => x.environment))];
      return ["read", ...touched.map((e) => scopeFor("apply", e))];
    },
    run: (a, c) => c.ops.apply(planFrom(a.plan), { signal: c.signal, actor: `mcp:${c.caller.name}`, caller: c.caller, overrideBudget: str(a, "override_budget") }),
  },
  {
    name: "deploy",
    description:
      "Deploys a build into the first environment, with zero downtime: `artifact` is the digest (sha256:…) of a build in the engine's artifact store (uploaded by CI through POST /v1/artifacts), default: the service's declared artifact. No path is read on the agent's word.",
    input: { service, artifact: z.string().regex(/^sha256:[0-9a-f]{64}$/, "an artifact digest, sha256:<64 hex>").optional() },
    annotations: changes,
    scopeText: "deploy:<first env>",
    scopes: (_a, c) => ["read", scopeFor("deploy", environmentOf(c, undefined, "first"))],
    run: (a, c) => c.ops.deploy(str(a, "service")!, { signal: c.signal, actor: `mcp:${c.caller.name}`, caller: c.caller, artifact: str(a, "artifact") }),
  },
  {
    name: "upload_artifact",
    description:
      "Takes a build from CI: a .tgz (base64; MCP requests are capped at 1 MiB, larger builds go through POST /v1/artifacts), its statement (base64 JSON: digest, archive sha256 and size, provenance) and the ed25519 signature of a key in ci.trusted_keys. Kept only when all of it matches (ARTIFACT_UNTRUSTED, ARTIFACT_DIGEST_MISMATCH, ARTIFACT_TOO_LARGE); then deploy names its digest.",
    input: { archive_base64: z.string().min(1).max(1_400_000), statement: z.string().min(1).max(100_000), signature: z.string().min(1).max(1_000) },
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
    scopeText: "deploy:<first env>",
    scopes: (_a, c) => ["read", scopeFor("deploy", environmentOf(c, undefined, "first"))],
    run: (a, c) => {
      const body = Buffer.from(str(a, "archive_base64")!, "base64");
      return c.ops.uploadArtifact({ body: [body], contentLength: body.length, statement: str(a, "statement"), signature: str(a, "signature"), actor: `mcp:${c.caller.name}`, caller: c.caller });
    },
  },
  {
    name: "promote",
    description: "Promotes the release that is stable in the environment before `to` (default: the second) into `to`: staging before production, a rollback target and the error budget are checked.",
    input: { service, to: z.string().max(63).optional(), initial: z.boolean().optional(), skip_watch: z.boolean().optional(), override_budget: z.string().max(500).optional() },
    annotations: changes,
    scopeText: "promote:<to>",
    scopes: (a, c) => {
      const chain = c.ops.project().environments;
      return ["read", scopeFor("promote", str(a, "to") === undefined ? (chain[1] ?? chain[0]!) : environmentOf(c, str(a, "to"), "first"))];
    },
    run: (a, c) =>
      c.ops.promote(str(a, "service")!, { signal: c.signal, actor: `mcp:${c.caller.name}`, caller: c.caller, to: str(a, "to"), initial: a.initial === true, skipWatch: a.skip_watch === true, overrideBudget: str(a, "override_budget") }),
  },
  {
    name: "approve",
    description: "Grants an approval request (apr_…) or approves a release that waits (rel_…). Never the token's own request (APPROVAL_SELF).",
    input: { id: z.string().min(1).max(80).describe("an id from the approvals tool") },
    annotations: changes,
    scopeText: "approve",
    scopes: () => ["approve"],
    run: (a, c) => c.ops.grantApproval(str(a, "id")!, c.caller, { signal: c.signal }),
  },
  readTool(
    "approvals",
    "Approval requests waiting for a person (with `all`, decided and expired ones too).",
    { all: z.boolean().optional() },
    async (a, c) => ({ approvals: await c.ops.approvals({ all: a.all === true }) }),
  ),
  {
    name: "rollback",
    description: "Switches a service back to its previous release (an emergency action: needs only rollback:<env>, no approval).",
    input: { service, env },
    annotations: changes,
    scopeText: "rollback:<env>",
    scopes: (a, c) => ["read", scopeFor("rollback", environmentOf(c, str(a, "env"), "only"))],
    run: (a, c) => c.ops.rollback(str(a, "service")!, { signal: c.signal, actor: `mcp:${c.caller.name}`, caller: c.caller, environment: environmentOf(c, str(a, "env"), "only") }),
  },
  {
    name: "abort",
    description: "Rolls back the release in its watch window now.",
    input: { service, env },
    annotations: changes,
    scopeText: "rollback:<env>",
    scopes: (a, c) => ["read", scopeFor("rollback", environmentOf(c, str(a, "env"), "first"))],
    run: (a, c) => c.ops.abort(str(a, "service")!, { signal: c.signal, actor: `mcp:${c.caller.name}`, caller: c.caller, environment: str(a, "env") }),
  },
  readTool(
    "checks",
    "Every check with its state, uptime and latency; with `name`, that check's history.",
    { name: z.string().max(200).optional(), resolution: z.enum(["minute", "hour", "day"]).optional(), since: z.string().max(20).optional() },
    (a, c) => (str(a, "name") === undefined ? c.ops.checks() : c.ops.checkHistory(str(a, "name")!, { resolution: str(a, "resolution"), since: str(a, "since") })),
  ),
  readTool("slos", "Every SLO with its error budget and burn rates.", { env }, (a, c) => c.ops.slos({ environment: str(a, "env") })),
  readTool(
    "alerts",
    "Firing alerts, newest first (with `all`, recently resolved ones too).",
    { all: z.boolean().optional() },
    async (a, c) => ({ alerts: await c.ops.alerts({ all: a.all === true }) }),
  ),
  {
    name: "ack_alert",
    description: "Acknowledges a firing alert: it stops repeating until `for` passes or it resolves.",
    input: { id: z.string().min(1).max(80), for: z.string().max(20).optional(), comment: z.string().max(500).optional() },
    annotations: { ...records, idempotentHint: true },
    scopeText: "rollback:<the alert's environment> (rollback:* without one)",
    scopes: async (a, c) => ["read", scopeFor("rollback", (await c.ops.alert(str(a, "id")!)).labels.environment ?? "*")],
    run: (a, c) => c.ops.ackAlert(str(a, "id")!, { by: `mcp:${c.caller.name}`, forMs: durationMs(str(a, "for"), "for"), comment: str(a, "comment") }),
  },
  {
    name: "silence_alerts",
    description: "Silences the alerts matching every matcher (`label=value`, `label=~regex`, `label!=value`) for `for`, with a reason.",
    input: { matchers: z.array(z.string().min(1).max(200)).min(1).max(20), reason: z.string().min(1).max(500), for: z.string().max(20) },
    annotations: records,
    scopeText: "rollback:<env of an environment=… matcher> (rollback:* without one)",
    scopes: (a) => {
      const matcher = (a.matchers as string[]).map((m) => /^environment=([^~].*)$/.exec(m.trim())?.[1]).find((e) => e !== undefined);
      return ["read", scopeFor("rollback", matcher ?? "*")];
    },
    run: (a, c) => c.ops.createSilence({ matchers: a.matchers as string[], reason: str(a, "reason")!, forMs: durationMs(str(a, "for"), "for")!, createdBy: `mcp:${c.caller.name}` }),
  },
  readTool(
    "incidents",
    "Open incidents, newest first (with `all`, the latest ones whatever their state).",
    { all: z.boolean().optional() },
    async (a, c) => ({ incidents: await c.ops.incidents({ all: a.all === true }) }),
  ),
  readTool("incident", "One incident with its links (releases, config diffs, alerts) and its timeline.", { id: z.string().min(1).max(80) }, (a, c) => c.ops.incident(str(a, "id")!)),
  {
    name: "open_incident",
    description: "Opens an incident by hand (the environment defaults to the last of the chain; the severity, if not given, is computed from the blast radius).",
    input: { title: z.string().min(1).max(200), service, env, severity: z.enum(incidentSeverities as unknown as [IncidentSeverity, ...IncidentSeverity[]]).optional(), note: z.string().max(2000).optional() },
    annotations: records,
    scopeText: "rollback:<env>",
    scopes: (a, c) => ["read", scopeFor("rollback", environmentOf(c, str(a, "env"), "last"))],
    run: (a, c) => c.ops.openIncident({ title: str(a, "title")!, service: str(a, "service")!, environment: str(a, "env"), severity: a.severity as IncidentSeverity | undefined, note: str(a, "note"), by: `mcp:${c.caller.name}` }),
  },
  {
    name: "ack_incident",
    description: "Acknowledges an incident: a responder is on it.",
    input: { id: z.string().min(1).max(80) },
    annotations: { ...records, idempotentHint: true },
    scopeText: "rollback:<each of the incident's environments>",
    scopes: incidentScopes,
    run: (a, c) => c.ops.ackIncident(str(a, "id")!, `mcp:${c.caller.name}`),
  },
  {
    name: "update_incident",
    description: "Moves an incident on (triage → investigating → mitigated), adds a note, names a commander or changes the severity (with a reason).",
    input: {
      id: z.string().min(1).max(80),
      status: z.enum(incidentStates as unknown as [IncidentState, ...IncidentState[]]).optional(),
      severity: z.enum(incidentSeverities as unknown as [IncidentSeverity, ...IncidentSeverity[]]).optional(),
      reason: z.string().max(500).optional(),
      note: z.string().max(2000).optional(),
      commander: z.string().max(100).optional(),
    },
    annotations: records,
    scopeText: "rollback:<each of the incident's environments>",
    scopes: incidentScopes,
    run: (a, c) => {
      const given = Object.fromEntries(["status", "severity", "reason", "note", "commander"].filter((k) => a[k] !== undefined).map((k) => [k, a[k]]));
      return c.ops.updateIncident(str(a, "id")!, { ...given, by: `mcp:${c.caller.name}` });
    },
  },
  {
    name: "resolve_incident",
    description: "Resolves an incident (its impact is over), with a note.",
    input: { id: z.string().min(1).max(80), note: z.string().max(2000).optional() },
    annotations: records,
    scopeText: "rollback:<each of the incident's environments>",
    scopes: incidentScopes,
    run: (a, c) => c.ops.resolveIncident(str(a, "id")!, { by: `mcp:${c.caller.name}`, note: str(a, "note") }),
  },
  readTool(
    "report",
    "The scorecard over `since` (default 30d): uptime, deployment success, DORA figures, MTTR, alert noise.",
    { since: z.string().max(20).optional(), env },
    (a, c) => c.ops.report({ since: str(a, "since"), environment: str(a, "env") }),
  ),
];

/** Every tool: the operator's, then those of the response (post-mortems, runbooks, drills). */
export const tools: readonly Tool[] = [...operatorTools, ...responseTools];
