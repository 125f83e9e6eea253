/**
 * Drift detection for the local runtime on Linux: what runs on this machine that the engine did not
 * start, or that no longer does what the engine started it for. The rules; procfs.ts reads /proc.
 *
 * Cost is bounded: one pass over /proc reads each process's working folder (one readlink each,
 * synchronous in slices with a yield to the event loop between them: several times faster than one
 * promise per file). Only the processes working in an artifact folder — the instances and the strays —
 * have their `stat` read, and open files (`/proc/<pid>/fd`) are read only for the instances' groups,
 * for strays, and, when a socket on an instance's port is not the instance's, for the other
 * processes until its owner is found.
 */
import { realpathSync } from "node:fs";
import { basename, dirname, join, resolve, sep } from "node:path";
import { allPids, listeningSockets, readCwd, readStat, slice, socketInodes, socketOwners, yieldToLoop, type ProcessInfo } from "./procfs.js";

/** True where detectDrift can look (Linux, with /proc); elsewhere it finds nothing. */
export const driftDetectionSupported = process.platform === "linux";

/** One instance as the runtime started it: `pid` leads the instance's own process group. */
export interface DriftInstance {
  id: string;
  pid: number;
  port: number;
}

export interface DriftInput {
  /** The instances whose ports are checked: those past their health gate. */
  instances: readonly DriftInstance[];
  /**
   * The leaders (process groups) of every other instance the runtime accounts for: starting, failing
   * its health check, being stopped or replaced, just exited. Their processes are no strays; their
   * ports are not checked.
   */
  accounted?: readonly number[];
  /** Folders of stored artifacts, e.g. `.engineroom/artifacts/sha256/<hex>`; processes working inside one are ours or strays. */
  artifactDirs: readonly string[];
}

/** Something on this machine differs from what the engine started. `pids`/`ports` are those involved. */
export type DriftFinding =
  /** A process outside the instance's process group listens on the instance's port (`pids` empty: one we may not see). */
  | { kind: "port-taken"; instanceId: string; port: number; pids: number[]; message: string }
  /** The instance's leader runs, but nothing listens on its port. */
  | { kind: "port-not-listening"; instanceId: string; port: number; pids: number[]; message: string }
  /** Processes of one group working in an artifact folder, in no instance's group: started by hand, or left over. */
  | { kind: "stray-process"; artifactDir: string; pids: number[]; ports: number[]; message: string };

/**
 * Finds drift of the local runtime's instances: ports taken by other processes, ports nobody listens
 * on, and stray processes working in artifact folders. Give it instances that passed their health
 * gate: one still starting has not bound its port yet. Linux only; elsewhere resolves to [].
 *
 * @example
 * const findings = await detectDrift({
 *   instances: runtime.list().filter((i) => i.status === "running").map(({ id, pid, port }) => ({ id, pid: pid!, port })),
 *   artifactDirs: [join(stateDir, "artifacts", "sha256", hex)],
 * });
 */
export async function detectDrift(input: DriftInput): Promise<DriftFinding[]> {
  if (!driftDetectionSupported) return [];
  const listeners = await listeningSockets();
  const pids = allPids();
  const processes = new ProcessTable();
  const leaders = new Set(input.instances.map((instance) => instance.pid));
  // Instances run in their artifact's folder, so the processes working in artifact folders are the
  // instances' and the strays: the only ones whose stat we need to read up front.
  const dirs = canonicalAll(input.artifactDirs);
  const inArtifacts = (await workingIn(pids, dirs)).flatMap(({ pid, dir }) => {
    const info = processes.get(pid);
    return info ? [{ info, dir }] : [];
  });
  const members = [...leaders, ...inArtifacts.filter(({ info }) => leaders.has(info.pgrp)).map(({ info }) => info.pid)];

  // Owners of the sockets on instance ports: first among the instances' groups, where they should be;
  // only what is not found there is looked for among every other process.
  const wanted = input.instances.flatMap((instance) => listeners.get(instance.port) ?? []);
  const owners = await socketOwners(wanted, new Set(members));
  if (owners.size < new Set(wanted).size) {
    const scanned = new Set(members);
    const rest = wanted.filter((inode) => !owners.has(inode));
    for (const [inode, pid] of await socketOwners(rest, pids.filter((pid) => !scanned.has(pid)))) owners.set(inode, pid);
  }

  const findings: DriftFinding[] = [];
  for (const instance of input.instances) findings.push(...portFindings(instance, listeners.get(instance.port) ?? [], owners, processes));
  const accounted = new Set([...leaders, ...(input.accounted ?? [])]);
  const strays = inArtifacts.filter(({ info }) => !accounted.has(info.pgrp) && !accounted.has(info.pid) && info.pid !== process.pid);
  findings.push(...strayFindings(strays, listeners));
  return findings;
}

function portFindings(instance: DriftInstance, inodes: number[], owners: Map<number, number>, processes: ProcessTable): DriftFinding[] {
  const { id, pid, port } = instance;
  if (inodes.length === 0) {
    if (!processes.get(pid)) return []; // the instance is gone: its exit is the runtime's to report
    const message = `instance ${id} (pid ${pid}) runs, but nothing listens on its port ${port}`;
    return [{ kind: "port-not-listening", instanceId: id, port, pids: [pid], message }];
  }
  const outside = inodes.filter((inode) => processes.get(owners.get(inode) ?? -1)?.pgrp !== pid);
  if (outside.length === 0) return [];
  const pids = [...new Set(outside.map((inode) => owners.get(inode)).filter((p): p is number => p !== undefined))].sort((a, b) => a - b);
  const who = pids.length ? pids.map((p) => describe(processes.get(p) ?? { pid: p, comm: "?" })).join(", ") : "a process we may not see (another user's?)";
  const message = `port ${port} of instance ${id} is listened on by ${who}, outside the instance's process group ${pid}`;
  return [{ kind: "port-taken", instanceId: id, port, pids, message }];
}

/** One finding per process group of strays, with the ports its processes listen on. */
function strayFindings(strays: { info: ProcessInfo; dir: string }[], listeners: Map<number, number[]>): DriftFinding[] {
  if (strays.length === 0) return [];
  const groups = new Map<number, { dir: string; members: ProcessInfo[] }>();
  for (const { info, dir } of strays) {
    const group = groups.get(info.pgrp) ?? { dir, members: [] };
    group.members.push(info);
    groups.set(info.pgrp, group);
  }
  const portOf = new Map<number, number>();
  for (const [port, inodes] of listeners) for (const inode of inodes) portOf.set(inode, port);
  return [...groups].map(([pgrp, { dir, members }]) => {
    members.sort((a, b) => a.pid - b.pid);
    const ports = new Set<number>();
    for (const { pid } of members) for (const inode of socketInodes(pid)) if (portOf.has(inode)) ports.add(portOf.get(inode)!);
    const sorted = [...ports].sort((a, b) => a - b);
    const listening = sorted.length ? `, listening on ${sorted.join(", ")}` : "";
    const many = members.length > 1;
    const message = `${members.map(describe).join(", ")} (process group ${pgrp}) ${many ? "run" : "runs"} in artifact folder ${dir}${listening}, but ${many ? "belong" : "belongs"} to no instance: started by hand, or left over`;
    return { kind: "stray-process", artifactDir: dir, pids: members.map((p) => p.pid), ports: sorted, message };
  });
}

/**
 * The processes whose working folder is in one of `dirs`, read in slices that leave the event loop
 * free between them. Each folder is looked up by its ancestors in a set, so thousands of artifact
 * folders cost no more than one.
 */
async function workingIn(pids: number[], dirs: string[]): Promise<{ pid: number; dir: string }[]> {
  const found: { pid: number; dir: string }[] = [];
  if (dirs.length === 0) return found;
  const wanted = new Set(dirs);
  for (const [i, pid] of pids.entries()) {
    if (i % slice === slice - 1) await yieldToLoop();
    for (let dir = readCwd(pid); dir !== undefined && dir.length > 1; dir = parentOf(dir)) {
      if (wanted.has(dir)) {
        found.push({ pid, dir });
        break;
      }
    }
  }
  return found;
}

function parentOf(path: string): string | undefined {
  const cut = path.lastIndexOf(sep);
  return cut > 0 ? path.slice(0, cut) : undefined;
}

/** Processes' stat, read once each and only when asked for. */
class ProcessTable {
  readonly #known = new Map<number, ProcessInfo | undefined>();

  /** The process, or undefined if it is gone. */
  get(pid: number): ProcessInfo | undefined {
    if (!this.#known.has(pid)) this.#known.set(pid, readStat(pid));
    return this.#known.get(pid);
  }
}

function describe(p: Pick<ProcessInfo, "pid" | "comm">): string {
  return `pid ${p.pid} (${p.comm})`;
}

/**
 * The folders as /proc shows paths: real, without symlinks (the caller's may go through one, e.g. a
 * symlinked state folder). Artifact folders share a few parents, so each parent is resolved once and
 * thousands of folders cost a few realpath calls, not thousands.
 */
function canonicalAll(dirs: readonly string[]): string[] {
  const parents = new Map<string, string>();
  return dirs.map((dir) => {
    const absolute = resolve(dir);
    const parent = dirname(absolute);
    let real = parents.get(parent);
    if (real === undefined) {
      try {
        real = realpathSync(parent);
      } catch {
        real = parent;
      }
      parents.set(parent, real);
    }
    return join(real, basename(absolute));
  });
}
