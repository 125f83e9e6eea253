import { randomUUID } from "node:crypto";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { EngineError } from "../../core/index.js";

/** Set to 1 to open an empty store on purpose where the marker shows one existed. */
export const acceptFreshStoreVariable = "ENGINEROOM_ACCEPT_FRESH_STORE";

export interface StoreFileGuardOptions {
  acceptFresh: boolean;
  onLost: (error: EngineError) => void;
  intervalMs: number;
}

/**
 * Notices a SQLite store file that is deleted or replaced under a running engine, and one that is
 * missing at start although it existed before.
 *
 * SQLite keeps writing to a deleted file through its open descriptor, so nothing fails by itself:
 * the engine would go on, and the next start would create an empty store and forget every release,
 * lock and event. The guard compares the file's device and inode before every operation (one stat,
 * a few microseconds) and on a timer while the store is idle. At start, a marker next to the file,
 * `.<file>.id` (left out of `rm engineroom.db*`), tells a store that never existed from one that was
 * lost.
 */
export class StoreFileGuard {
  readonly #path: string;
  readonly #marker: string;
  readonly #options: StoreFileGuardOptions;
  #identity: { dev: number; ino: number } | undefined;
  #lost: EngineError | undefined;
  #timer: NodeJS.Timeout | undefined;
  #checkedAt = -Infinity;

  /** Throws STORE_LOST when the file is missing but its marker is there, unless `acceptFresh`. */
  constructor(path: string, options: StoreFileGuardOptions) {
    this.#path = path;
    this.#marker = join(dirname(path), `.${basename(path)}.id`);
    this.#options = options;
    if (!existsSync(path) && existsSync(this.#marker) && !options.acceptFresh) {
      throw new EngineError(
        "STORE_LOST",
        `The store file ${path} is missing, but ${this.#marker} shows that store ${markerId(this.#marker)} existed there; refusing to start on an empty store, which would forget every release, lock and event.`,
        { details: { path, marker: this.#marker } },
      );
    }
  }

  /** Call once the database is open: records the file and writes the marker, and starts the timer. */
  opened(): void {
    const stats = statSync(this.#path);
    this.#identity = { dev: stats.dev, ino: stats.ino };
    if (!existsSync(this.#marker) || this.#options.acceptFresh) {
      writeFileSync(this.#marker, JSON.stringify({ id: randomUUID(), file: basename(this.#path), createdAt: new Date().toISOString() }) + "\n");
    }
    this.#timer = setInterval(() => {
      try {
        this.check();
      } catch {
        this.stop(); // told once through onLost; operations keep throwing
      }
    }, this.#options.intervalMs);
    this.#timer.unref();
  }

  /** As `check`, but looks at the file at most once a second. */
  checkSoon(): void {
    if (this.#lost) throw this.#lost;
    if (performance.now() - this.#checkedAt >= 1000) this.check();
  }

  /** Throws STORE_LOST (the same error every time) once the file is gone or another file took its place. */
  check(): void {
    if (this.#lost) throw this.#lost;
    if (!this.#identity) return;
    this.#checkedAt = performance.now();
    const stats = statSync(this.#path, { throwIfNoEntry: false });
    if (stats && stats.dev === this.#identity.dev && stats.ino === this.#identity.ino) return;
    this.#lost = new EngineError(
      "STORE_LOST",
      `The store file ${this.#path} was ${stats ? "replaced by another file" : "deleted"} while the engine ran; nothing more is written to it, as it would be lost.`,
      {
        hint: "Stop the engine and restore the file from a backup (with its -wal file), then start it again; to go on with an empty store on purpose, start once with ENGINEROOM_ACCEPT_FRESH_STORE=1.",
        details: { path: this.#path, reason: stats ? "replaced" : "deleted" },
      },
    );
    this.#options.onLost(this.#lost);
    throw this.#lost;
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

function markerId(marker: string): string {
  try {
    const id = (JSON.parse(readFileSync(marker, "utf8")) as { id?: unknown }).id;
    return typeof id === "string" ? id : "(unnamed)";
  } catch {
    return "(unreadable marker)";
  }
}
