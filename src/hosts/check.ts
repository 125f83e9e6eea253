/**
 * `engineroom hosts check`: one ssh per host that reports what the host has — Node.js and its
 * version, whether the state folder is (or can be made) writable, whether the data-plane daemon
 * answers on its control socket, the load average and the free disk.
 */
import { dataPlanePaths } from "../dataplane/index.js";
import { toEngineError } from "../core/index.js";
import { socketAnswersSnippet } from "./daemon.js";
import { runSsh, shellQuote } from "./ssh.js";
import type { PreparedHost } from "./targets.js";

/** The lowest Node.js major version the engine's code runs on. */
export const minimumNodeMajor = 20;

export interface HostCheck {
  environment: string;
  host: string;
  address: string;
  labels: Record<string, string>;
  /** ssh logged in with the host's key, and the host's key is the pinned one. */
  reachable: boolean;
  /** `pinned`: the host's key matched; `refused`: it did not (nothing ran); `unknown`: not reached. */
  hostKey: "pinned" | "refused" | "unknown";
  /** Node.js's version on the host (`v20.11.1`), or null when none is on its PATH. */
  node: string | null;
  nodeOk: boolean;
  stateDir: string;
  stateDirWritable: boolean;
  daemonRunning: boolean;
  /** The 1, 5 and 15 minute load averages. */
  load: [number, number, number] | null;
  freeDiskBytes: number | null;
  /** Ready for instances: reachable, Node.js recent enough, state folder writable, daemon running. */
  ready: boolean;
  /** What is missing, in words, one per item. */
  problems: string[];
  error?: { code: string; message: string; hint: string };
}

/** Checks one host; never rejects (an unreachable host is a result with `reachable: false`). */
export async function checkHost(host: PreparedHost): Promise<HostCheck> {
  const base = { environment: host.environment, host: host.name, address: host.target.address, labels: host.labels, stateDir: host.stateDir };
  const empty = { node: null, nodeOk: false, stateDirWritable: false, daemonRunning: false, load: null, freeDiskBytes: null, ready: false };
  let output: string;
  try {
    output = (await runSsh(host.target, checkScript(host.stateDir), { timeoutMs: 60_000 })).stdout;
  } catch (error) {
    const engineError = toEngineError(error);
    return {
      ...base,
      ...empty,
      reachable: false,
      hostKey: engineError.code === "HOST_KEY_MISMATCH" ? "refused" : "unknown",
      problems: [engineError.message],
      error: { code: engineError.code, message: engineError.message, hint: engineError.hint },
    };
  }
  const facts = Object.fromEntries(
    output
      .split("\n")
      .map((line) => line.split("="))
      .filter((parts) => parts.length >= 2)
      .map(([key, ...rest]) => [key!.trim(), rest.join("=").trim()]),
  );
  const node = /^v\d+\./.test(facts.node ?? "") ? facts.node! : null;
  const nodeOk = node !== null && Number(node.slice(1).split(".")[0]) >= minimumNodeMajor;
  const load = (facts.load ?? "").split(/\s+/).map(Number);
  const disk = Number(facts.disk);
  const result = {
    ...base,
    reachable: true,
    hostKey: "pinned" as const,
    node,
    nodeOk,
    stateDirWritable: facts.writable === "1",
    daemonRunning: facts.daemon === "1",
    load: load.length === 3 && load.every(Number.isFinite) ? (load as [number, number, number]) : null,
    freeDiskBytes: facts.disk && Number.isFinite(disk) ? disk * 1024 : null,
  };
  const problems: string[] = [];
  if (!node) problems.push("Node.js is not installed (none on the PATH)");
  else if (!nodeOk) problems.push(`Node.js ${node} is older than ${minimumNodeMajor}`);
  if (!result.stateDirWritable) problems.push(`the state folder ${host.stateDir} is not writable by ${host.target.user}`);
  if (!result.daemonRunning) problems.push("the data-plane daemon is not running (engineroom hosts bootstrap starts it)");
  return { ...result, ready: problems.length === 0, problems };
}

/** The shell script of a check: `key=value` lines. It changes nothing on the host. */
function checkScript(stateDir: string): string {
  const socket = dataPlanePaths(stateDir).socket;
  return [
    'n=$(command -v node 2>/dev/null || true)',
    'if [ -n "$n" ]; then echo "node=$("$n" -v 2>/dev/null)"; else echo node=; fi',
    `d=${shellQuote(stateDir)}; p=$d`,
    'while [ ! -e "$p" ]; do p=$(dirname "$p"); done',
    'if [ -d "$p" ] && [ -w "$p" ]; then echo writable=1; else echo writable=0; fi',
    'echo "load=$(cut -d" " -f1-3 /proc/loadavg 2>/dev/null)"',
    'echo "disk=$(df -Pk "$p" 2>/dev/null | awk \'NR==2{print $4}\')"',
    `if [ -n "$n" ] && ${socketAnswersSnippet('"$n"', socket)}; then echo daemon=1; else echo daemon=0; fi`,
  ].join("\n");
}
