import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { EngineError, processAlive, type ErrorCode } from "../core/index.js";
import { ApiClient } from "./client.js";

export interface GlobalOptions {
  config?: string;
  json?: boolean;
}

/** The config file the user means: --config, then $ENGINEROOM_CONFIG, then ./engineroom.yaml. */
export function configPath(options: GlobalOptions): string {
  return resolve(options.config ?? process.env.ENGINEROOM_CONFIG ?? "engineroom.yaml");
}

/**
 * The project's state folder, found without loading the config machinery (YAML parser, schemas):
 * a command that talks to a running engine needs only engine.json and the token from it. The
 * top-level `state_dir:` is read from the text when it is a plain one-line value; anything less
 * simple (a nested key of that name, a quoted value with escapes, a flow mapping) is left to the
 * full parser.
 */
export async function stateDirOf(file: string): Promise<string> {
  if (!existsSync(file)) throw new EngineError("CONFIG_NOT_FOUND", `No config file at ${file}.`);
  const text = readFileSync(file, "utf8");
  const simple = simpleStateDir(text);
  if (simple !== undefined) return resolve(dirname(file), simple);
  const { loadProject } = await import("../config/index.js");
  try {
    return loadProject(file).stateDir;
  } catch (error) {
    throw ownError(error);
  }
}

/**
 * The bundled CLI (dist/cli/thin.cjs, see bin/engineroom.js) has its own copy of core, so an
 * EngineError from a module loaded outside the bundle (the config parser) is not an instance of
 * ours: it is made one, so that it keeps its code, hint and exit code.
 */
function ownError(error: unknown): unknown {
  if (error instanceof EngineError || !(error instanceof Error) || error.name !== "EngineError") return error;
  const foreign = error as Error & { code: ErrorCode; hint?: string; details?: Record<string, unknown> };
  return new EngineError(foreign.code, foreign.message, { hint: foreign.hint, details: foreign.details, cause: error });
}

/** The certificate a local engine's HTTPS API is trusted by (engine.json's `tls.cert`), if it serves HTTPS. */
function trustOf(info: object): { https?: boolean; ca?: string } {
  const cert = (info as { tls?: { cert?: unknown } }).tls?.cert;
  return typeof cert === "string" ? { https: true, ca: cert } : {};
}

/** The value of a top-level `state_dir: <value>` line when it is unambiguous, else undefined. */
export function simpleStateDir(text: string): string | undefined {
  // Comment lines hold no key (the starter config mentions `# state_dir: .engineroom`).
  const lines = text.split(/\r?\n/).filter((line) => line.includes("state_dir") && !/^\s*#/.test(line));
  if (lines.length === 0) return ".engineroom"; // the schema's default
  if (lines.length !== 1) return undefined;
  const match = /^state_dir:[ \t]+(.*?)[ \t]*(?:[ \t]#.*)?$/.exec(lines[0]!);
  if (!match) return undefined;
  const value = match[1]!;
  const quoted = /^"([^"\\]*)"$/.exec(value) ?? /^'([^']*)'$/.exec(value);
  if (quoted) return quoted[1] || undefined;
  // A plain scalar that YAML reads as this very string: no indicator character up front, no `: ` or ` #` inside.
  if (!value || /^[-?:,[\]{}#&*!|>'"%@`~]/.test(value) || /: | #|^(null|true|false|[0-9.+-]+)$/i.test(value)) return undefined;
  return value;
}

/**
 * A client of the engine that runs for this project (its address and token from the state folder), or
 * ENGINE_NOT_RUNNING. With $ENGINEROOM_API_URL (`http://host:port`, as a CI job has it) and
 * $ENGINEROOM_TOKEN, that engine instead, wherever it runs.
 */
export async function connect(options: GlobalOptions): Promise<ApiClient> {
  return new ApiClient(await engineTarget(options));
}

/** The address and token of the engine `connect` reaches (for a client of its own, as `ci upload`'s streaming one). */
/** Where the CLI reaches an engine: its address, the token, whether it speaks TLS, and the one certificate to trust (else the system's). */
export interface EngineTarget {
  address: string;
  token: string;
  https?: boolean;
  ca?: string;
}

export async function engineTarget(options: GlobalOptions): Promise<EngineTarget> {
  const remote = remoteApi();
  if (remote) return remote;
  const file = configPath(options);
  const stateDir = await stateDirOf(file);
  let info: { pid?: unknown; api?: unknown } | undefined;
  let token: string | undefined;
  try {
    info = JSON.parse(readFileSync(join(stateDir, "engine.json"), "utf8")) as typeof info;
    // $ENGINEROOM_TOKEN runs the command with that token's (narrower) rights instead of the owner's admin token.
    token = process.env.ENGINEROOM_TOKEN?.trim() || readFileSync(join(stateDir, "api-token"), "utf8").trim();
  } catch {
    info = undefined;
  }
  if (!info || !token || typeof info.pid !== "number" || typeof info.api !== "string" || !processAlive(info.pid)) {
    throw new EngineError("ENGINE_NOT_RUNNING", `No engine runs for ${file}.`);
  }
  return { address: info.api, token, ...trustOf(info) };
}

/**
 * The engine named by $ENGINEROOM_API_URL (`http://host:port` or `https://host:port`) and
 * $ENGINEROOM_TOKEN, if set. Over https the system's certificate authorities are trusted, or only the
 * certificate file $ENGINEROOM_API_CA names (an engine's self-signed one).
 */
export function remoteApi(): EngineTarget | undefined {
  const url = process.env.ENGINEROOM_API_URL?.trim();
  if (!url) return undefined;
  const match = /^(https?):\/\/(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})\/?$/.exec(url);
  if (!match) {
    throw new EngineError("ENGINE_NOT_RUNNING", `ENGINEROOM_API_URL is "${url}", not http(s)://host:port.`, { hint: "Set ENGINEROOM_API_URL to the engine's API as https://host:port (or http:// on loopback), or unset it to use this project's engine." });
  }
  const token = process.env.ENGINEROOM_TOKEN?.trim();
  if (!token) throw new EngineError("API_UNAUTHORIZED", "ENGINEROOM_API_URL is set but ENGINEROOM_TOKEN is not.", { hint: "Set ENGINEROOM_TOKEN to an API token (`engineroom tokens create`), e.g. from a CI secret." });
  const ca = process.env.ENGINEROOM_API_CA?.trim();
  return { address: `${match[2]}:${match[3]}`, token, https: match[1] === "https", ...(ca && { ca }) };
}
