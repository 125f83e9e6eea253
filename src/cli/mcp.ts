import { readFileSync } from "node:fs";
import { request } from "node:https";
import { Readable } from "node:stream";
import { engineTarget, type GlobalOptions } from "./connect.js";

/**
 * `engineroom mcp`: the MCP server over stdio, relayed to the running engine's /mcp (over HTTPS,
 * trusting engine.json's certificate, when the engine serves TLS). The token is ENGINEROOM_TOKEN,
 * else the file given with --token-file; without either, the state folder's admin token narrowed to
 * `read`: write access is always asked for explicitly.
 */
export async function mcp(globals: GlobalOptions, options: { tokenFile?: string; readOnly?: boolean }): Promise<void> {
  const target = await engineTarget(globals);
  const fromEnv = process.env.ENGINEROOM_TOKEN?.trim();
  const fromFile = !fromEnv && options.tokenFile ? readFileSync(options.tokenFile, "utf8").trim() : undefined;
  const token = fromEnv || fromFile || target.token;
  const scopes = options.readOnly || (!fromEnv && !fromFile) ? ["read"] : undefined;
  const url = `${target.https || target.ca ? "https" : "http"}://${target.address}/mcp`;
  process.stderr.write(`engineroom mcp: relaying stdio to ${url}${scopes ? " read-only (set ENGINEROOM_TOKEN or --token-file for more)" : ""}\n`);
  const { relayStdio } = await import("../mcp/index.js");
  await relayStdio({ url, token, scopes, ...(target.ca && { fetch: trustingFetch(target.ca) }) });
}

/** fetch over node:https that trusts `ca` (the engine's own certificate), for the relay's requests. */
function trustingFetch(ca: string): (url: string | URL, init?: RequestInit) => Promise<Response> {
  return (url, init = {}) =>
    new Promise((resolve, reject) => {
      const headers = Object.fromEntries(new Headers(init.headers).entries());
      const req = request(url, { method: init.method ?? "GET", headers, ca }, (res) => {
        const answer = new Headers();
        for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) answer.set(name, [value].flat().join(", "));
        const status = res.statusCode ?? 502;
        const body = status === 204 || status === 304 ? null : (Readable.toWeb(res) as ReadableStream);
        resolve(new Response(body, { status, headers: answer }));
      });
      req.on("error", reject);
      init.signal?.addEventListener("abort", () => req.destroy(new Error("aborted")), { once: true });
      req.end(typeof init.body === "string" ? init.body : undefined);
    });
}
