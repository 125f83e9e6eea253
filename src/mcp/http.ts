import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { FastifyInstance, FastifyReply } from "fastify";
import { EngineError } from "../core/index.js";
import { can, parseScope, type Caller, type Engine, type Operations, type Scope } from "../engine/index.js";
import { createMcpServer, type McpGuard } from "./server.js";

export interface McpHttpOptions {
  ops: Operations;
  guard: McpGuard;
  /** The caller a request's `Authorization: Bearer <token>` stands for (the admin token file or a created token), or undefined. */
  authenticate(secret: string): Promise<Caller | undefined>;
}

/** The header a client sends to run with fewer rights than its token has (e.g. `read`): the scopes are narrowed, never widened. */
export const narrowHeader = "x-engineroom-scopes";

/**
 * The streamable HTTP transport at `/mcp`, stateless: each POST carries its own Bearer token, gets
 * its own server for that caller, and is answered with JSON (no session, no server-side prompt that
 * could hang). GET and DELETE (streams and sessions) are answered 405.
 */
export function registerMcpRoutes(app: FastifyInstance, options: McpHttpOptions): void {
  app.post("/mcp", async (request, reply) => {
    const caller = await callerOf(options, request.headers.authorization, request.headers[narrowHeader]);
    const server = createMcpServer({ ops: options.ops, caller, guard: options.guard });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    reply.raw.on("close", () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    reply.hijack();
    await transport.handleRequest(request.raw, reply.raw, request.body);
  });
  const notAllowed = async (_request: unknown, reply: FastifyReply) =>
    reply.status(405).header("allow", "POST").send({ jsonrpc: "2.0", error: { code: -32000, message: "This MCP endpoint is stateless: POST JSON-RPC messages to /mcp." }, id: null });
  app.get("/mcp", notAllowed);
  app.delete("/mcp", notAllowed);
}

async function callerOf(options: McpHttpOptions, authorization: string | undefined, narrow: string | string[] | undefined): Promise<Caller> {
  const secret = /^Bearer (.+)$/.exec(authorization ?? "")?.[1];
  const caller = secret === undefined ? undefined : await options.authenticate(secret);
  if (!caller) throw new EngineError("API_UNAUTHORIZED", "Missing or wrong API token.");
  const asked = [narrow].flat().join(",").trim();
  if (!asked) return { ...caller, via: "mcp" };
  const wanted: Scope[] = asked.split(",").map((s) => parseScope(s));
  return { ...caller, via: "mcp", scopes: wanted.filter((scope) => can(caller, scope)) };
}

/** The engine's access layer as the MCP routes use it: its token store, rate limit and audit trail. */
export function mcpAccess(engine: Pick<Engine, "tokens" | "access" | "audit">): Omit<McpHttpOptions, "ops"> {
  return {
    authenticate: (secret) => engine.tokens.verify(secret, "mcp"),
    guard: { admit: (caller) => engine.access.admit(caller), record: (input) => engine.audit.record(input) },
  };
}
