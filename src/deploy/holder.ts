/**
 * Who holds a lease, and whether that process still runs. A lease records the holder's pid, host and
 * (where the host can tell) its process start time, so that a pid the system gave to another process
 * since is not taken for the holder.
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { processAlive } from "../core/index.js";
import type { LockHolder } from "../store/index.js";

/**
 * The start time of a process as Linux counts it: field 22 of /proc/<pid>/stat (clock ticks since
 * boot). Undefined when the process does not exist or the system has no /proc.
 */
export function processStartTime(pid: number): number | undefined {
  return procStat(pid)?.startTime;
}

/** State (field 3) and start time (field 22) of /proc/<pid>/stat; undefined without the file. */
function procStat(pid: number): { state: string; startTime: number } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const startTime = Number(fields[22 - 3]);
  return Number.isFinite(startTime) ? { state: fields[0] ?? "", startTime } : undefined;
}

/** True when /proc describes processes here (Linux); elsewhere only pid liveness can be checked. */
function hasProc(): boolean {
  return processStartTime(process.pid) !== undefined;
}

/** This process as a lease holder. */
export function thisHolder(command: string): LockHolder {
  const startTime = processStartTime(process.pid);
  return { command, pid: process.pid, host: hostname(), ...(startTime === undefined ? {} : { startTime }) };
}

/**
 * True when the holder is a process of this host that no longer runs: its pid is gone, or the pid now
 * belongs to a process that started at another time. A holder on another host is never called dead.
 */
export function holderIsDead(holder: Pick<LockHolder, "pid" | "host" | "startTime">): boolean {
  if (holder.host !== hostname()) return false;
  if (!processAlive(holder.pid)) return true;
  if (!hasProc()) return false;
  const now = procStat(holder.pid);
  if (!now) return true;
  // A zombie has exited and waits for its parent to collect it: it holds nothing any more.
  if (now.state === "Z" || now.state === "X") return true;
  return holder.startTime !== undefined && now.startTime !== holder.startTime;
}
