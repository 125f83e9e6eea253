import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { isJSONRPCRequest, type JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { narrowHeader } from "./http.js";

export interface StdioRelayOptions {
  /** The engine's `/mcp` URL, e.g. `http://127.0.0.1:7070/mcp`. */
  url: string;
  token: string;
  /** Scopes to narrow the token to (e.g. `["read"]`), sent as x-engineroom-scopes; the engine never widens them. */
  scopes?: readonly string[];
  input?: NodeJS.ReadableStream & import("node:stream").Readable;
  output?: NodeJS.WritableStream & import("node:stream").Writable;
  /** The fetch to reach the engine with (e.g. one that trusts the engine's own TLS certificate). */
  fetch?: (url: string | URL, init?: RequestInit) => Promise<Response>;
}

/**
 * `engineroom mcp`: the stdio transport, relayed message by message to the running engine's `/mcp`.
 * The MCP server, its guardrails, its audit and its rate limit live in the engine only; this process
 * holds no rights of its own beyond the token it sends. A message the engine cannot be reached for
 * is answered with a JSON-RPC error that names ENGINE_NOT_RUNNING, never left hanging.
 * Resolves when stdin closes.
 */
export async function relayStdio(options: StdioRelayOptions): Promise<void> {
  const headers: Record<string, string> = { authorization: `Bearer ${options.token}` };
  if (options.scopes?.length) headers[narrowHeader] = options.scopes.join(",");
  const upstream = new StreamableHTTPClientTransport(new URL(options.url), { requestInit: { headers }, ...(options.fetch && { fetch: options.fetch }) });
  const local = new StdioServerTransport(options.input, options.output);
  const closed = new Promise<void>((resolve) => (local.onclose = resolve));
  const answerError = (message: JSONRPCMessage, error: unknown) => {
    if (!isJSONRPCRequest(message)) return;
    const text = error instanceof Error ? error.message : String(error);
    const refused = /\b401\b|API_UNAUTHORIZED/.test(text);
    const code = refused ? "API_UNAUTHORIZED" : /ECONNREFUSED|fetch failed/.test(text) ? "ENGINE_NOT_RUNNING" : "ENGINE_GONE";
    const hint = refused ? "Check ENGINEROOM_TOKEN (or --token-file): the engine does not know that token." : "Start the engine with `engineroom up`, then call again.";
    void local.send({ jsonrpc: "2.0", id: message.id, error: { code: -32000, message: `${code}: ${refused ? "the engine refused the token" : "the engine cannot be reached"}. ${hint}`, data: { code, hint } } });
  };
  upstream.onmessage = (message) => void local.send(message);
  upstream.onerror = () => {}; // each failed send is answered on its own request
  local.onmessage = (message) => {
    upstream.send(message).catch((error: unknown) => answerError(message, error));
  };
  await upstream.start();
  await local.start();
  (options.input ?? process.stdin).on("end", () => void local.close());
  await closed;
  await upstream.close().catch(() => {});
}
