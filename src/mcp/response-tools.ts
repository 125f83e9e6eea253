import { z } from "zod";
import { EngineError } from "../core/index.js";
import { scopeFor, type Scope } from "../engine/index.js";
import { readTool, type Tool, type ToolContext } from "./tool.js";

/** Tools of the response after an incident and of practice: post-mortems, runbooks and drills. */

const str = (args: Record<string, unknown>, key: string) => args[key] as string | undefined;

/** The environment a runbook run acts in: given, else the runbook's own, else the last of the chain (as the runbook runner decides). */
async function runbookEnvironment(args: Record<string, unknown>, ctx: ToolContext): Promise<string> {
  const given = str(args, "env");
  if (given !== undefined) return given;
  const runbook = (await ctx.ops.runbooks()).find((r) => r.name === str(args, "name"));
  if (!runbook) throw new EngineError("RUNBOOK_UNKNOWN", `No runbook named "${str(args, "name")}".`);
  return runbook.environment ?? ctx.ops.project().environments.at(-1)!;
}

export const responseTools: readonly Tool[] = [
  readTool(
    "postmortem",
    "The post-mortem of an incident (drafted when it is resolved): impact, trigger, detection, response, timeline, action items; root cause and lessons are left for people.",
    { incident: z.string().min(1).max(80) },
    (a, c) => c.ops.postmortem(str(a, "incident")!),
  ),
  readTool(
    "runbooks",
    "The declared runbooks with their steps, triggers and latest runs.",
    {},
    async (_a, c) => ({ runbooks: await c.ops.runbooks() }),
  ),
  {
    name: "run_runbook",
    description:
      "Runs a declared runbook for a service (with dry_run: every step resolved now, nothing changes). A real run records every step, is attached to the open incident, and pauses at an approve step for someone other than this token.",
    input: { name: z.string().min(1).max(63), service: z.string().min(1).max(63).optional(), env: z.string().max(63).optional(), incident: z.string().max(80).optional(), dry_run: z.boolean().optional() },
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
    scopeText: "read (dry run); rollback:<env> (run)",
    scopes: async (a, c): Promise<Scope[]> => (a.dry_run === true ? ["read"] : ["read", scopeFor("rollback", await runbookEnvironment(a, c))]),
    run: (a, c) =>
      c.ops.runRunbook(str(a, "name")!, {
        service: str(a, "service"),
        environment: str(a, "env"),
        incident: str(a, "incident"),
        by: `mcp:${c.caller.name}`,
        ...(c.caller.tokenId !== undefined && { token: c.caller.tokenId }),
        dryRun: a.dry_run === true,
        wait: true,
      }),
  },
  readTool(
    "runbook_run",
    "One runbook run with its steps, their output (redacted), its approval and its verification.",
    { id: z.string().min(1).max(80) },
    (a, c) => c.ops.runbookRun(str(a, "id")!),
  ),
  readTool(
    "drills",
    "The declared drills with their last result, timings and next run.",
    {},
    async (_a, c) => ({ drills: await c.ops.drills() }),
  ),
  {
    name: "run_drill",
    description: "Runs a drill now (a fault the engine injects for a drill release, an instance killed) and answers its result once it ends.",
    input: { name: z.string().min(1).max(63) },
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
    scopeText: "deploy:<the drill's environment>",
    scopes: async (a, c) => {
      const drill = (await c.ops.drills()).find((d) => d.name === str(a, "name"));
      if (!drill) throw new EngineError("DRILL_NOT_FOUND", `No drill named "${str(a, "name")}".`);
      return ["read", scopeFor("deploy", drill.environment)];
    },
    run: (a, c) => c.ops.runDrill(str(a, "name")!, { actor: `mcp:${c.caller.name}` }),
  },
];
