/**
 * Reading Linux's /proc, for the local runtime: processes (state, group, start time, working folder),
 * listening TCP sockets and which process holds them. No dependencies; nothing here decides anything
 * (the rules live in drift.ts and local-runtime.ts).
 *
 * Reads are synchronous in slices of a few hundred processes with a yield to the event loop between
 * them: several times faster than one promise per file, and the loop stays free.
 */
import { closeSync, openSync, readdirSync, readlinkSync, readSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { endianness } from "node:os";

/** A listening TCP socket from /proc/net/tcp or tcp6. */
export interface Listener {
  address: string;
  port: number;
  inode: number;
}

/** What /proc/<pid>/stat says of a process. */
export interface ProcessInfo {
  pid: number;
  /** One letter: R running, S sleeping, Z zombie, ... */
  state: string;
  ppid: number;
  pgrp: number;
  /** The executable's name as the kernel keeps it (15 characters at most): never its arguments, which may hold secrets. */
  comm: string;
  /** When it started, in clock ticks since boot (field 22): with the pid, it names one process for good. */
  startTime: number;
}

const littleEndian = endianness() === "LE";
/** Processes read between two yields to the event loop: keeps each synchronous slice around a millisecond. */
export const slice = 256;

/** Every TCP socket in state LISTEN (0A), IPv4 and IPv6, with its local address decoded. */
export async function readListeners(): Promise<Listener[]> {
  const listeners: Listener[] = [];
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const text = await readFile(file, "utf8").catch(() => ""); // tcp6 is absent when IPv6 is off
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || fields[3] !== "0A") continue;
      const [hexAddress, hexPort] = fields[1]!.split(":");
      listeners.push({ address: decodeAddress(hexAddress!), port: parseInt(hexPort!, 16), inode: Number(fields[9]) });
    }
  }
  return listeners;
}

/**
 * Listening sockets by local port: port → socket inodes. A port may have several (IPv4 and IPv6,
 * several addresses, or SO_REUSEPORT — the way a second process can share a port unnoticed).
 */
export async function listeningSockets(): Promise<Map<number, number[]>> {
  const byPort = new Map<number, number[]>();
  for (const { port, inode } of await readListeners()) {
    if (inode === 0) continue;
    const inodes = byPort.get(port);
    if (!inodes) byPort.set(port, [inode]);
    else if (!inodes.includes(inode)) inodes.push(inode);
  }
  return byPort;
}

/**
 * Which process holds each socket inode: inode → pid, from the `socket:[inode]` links in
 * /proc/<pid>/fd. Scans `pids` (default: every process) in that order and stops once all are found;
 * processes we may not read (another user's) or that exit meanwhile are skipped, so an inode may stay
 * unknown. A socket shared by several processes maps to the first one scanned.
 */
export async function socketOwners(inodes: Iterable<number>, pids?: Iterable<number>): Promise<Map<number, number>> {
  const wanted = new Set(inodes);
  const owners = new Map<number, number>();
  let count = 0;
  for (const pid of pids ?? allPids()) {
    if (owners.size === wanted.size) break;
    if (++count % slice === 0) await yieldToLoop();
    for (const inode of socketInodes(pid)) {
      if (wanted.has(inode) && !owners.has(inode)) owners.set(inode, pid);
    }
  }
  return owners;
}

/** Listening sockets and process groups, read once for many questions (adopting many instances). */
export interface ProcSnapshot {
  listeners: Map<number, number[]>;
  /** pgrp → its live members (zombies left out). */
  groups: Map<number, number[]>;
}

/** Reads a ProcSnapshot: one pass over /proc/net/tcp{,6} and one over every process's stat. */
export async function procSnapshot(): Promise<ProcSnapshot> {
  const listeners = await listeningSockets();
  const groups = new Map<number, number[]>();
  let count = 0;
  for (const pid of allPids()) {
    if (++count % slice === 0) await yieldToLoop();
    const info = readStat(pid);
    if (!info || info.state === "Z") continue;
    const members = groups.get(info.pgrp);
    if (members) members.push(pid);
    else groups.set(info.pgrp, [pid]);
  }
  return { listeners, groups };
}

/** True when a process of process group `pgrp` listens on TCP `port` (any address). */
export async function groupListensOn(pgrp: number, port: number, snapshot?: ProcSnapshot): Promise<boolean> {
  const inodes = (snapshot?.listeners ?? (await listeningSockets())).get(port) ?? [];
  if (inodes.length === 0) return false;
  const owners = await socketOwners(inodes, snapshot ? (snapshot.groups.get(pgrp) ?? []) : groupMembers(pgrp));
  return owners.size > 0;
}

export function allPids(): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

/** The pids of process group `pgrp`, its leader included, zombies left out. */
function groupMembers(pgrp: number): number[] {
  return allPids().filter((pid) => {
    const info = readStat(pid);
    return info !== undefined && info.pgrp === pgrp && info.state !== "Z";
  });
}

/**
 * Sends `signal` to every member of process group `pgrp` but `except` (the group's log shim, which
 * must outlive its app to drain its output). Repeats a few times, for members forked meanwhile.
 * Errors (a member gone, or not ours) are ignored: this runs from event handlers.
 */
export function signalGroupExcept(pgrp: number, except: number, signal: NodeJS.Signals): void {
  for (let round = 0; round < 3; round++) {
    const members = groupMembers(pgrp).filter((pid) => pid !== except);
    if (members.length === 0) return;
    for (const pid of members) {
      try {
        process.kill(pid, signal);
      } catch {
        // see above
      }
    }
  }
}

/** One buffer for every stat line (well under 1 KiB): readFileSync costs ten times more on /proc, whose files report size 0. */
const statBuffer = Buffer.alloc(4096);

/** A process's stat line, or undefined if it is gone. */
export function readStatLine(pid: number): string | undefined {
  try {
    const fd = openSync(`/proc/${pid}/stat`, "r");
    try {
      return statBuffer.toString("latin1", 0, readSync(fd, statBuffer, 0, statBuffer.length, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

/** A process's stat; undefined if it is gone. */
export function readStat(pid: number): ProcessInfo | undefined {
  const text = readStatLine(pid);
  if (text === undefined) return undefined;
  // "pid (comm) state ppid pgrp session tty_nr tpgid flags ..."; comm may hold spaces and ")".
  const close = text.lastIndexOf(")");
  const fields = text.slice(close + 2).split(" ");
  return {
    pid,
    state: fields[0]!,
    ppid: Number(fields[1]),
    pgrp: Number(fields[2]),
    comm: text.slice(text.indexOf("(") + 1, close),
    startTime: Number(fields[19]), // field 22 of the line, counted from 1 with pid and comm
  };
}

/**
 * Whether the process `pid` that started at `startTime` still runs. A zombie counts as gone (it has
 * exited; where PID 1 does not reap orphans it may stay a zombie), and so does a pid now used by
 * another process (its start time differs).
 */
export function isRunning(pid: number, startTime: number): boolean {
  const info = readStat(pid);
  return info !== undefined && info.startTime === startTime && info.state !== "Z";
}

/**
 * Which signals a process catches (has a handler for), from the SigCgt mask of /proc/<pid>/status;
 * undefined if it is gone. `caught & (1n << BigInt(n - 1))` tests signal number n.
 */
export async function caughtSignals(pid: number): Promise<bigint | undefined> {
  const text = await readFile(`/proc/${pid}/status`, "latin1").catch(() => undefined);
  const hex = text?.match(/^SigCgt:\s*([0-9a-f]+)$/m)?.[1];
  return hex === undefined ? undefined : BigInt(`0x${hex}`);
}

/** The working folder of a process, or undefined (another user's process, or gone). */
export function readCwd(pid: number): string | undefined {
  try {
    // A folder removed while in use reads as "<path> (deleted)": still where the process works.
    return readlinkSync(`/proc/${pid}/cwd`).replace(/ \(deleted\)$/, "");
  } catch {
    return undefined;
  }
}

/** The socket inodes among a process's open files; none if we may not read them. */
export function socketInodes(pid: number): number[] {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return [];
  }
  const inodes: number[] = [];
  for (const fd of fds) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    if (target.startsWith("socket:[")) inodes.push(Number(target.slice(8, -1)));
  }
  return inodes;
}

/** A /proc/net address: IPv4 as one, IPv6 as four 32-bit words, each printed in the host's byte order. */
function decodeAddress(hex: string): string {
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((word) => {
    const b = [0, 2, 4, 6].map((i) => parseInt(word.slice(i, i + 2), 16));
    return littleEndian ? b.reverse() : b;
  });
  if (bytes.length === 4) return bytes.join(".");
  const groups = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(":").replace(/(^|:)0(:0)+(:|$)/, "::");
}

export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
