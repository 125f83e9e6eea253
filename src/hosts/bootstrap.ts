/**
 * `engineroom hosts bootstrap`: prepares each host for instances — the state folder, the engine's
 * code (in place when the host shares it, else shipped by digest), and the data-plane daemon running
 * detached. Idempotent: a second run finds everything there and changes nothing.
 */
import { dirname, extname, join, relative, resolve } from "node:path";
import { childExecArgv, EngineError, toEngineError } from "../core/index.js";
import { daemonEntry } from "../dataplane/index.js";
import { checkHost, type HostCheck } from "./check.js";
import { hostHasFile, shipCode, type CodeBundle } from "./code.js";
import { startRemoteDaemon } from "./daemon.js";
import type { PreparedHost } from "./targets.js";

export interface HostBootstrap {
  environment: string;
  host: string;
  address: string;
  /** `shared`: the host has this build's files at the same path; `shipped`: sent now; `present`: that digest was there. */
  code: "shared" | "shipped" | "present" | null;
  /** The code's folder on the host. */
  codeDir: string | null;
  daemon: "started" | "running" | null;
  ok: boolean;
  /** The host as checked after bootstrapping (or before, when it could not be reached). */
  check: HostCheck;
  error?: { code: string; message: string; hint: string };
}

/** This build's package root and the daemon entry inside it. */
export function localCode(entry: string = daemonEntry): { root: string; entry: string; built: boolean } {
  const root = resolve(dirname(entry), "..", "..");
  return { root, entry, built: extname(entry) === ".js" };
}

/** What a built engine ships: the compiled code, its manifest and its dependencies. */
export function engineBundle(root: string): CodeBundle {
  return { root, files: ["dist", "package.json", "package-lock.json", "node_modules"], digestOf: ["dist", "package.json", "package-lock.json"] };
}

/** Bootstraps one host; never rejects (a failure is a result with `ok: false` and the error). */
export async function bootstrapHost(host: PreparedHost, options: { entry?: string } = {}): Promise<HostBootstrap> {
  const base = { environment: host.environment, host: host.name, address: host.target.address };
  const before = await checkHost(host);
  const failed = (error: unknown, check: HostCheck): HostBootstrap => {
    const e = toEngineError(error);
    return { ...base, code: null, codeDir: null, daemon: null, ok: false, check, error: { code: e.code, message: e.message, hint: e.hint } };
  };
  if (!before.reachable) return { ...base, code: null, codeDir: null, daemon: null, ok: false, check: before, ...(before.error ? { error: before.error } : {}) };
  if (!before.nodeOk) {
    return failed(new EngineError("HOST_NOT_READY", `Host ${host.name} has no usable Node.js: ${before.problems[0]}.`, { details: { host: host.name } }), before);
  }
  try {
    const code = localCode(options.entry);
    let codeDir: string;
    let entry: string;
    let how: HostBootstrap["code"];
    let execArgv: string[] = [];
    if (await hostHasFile(host.target, code.entry)) {
      // The same files at the same path: run them in place, with this process's loaders (tsx under the tests).
      codeDir = code.root;
      entry = code.entry;
      how = "shared";
      execArgv = childExecArgv();
    } else {
      if (!code.built) {
        throw new EngineError("HOST_NOT_READY", `Host ${host.name} does not have this engine's code, and only a built engine (npm run build, dist/) can ship it.`, {
          hint: "Run the engine from its build (`npm run build`, then dist/), then `engineroom hosts bootstrap` ships dist/ and node_modules by digest.",
        });
      }
      const shipped = await shipCode(host.target, engineBundle(code.root), host.stateDir);
      codeDir = shipped.dir;
      entry = join(shipped.dir, relative(code.root, code.entry));
      how = shipped.shipped ? "shipped" : "present";
    }
    const daemon = await startRemoteDaemon(host.target, { stateDir: host.stateDir, entry, cwd: codeDir, execArgv });
    const after = await checkHost(host);
    return { ...base, code: how, codeDir, daemon: daemon.started ? "started" : "running", ok: after.ready, check: after };
  } catch (error) {
    return failed(error, before);
  }
}
