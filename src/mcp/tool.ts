import type { z } from "zod";
import type { Caller, Operations, Scope } from "../engine/index.js";

/** What a tool's handler gets: the façade, who calls, and the call's cancellation. */
export interface ToolContext {
  ops: Operations;
  caller: Caller;
  signal: AbortSignal;
}

/** The MCP annotations, set truthfully per tool (openWorldHint is false for every tool: nothing reaches beyond the engine). */
export interface Annotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
}

/**
 * One MCP tool: its input, the scopes it needs (resolved from its arguments before anything runs),
 * and the one façade operation it calls. There is no passthrough: no shell, SQL or file tool.
 */
export interface Tool {
  name: string;
  description: string;
  input: z.ZodRawShape;
  annotations: Annotations;
  /** The scopes a call needs (all of them); `scopeText` is how the README's table shows them. */
  scopes(args: Record<string, unknown>, ctx: ToolContext): Promise<Scope[]> | Scope[];
  scopeText: string;
  run(args: Record<string, unknown>, ctx: ToolContext): Promise<unknown>;
}

export const read: Annotations = { readOnlyHint: true, destructiveHint: false, idempotentHint: true };
/** Replaces what serves (a switch, a rollback, a stop): reversible, but not additive. */
export const changes: Annotations = { readOnlyHint: false, destructiveHint: true, idempotentHint: false };
/** Adds a record (an acknowledgement, a silence, a note) and removes nothing. */
export const records: Annotations = { readOnlyHint: false, destructiveHint: false, idempotentHint: false };

/** A read-only tool: scope `read`, read-only, idempotent. */
export function readTool(name: string, description: string, input: z.ZodRawShape, run: Tool["run"]): Tool {
  return { name, description, input, annotations: read, scopes: () => ["read"], scopeText: "read", run };
}

