import { randomBytes } from "node:crypto";
import { mkdir, open, rename, rm, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

export interface AtomicWriteOptions {
  /** Mode of the written file. Default 0600. */
  mode?: number;
  /** Runs after the temporary file is complete and before it is renamed into place; tests use it to fail there. */
  beforeRename?: (temporary: string) => void | Promise<void>;
}

/** The temporary files `writeFileAtomic` uses for `file`: `.<name>.<pid>.<random>.tmp` beside it. */
export function isTemporaryOf(file: string, entry: string): boolean {
  const name = basename(file).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^\\.${name}\\.\\d+\\.[0-9a-f]+\\.tmp$`).test(entry);
}

/**
 * Replaces `file` with `data` so that a reader, or a crash at any moment, sees either the old
 * content or the new one, never a part: the data goes to a temporary file in the same folder
 * (created exclusively, with `mode`), is flushed to disk, and is renamed over `file`. On a failure
 * the temporary file is removed and `file` is left as it was.
 */
export async function writeFileAtomic(file: string, data: string, options: AtomicWriteOptions = {}): Promise<void> {
  const mode = options.mode ?? 0o600;
  const dir = dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temporary = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  let handle: FileHandle | undefined;
  try {
    handle = await open(temporary, "wx", mode);
    await handle.chmod(mode); // the umask may have taken bits away, or a strange one added none
    await handle.writeFile(data, "utf8");
    await handle.sync();
    await handle.close();
    handle = undefined;
    await options.beforeRename?.(temporary);
    await rename(temporary, file);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await rm(temporary, { force: true }).catch(() => undefined);
    throw error;
  }
  await syncFolder(dir);
}

/** Flushes a folder so a rename in it survives a power cut; some file systems refuse, which is fine. */
async function syncFolder(dir: string): Promise<void> {
  const handle = await open(dir, "r").catch(() => undefined);
  if (!handle) return;
  await handle.sync().catch(() => undefined);
  await handle.close().catch(() => undefined);
}
