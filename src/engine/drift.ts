import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { detectDrift, type DriftFinding } from "../runtime/index.js";
import { readApplied } from "./apply.js";
import type { Engine } from "./engine.js";

/** Something that differs from what the engine started or applied. */
export type Drift = DriftFinding | { kind: "config-file"; message: string };

/**
 * Looks for changes made outside the engine: instances' ports taken or gone quiet, processes started
 * by hand from an artifact folder, and engineroom.yaml edited without an apply.
 */
export async function scanDrift(engine: Engine): Promise<Drift[]> {
  const instances = engine.environments.flatMap((environment) =>
    environment.supervisor
      .releaseIds()
      .flatMap((id) => environment.supervisor.view(id))
      // Only instances past their health gate: one still starting is not listening yet, and that is no drift.
      .filter((i) => i.healthy && i.status === "running" && i.pid !== undefined)
      .map((i) => ({ id: i.id, pid: i.pid!, port: i.port })),
  );
  const artifactDirs = (await engine.artifacts.list()).map((digest) => engine.artifacts.path(digest));
  const drift: Drift[] = await detectDrift({ instances, artifactDirs });
  const applied = readApplied(engine)?.fileHash ?? engine.project.fileHash;
  let now: string | undefined;
  try {
    now = createHash("sha256").update(readFileSync(engine.project.file)).digest("hex");
  } catch {
    now = undefined;
  }
  if (now !== applied) {
    drift.push({
      kind: "config-file",
      message: now ? `${engine.project.file} was edited since it was last applied; \`engineroom plan\` shows what apply would change` : `${engine.project.file} is gone`,
    });
  }
  return drift;
}

/** Scans for drift every `intervalMs`, recording `drift.detected` and `drift.resolved` events as findings come and go. */
export class DriftWatch {
  #engine: Engine;
  #timer: NodeJS.Timeout | undefined;
  #last: Drift[] = [];
  #scanning = false;

  constructor(engine: Engine) {
    this.#engine = engine;
  }

  /** The findings of the last scan. */
  get findings(): readonly Drift[] {
    return this.#last;
  }

  start(intervalMs: number): void {
    this.#timer = setInterval(() => void this.scan(), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async scan(): Promise<readonly Drift[]> {
    if (this.#scanning) return this.#last;
    this.#scanning = true;
    try {
      const found = await scanDrift(this.#engine);
      const before = new Set(this.#last.map((d) => d.message));
      const after = new Set(found.map((d) => d.message));
      for (const d of found.filter((d) => !before.has(d.message))) {
        await this.#engine.store.events.append({ type: "drift.detected", message: d.message, data: { ...d } });
      }
      for (const d of this.#last.filter((d) => !after.has(d.message))) {
        await this.#engine.store.events.append({ type: "drift.resolved", message: `resolved: ${d.message}`, data: { ...d } });
      }
      this.#last = found;
    } catch (error) {
      this.#engine.logger.warn("drift scan failed", { error: String(error) });
    } finally {
      this.#scanning = false;
    }
    return this.#last;
  }
}
