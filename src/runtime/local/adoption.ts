import { realpathSync } from "node:fs";
import type { InstanceFiles, InstanceRecord } from "./instance-files.js";
import { readCwd, readStat, type ProcSnapshot } from "./procfs.js";

/**
 * Why a record does not describe a running process this runtime may adopt, or undefined when it
 * does: the shim's pid runs, started at the recorded time (so it is the same process, not a reused
 * pid), still leads its process group, and works in the recorded folder.
 *
 * A record whose process is gone has what is left of its process group killed here: the group
 * outlives its leader while members remain, and no other group can take its id meanwhile, so those
 * members are the instance's own (its app, when its shim was killed).
 */
export function whyNotAdoptable(record: InstanceRecord, files: InstanceFiles, snapshot: ProcSnapshot): string | undefined {
  const { id, pid, pidStartTime } = record;
  const found = readStat(pid);
  if (!found || found.state === "Z") {
    const exit = files.readExit(id);
    for (const member of snapshot.groups.get(pid) ?? []) {
      try {
        process.kill(member, "SIGKILL");
      } catch {
        // gone meanwhile
      }
    }
    return exit ? `it exited (${exit.signal ?? `code ${exit.code}`})` : "its process is gone";
  }
  if (found.startTime !== pidStartTime) return `pid ${pid} now belongs to another process; leaving that process alone`;
  if (found.pgrp !== pid) return `process ${pid} no longer leads its process group; leaving it alone`;
  const cwd = readCwd(pid);
  if (cwd === undefined || cwd !== realOrSelf(record.cwd)) return `process ${pid} works in another folder than ${record.cwd}; leaving it alone`;
  return undefined;
}

function realOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
