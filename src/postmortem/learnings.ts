/**
 * The learning log: dated entries (date, learning, source) of what the project learned, from each
 * resolved incident, each drill, and people. Kept in the store, exported as a Markdown table to a
 * file of the project after every append, and shown by `plan` and `deploy` for the services they touch.
 */
import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { EngineError, newId, redactor, type Clock } from "../core/index.js";
import type { LearningEntry, LearningQuery, Store } from "../store/index.js";

/** What is appended to the learning log. */
export interface NewLearning {
  /** When it was learned, epoch ms; default now. */
  date?: number;
  learning: string;
  /** Where it comes from, as shown: `incident <id>`, `drill <name>`, a person's name. */
  source: string;
  /** The services it is about (at least one). */
  services: string[];
  environment?: string;
  /** A key for an entry the engine appends (`incident:<id>`, `drill:<run id>`): appended once, whatever the retries. */
  key?: string;
}

export interface LearningLogOptions {
  store: Pick<Store, "learnings">;
  clock: Clock;
  /** The absolute path of the Markdown export; without one, nothing is written to a file. */
  exportPath?: string;
  onError?: (error: unknown) => void;
}

/** The learning log, as the engine keeps it: `engine.learnings`. */
export class LearningLog {
  readonly #o: LearningLogOptions;
  #writing: Promise<void> = Promise.resolve();

  constructor(options: LearningLogOptions) {
    this.#o = options;
  }

  /**
   * Appends a dated entry (LEARNING_INVALID without text or a service) and rewrites the Markdown
   * export; an entry whose `key` is already in the log is not appended again (the first is answered).
   *
   * @example await engine.learnings.append({ learning: "web v3: error rate 23% after deploy; rolled back in 41 s", source: "incident inc_…", services: ["web"], environment: "production", key: "incident:inc_…" })
   */
  async append(input: NewLearning): Promise<LearningEntry> {
    const learning = redactor.redact(input.learning.trim().replace(/\s+/g, " "));
    const services = [...new Set(input.services.map((s) => s.trim()).filter(Boolean))];
    if (!learning) throw new EngineError("LEARNING_INVALID", "A learning needs its text.");
    if (services.length === 0) throw new EngineError("LEARNING_INVALID", "A learning is about at least one service (--service).");
    if (!input.source.trim()) throw new EngineError("LEARNING_INVALID", "A learning needs its source (an incident, a drill, a person).");
    const now = this.#o.clock.now();
    const id = newId("lrn", now);
    const entry = await this.#o.store.learnings.append({
      id,
      date: input.date ?? now,
      learning,
      source: input.source.trim(),
      services,
      environment: input.environment ?? null,
      key: input.key ?? null,
      createdAt: now,
    });
    if (entry.id === id) await this.export(); // an entry of a key already there changed nothing
    return entry;
  }

  /** The entries, oldest first (`newest`: newest first), of a service and from a date when given. */
  list(query: LearningQuery = {}): Promise<LearningEntry[]> {
    return this.#o.store.learnings.list(query);
  }

  /** The latest `perService` entries about each of `services`, newest first: what `plan` and `deploy` show. */
  async latest(services: readonly string[], perService = 3): Promise<Record<string, LearningEntry[]>> {
    const out: Record<string, LearningEntry[]> = {};
    for (const service of new Set(services)) {
      const entries = await this.#o.store.learnings.list({ service, newest: true, limit: perService });
      if (entries.length > 0) out[service] = entries;
    }
    return out;
  }

  /** Rewrites the Markdown export from the store (one write at a time; a failure is reported, never thrown). */
  export(): Promise<void> {
    const path = this.#o.exportPath;
    if (!path) return Promise.resolve();
    const run = this.#writing.then(async () => {
      try {
        const entries = await this.#o.store.learnings.list({ limit: 100_000 });
        await mkdir(dirname(path), { recursive: true });
        const tmp = `${path}.tmp-${process.pid}`;
        await writeFile(tmp, learningLogMarkdown(entries));
        await rename(tmp, path);
      } catch (error) {
        this.#o.onError?.(error);
      }
    });
    this.#writing = run;
    return run;
  }
}

/** `yyyy-mm-dd` of an epoch-ms time, in UTC. */
export function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** A table cell: one line, pipes escaped. */
export function cell(text: string): string {
  return text.replace(/\r?\n/g, " ").replace(/\|/g, "\\|");
}

/** The learning log as Markdown: a table of date | learning | source, oldest first. */
export function learningLogMarkdown(entries: readonly LearningEntry[]): string {
  const lines = [
    "# Learning log",
    "",
    "Written by Engineroom from its store after every entry (`engineroom learnings add --service <service> \"text\"` adds one); edits here are overwritten.",
    "",
    "| date | learning | source |",
    "|---|---|---|",
    ...entries.map((e) => `| ${isoDate(e.date)} | ${cell(e.learning)} | ${cell(e.source)} |`),
    "",
  ];
  return lines.join("\n");
}
