/**
 * The control channel between the engine and the data-plane process: newline-delimited JSON over a
 * Unix socket that only the owner can reach (mode 0600 in a 0700 folder).
 *
 * A request is `{ id, op, ...arguments }`; its answer `{ id, ok: true, result }` or
 * `{ id, ok: false, error: { code, message, hint, details } }`. The data plane also sends events,
 * which carry no id: `{ event: "metrics", seq, buckets }`.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { MetricsBucket, Route } from "../proxy/index.js";

/** How one environment's proxy is set up. `listen` is as configured (port 0 allowed). */
export interface ProxySettings {
  environment: string;
  listen: string;
  workers: number;
  upstreamTimeoutMs: number;
}

/** What the data plane keeps of one environment's proxy, on disk and in `hello`. */
export interface ProxyRecord extends ProxySettings {
  /** The address it is bound to now ("127.0.0.1:8080"); a restarted data plane binds this again. */
  address: string;
  routes: Route[];
}

export interface HelloResult {
  pid: number;
  /** A digest of the data plane's code: an engine whose code differs asks for a handover. */
  version: string;
  /** Changes at every start of a data-plane process: metric sequence numbers are per boot. */
  bootId: string;
  startedAt: string;
  proxies: ProxyRecord[];
}

export type Request =
  | { id: number; op: "hello" }
  | ({ id: number; op: "proxy.ensure" } & ProxySettings)
  | { id: number; op: "proxy.apply"; environment: string; routes: Route[] }
  | { id: number; op: "proxy.inflight"; environment: string; releaseId: string }
  | { id: number; op: "proxy.remove"; environment: string; graceMs: number }
  | { id: number; op: "metrics.subscribe"; bootId?: string; afterSeq?: number }
  | { id: number; op: "handover"; entry: string; execArgv: string[] }
  | { id: number; op: "shutdown"; graceMs: number };

export type Answer =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { code: string; message: string; hint?: string; details?: Record<string, unknown> } };

export interface MetricsEvent {
  event: "metrics";
  bootId: string;
  seq: number;
  buckets: MetricsBucket[];
}

/** An instance of the host agent exited (agent.ts); every connected client hears it. */
export interface ExitEvent {
  event: "exit";
  exit: { id: string; code: number | null; signal: string | null; expected: boolean };
}

/** The files of the data plane inside the state folder. */
export function dataPlanePaths(stateDir: string) {
  const dir = join(stateDir, "dataplane");
  let socket = join(dir, "control.sock");
  // A Unix socket path is limited to 107 bytes: a deep project gets one in a private temp folder.
  if (Buffer.byteLength(socket) > 100) {
    const key = createHash("sha256").update(stateDir).digest("hex").slice(0, 16);
    socket = join(tmpdir(), `engineroom-${process.getuid?.() ?? "user"}`, `${key}.sock`);
  }
  return {
    dir,
    socket,
    /** The routes and settings of every proxy, written at each switch before its answer: a symlink to the generation file in force. */
    proxies: join(dir, "proxies.json"),
    /** pid, version and start time of the running data-plane process. */
    info: join(dir, "dataplane.json"),
    log: join(dir, "dataplane.log"),
  };
}

// The process entry sits beside this file with the same extension: .ts under tsx, .js in dist/.
const here = fileURLToPath(import.meta.url);

/** The file that runs a data-plane process, from this build. */
export const daemonEntry = join(dirname(here), `daemon${extname(here)}`);

/**
 * A digest of the data plane's own code (this folder and the proxy's), as this build has it: two
 * builds that differ in any of those files give different versions.
 */
export function codeVersion(entry: string = daemonEntry): string {
  const hash = createHash("sha256");
  const ext = extname(entry);
  const src = join(dirname(entry), "..");
  for (const dir of [dirname(entry), ...["proxy", "metrics", "runtime", "runtime/local", "artifact"].map((d) => join(src, d))]) {
    let names: string[];
    try {
      // What runs in the data plane only: not tests, contracts or test helpers.
      names = readdirSync(dir).filter((n) => n.endsWith(ext) && !/\.(test|contract)\.|support\./.test(n)).sort();
    } catch {
      continue;
    }
    for (const name of names) hash.update(name).update("\0").update(readFileSync(join(dir, name))).update("\0");
  }
  return hash.digest("hex").slice(0, 16);
}

/** Splits a byte stream into lines and parses each as JSON; a line that is not JSON is reported and skipped. */
export function jsonLines(onValue: (value: unknown) => void, onBad: (line: string) => void = () => {}): (chunk: Buffer | string) => void {
  let buffered = "";
  return (chunk) => {
    buffered += chunk.toString();
    let newline: number;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (line.trim() === "") continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        onBad(line.slice(0, 200));
        continue;
      }
      onValue(value);
    }
  };
}

/** A connection to the control socket at `path`; rejects when nobody listens there. */
export function openSocket(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

/** True when a data-plane process answers on the control socket at `path`. */
export function answers(path: string): Promise<boolean> {
  return openSocket(path).then(
    (socket) => (socket.destroy(), true),
    () => false,
  );
}
