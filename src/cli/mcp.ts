import { readFileSync } from "node:fs";
import { join } from "node:path";
import { EngineError, processAlive } from "../core/index.js";
import { configPath, stateDirOf, type GlobalOptions } from "./connect.js";

/**
 * `engineroom mcp`: the MCP server over stdio, relayed to the running engine's /mcp. The token is
 * ENGINEROOM_TOKEN, else the file given with --token-file; without either, the state folder's admin
 * token narrowed to `read`: write access is always asked for explicitly.
 */
export async function mcp(globals: GlobalOptions, options: { tokenFile?: string; readOnly?: boolean }): Promise<void> {
  const file = configPath(globals);
  const stateDir = await stateDirOf(file);
  let info: { pid?: unknown; api?: unknown } | undefined;
  try {
    info = JSON.parse(readFileSync(join(stateDir, "engine.json"), "utf8")) as typeof info;
  } catch {
    info = undefined;
  }
  if (!info || typeof info.pid !== "number" || typeof info.api !== "string" || !processAlive(info.pid)) throw new EngineError("ENGINE_NOT_RUNNING", `No engine runs for ${file}.`);
  const fromEnv = process.env.ENGINEROOM_TOKEN?.trim();
  const explicit = fromEnv || (options.tokenFile ? readFileSync(options.tokenFile, "utf8").trim() : undefined);
  const token = explicit ?? readFileSync(join(stateDir, "api-token"), "utf8").trim();
  const scopes = options.readOnly || explicit === undefined ? ["read"] : undefined;
  process.stderr.write(`engineroom mcp: relaying stdio to http://${info.api}/mcp${scopes ? " read-only (set ENGINEROOM_TOKEN or --token-file for more)" : ""}\n`);
  const { relayStdio } = await import("../mcp/index.js");
  await relayStdio({ url: `http://${info.api}/mcp`, token, scopes });
}
