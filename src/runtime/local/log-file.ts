import { access, open, readdir, rename, rm, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { safeName } from "./instance-files.js";

/** A line longer than this many characters is cut into pieces, so a program that never prints a
 * newline cannot make the engine buffer without bound. */
const maxLineChars = 16 * 1024;

/**
 * Splits a byte stream into lines. `end()` hands over a last line that had no newline; calling it
 * again does nothing.
 */
export class LineSplitter {
  #decoder = new StringDecoder("utf8");
  #partial = "";
  #ended = false;

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer): void {
    if (this.#ended) return;
    const parts = (this.#partial + this.#decoder.write(chunk)).split("\n");
    this.#partial = parts.pop()!;
    for (const part of parts) this.onLine(part.endsWith("\r") ? part.slice(0, -1) : part);
    while (this.#partial.length > maxLineChars) {
      this.onLine(this.#partial.slice(0, maxLineChars));
      this.#partial = this.#partial.slice(maxLineChars);
    }
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    const rest = this.#partial + this.#decoder.end();
    this.#partial = "";
    if (rest) this.onLine(rest);
  }
}

export interface LogWriterOptions {
  path: string;
  /** The current file is rotated before a line would take it past this size. */
  maxBytes: number;
  /** How many rotated files (`path.1` … `path.N`) are kept. */
  files: number;
  /** Told once about a write that failed; the lines are dropped rather than crash the engine. */
  onError?: (error: unknown) => void;
}

/**
 * Appends lines to a log file in the background, in the order they were written, rotating it at
 * `maxBytes`: `path` → `path.1` → … → `path.<files>`, the oldest dropped.
 */
export class LogWriter {
  readonly #options: LogWriterOptions;
  #pending: string[] = [];
  #pendingChars = 0;
  #handle: FileHandle | undefined;
  #size = 0;
  #draining: Promise<void> | undefined;
  #failed = false;

  constructor(options: LogWriterOptions) {
    this.#options = options;
  }

  /** Characters written but not yet on disk; the caller pauses its source when this grows. */
  get pendingChars(): number {
    return this.#pendingChars;
  }

  /** Queues one line (without its newline). */
  write(line: string): void {
    this.#pending.push(line + "\n");
    this.#pendingChars += line.length + 1;
    this.#kick();
  }

  /** Resolves once every line written so far is on disk. */
  async flush(): Promise<void> {
    while (this.#draining) await this.#draining;
  }

  /** Flushes and closes the file. Writing again reopens it. */
  async close(): Promise<void> {
    await this.flush();
    await this.#handle?.close();
    this.#handle = undefined;
  }

  #kick(): void {
    if (this.#draining || this.#pending.length === 0) return;
    this.#draining = this.#drain().finally(() => {
      this.#draining = undefined;
      this.#kick();
    });
  }

  async #drain(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending;
      this.#pending = [];
      this.#pendingChars = 0;
      try {
        await this.#writeBatch(batch);
      } catch (error) {
        if (!this.#failed) this.#options.onError?.(error);
        this.#failed = true;
      }
    }
  }

  async #writeBatch(lines: string[]): Promise<void> {
    if (!this.#handle) {
      this.#handle = await open(this.#options.path, "a");
      this.#size = (await this.#handle.stat()).size;
    }
    let chunk: Buffer[] = [];
    let chunkBytes = 0;
    for (const line of lines) {
      const bytes = Buffer.from(line);
      if (this.#size + chunkBytes + bytes.length > this.#options.maxBytes && this.#size + chunkBytes > 0) {
        await this.#append(chunk);
        chunk = [];
        chunkBytes = 0;
        await this.#rotate();
      }
      chunk.push(bytes);
      chunkBytes += bytes.length;
    }
    await this.#append(chunk);
  }

  async #append(chunk: Buffer[]): Promise<void> {
    if (chunk.length === 0) return;
    const bytes = Buffer.concat(chunk);
    await this.#handle!.write(bytes);
    this.#size += bytes.length;
  }

  async #rotate(): Promise<void> {
    const { path, files } = this.#options;
    await this.#handle!.close();
    this.#handle = undefined;
    for (let i = files - 1; i >= 1; i--) await renameIfExists(`${path}.${i}`, `${path}.${i + 1}`);
    if (files >= 1) await rename(path, `${path}.1`);
    else await rm(path, { force: true });
    this.#handle = await open(path, "a");
    this.#size = 0;
  }
}

async function renameIfExists(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}

/**
 * The last `count` lines of a log and its rotated files (`path`, then `path.1`, `path.2`, …),
 * oldest first. Reads each file backwards in chunks, so a large log is not read whole.
 */
export async function tailLog(path: string, count: number, chunkBytes = 64 * 1024): Promise<string[]> {
  const lines: string[] = [];
  for (let i = 0; lines.length < count; i++) {
    const file = i === 0 ? path : `${path}.${i}`;
    const found = await tailFile(file, count - lines.length, chunkBytes);
    if (!found) break;
    lines.unshift(...found);
  }
  return lines;
}

/** The last `count` lines of one file, or undefined when the file does not exist. */
async function tailFile(path: string, count: number, chunkBytes: number): Promise<string[] | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  try {
    let position = (await handle.stat()).size;
    const chunks: Buffer[] = [];
    let newlines = 0;
    // One newline more than lines wanted proves the first wanted line is complete; the final
    // newline of the file ends the last line and does not start a new one.
    while (position > 0 && newlines <= count) {
      const length = Math.min(chunkBytes, position);
      position -= length;
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, position);
      chunks.unshift(buffer);
      for (const byte of buffer) if (byte === 0x0a) newlines++;
    }
    // UTF-8 never uses 0x0a inside a character, so splitting the joined bytes is safe; a character
    // cut at the first chunk's start lies in the partial first line, which is dropped.
    const lines = Buffer.concat(chunks).toString("utf8").split("\n");
    if (lines.at(-1) === "") lines.pop();
    if (position > 0) lines.shift();
    return lines.slice(-count);
  } finally {
    await handle.close();
  }
}

/** The log file of instance `id` under `<logDir>/<service>/`, whatever its service; undefined if none (or `id` is no safe name). */
export async function findLog(logDir: string, id: string): Promise<string | undefined> {
  if (!safeName.test(id)) return undefined;
  let services: string[];
  try {
    services = await readdir(logDir);
  } catch {
    return undefined;
  }
  for (const service of services) {
    const path = join(logDir, service, `${id}.log`);
    if (await access(path).then(() => true, () => false)) return path;
  }
  return undefined;
}
