/**
 * The files the local runtime keeps per instance in `<stateDir>/instances/`, so that an instance
 * outlives the engine that started it and a later engine can adopt it:
 *
 * - `<id>.json`: the record (what was started, and which process runs it), written by the runtime;
 * - `<id>.exit`: how the app ended (code or signal), written by the instance's log shim;
 * - `<id>.shim-errors`: the shim's own standard error, for a shim that could not do its job.
 *
 * Every file is written atomically (a temporary file, then rename) with mode 0600.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** What an instance id and a service name may be: each becomes a file name, under `instances/` and the log folder. */
export const safeName = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** One instance as the runtime started it: enough to find its process again and check it is the same. */
export interface InstanceRecord {
  version: 1;
  id: string;
  service: string;
  releaseId: string;
  labels: Record<string, string>;
  cwd: string;
  host: string;
  port: number;
  /** The log shim's pid: it leads the instance's session and process group. */
  pid: number;
  /** Field 22 of /proc/<pid>/stat when it started: with the pid, it names the process for good. */
  pidStartTime: number;
  logPath: string;
  startedAt: number;
}

/** What the shim records when its app has exited and its output is on disk. */
export interface ExitRecord {
  code: number | null;
  signal: string | null;
  /** Set when the app could not be started at all. */
  error?: string;
  exitedAt: number;
}

/** What the runtime hands the shim on its standard input, once, as JSON. */
export interface ShimStart {
  command: string;
  cwd: string;
  /** The app's whole environment: it may hold secret values, so it never goes in argv or the shim's env. */
  env: Record<string, string>;
  logPath: string;
  logMaxBytes: number;
  logFiles: number;
  exitPath: string;
  /** [name, value] pairs to redact from the output (core Redactor.entries()). */
  secrets: Array<[string, string]>;
}

export class InstanceFiles {
  readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, "instances");
  }

  ensure(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  recordPath(id: string): string {
    return join(this.dir, `${id}.json`);
  }

  exitPath(id: string): string {
    return join(this.dir, `${id}.exit`);
  }

  shimErrorsPath(id: string): string {
    return join(this.dir, `${id}.shim-errors`);
  }

  write(record: InstanceRecord): void {
    writeAtomic(this.recordPath(record.id), JSON.stringify(record, null, 2) + "\n");
  }

  /** Every readable record; a damaged one is handed to `onDamaged` (with its file name) and skipped. */
  readAll(onDamaged: (file: string) => void): InstanceRecord[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const records: InstanceRecord[] = [];
    for (const name of names.filter((n) => n.endsWith(".json")).sort()) {
      try {
        const record = JSON.parse(readFileSync(join(this.dir, name), "utf8")) as InstanceRecord;
        if (record.version !== 1 || `${record.id}.json` !== name || !Number.isInteger(record.pid) || record.pid <= 1) throw new Error("not a record");
        records.push(record);
      } catch {
        onDamaged(name);
      }
    }
    return records;
  }

  /** How the instance's app ended, if its shim got to record it. */
  readExit(id: string): ExitRecord | undefined {
    try {
      return JSON.parse(readFileSync(this.exitPath(id), "utf8")) as ExitRecord;
    } catch {
      return undefined;
    }
  }

  /** What the shim printed about itself (a few lines at most), or "". */
  readShimErrors(id: string): string {
    try {
      return readFileSync(this.shimErrorsPath(id), "utf8").slice(-2_000).trim();
    } catch {
      return "";
    }
  }

  /** Removes every file of the instance (its log stays, elsewhere). */
  remove(id: string): void {
    for (const path of [this.recordPath(id), this.exitPath(id), this.shimErrorsPath(id)]) rmSync(path, { force: true });
  }

  /** Removes the exit and error files a previous instance with this id may have left. */
  clearExit(id: string): void {
    for (const path of [this.exitPath(id), this.shimErrorsPath(id)]) rmSync(path, { force: true });
  }
}

/** Writes a file so that a reader sees the old content or the new, never a part: temp file, then rename. */
export function writeAtomic(path: string, text: string): void {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, text, { mode: 0o600 });
  renameSync(temp, path);
}
