/**
 * What an instance's processes use, from Linux's /proc: CPU time (user + system) and resident memory,
 * summed over its process group. The group's leader is the instance's log shim: its own CPU time
 * counts, not that of the children it reaped (the app, once it has exited, which is then no member).
 * A member's reaped children (an app's workers that exited) count through its cutime and cstime.
 */
import { readFile } from "node:fs/promises";
import { allPids, readStatLine, slice, yieldToLoop } from "./procfs.js";

export interface GroupUsage {
  /** CPU time used so far by the group's processes (and their reaped children), ms. */
  cpuMs: number;
  /** Resident memory of the group's processes now (VmRSS summed), bytes. */
  rssBytes: number;
  /** Processes of the group found. */
  processes: number;
}

/** Clock ticks per second of /proc's times (USER_HZ): 100 on every architecture Linux exports to user space. */
const ticksPerSecond = 100;

/** Usage of each process group in `pgrps`, in one pass over /proc; a group with no process is left out. */
export async function groupUsage(pgrps: Iterable<number>): Promise<Map<number, GroupUsage>> {
  const wanted = new Set(pgrps);
  const usage = new Map<number, GroupUsage & { ticks: number }>();
  if (wanted.size === 0) return new Map();
  let count = 0;
  for (const pid of allPids()) {
    if (++count % slice === 0) await yieldToLoop();
    const text = readStatLine(pid);
    if (text === undefined) continue;
    // After "pid (comm) ": state ppid pgrp … utime (field 14 of the line) stime cutime cstime.
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    const pgrp = Number(fields[2]);
    if (!wanted.has(pgrp)) continue;
    const [utime, stime, cutime, cstime] = [11, 12, 13, 14].map((i) => Number(fields[i]));
    const ticks = utime! + stime! + (pid === pgrp ? 0 : cutime! + cstime!);
    const entry = usage.get(pgrp) ?? { cpuMs: 0, rssBytes: 0, processes: 0, ticks: 0 };
    entry.ticks += ticks;
    entry.processes++;
    entry.rssBytes += await residentBytes(pid);
    usage.set(pgrp, entry);
  }
  return new Map([...usage].map(([pgrp, { ticks, rssBytes, processes }]) => [pgrp, { cpuMs: (ticks * 1000) / ticksPerSecond, rssBytes, processes }]));
}

/** VmRSS of /proc/<pid>/status in bytes; 0 for a zombie (it has none) or a process gone meanwhile. */
async function residentBytes(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, "latin1").catch(() => "");
  const kb = /^VmRSS:\s*(\d+) kB$/m.exec(text)?.[1];
  return kb === undefined ? 0 : Number(kb) * 1024;
}
