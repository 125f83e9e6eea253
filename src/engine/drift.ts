import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { EngineError } from "../core/index.js";
import type { InstanceView } from "../deploy/index.js";
import { detectDrift, FleetRuntime, type DriftFinding, type Runtime } from "../runtime/index.js";
import { readApplied } from "./apply.js";
import type { Engine } from "./engine.js";

/** Something that differs from what the engine started or applied; `host`: found on that host of a fleet. */
export type Drift = (DriftFinding & { host?: string }) | { kind: "config-file"; message: string };

/**
 * Looks for changes made outside the engine: instances' ports taken or gone quiet, processes started
 * by hand from an artifact folder, and engineroom.yaml edited without an apply.
 */
export async function scanDrift(engine: Engine): Promise<Drift[]> {
  const views = engine.environments.flatMap((environment) => environment.supervisor.releaseIds().flatMap((id) => environment.supervisor.view(id)));
  // Only instances past their health gate have their ports checked: one still starting is not listening yet, and that is no drift.
  const instances = portsChecked(views);
  // But every process group the runtime knows is accounted for: an instance starting, failing its
  // health check, being replaced or stopped, or just exited is no stray.
  const accounted = [...views.map((i) => i.pid), ...engine.runtime.list().map((i) => i.pid)].filter((pid): pid is number => pid !== undefined);
  const artifactDirs = (await engine.artifacts.list()).map((digest) => engine.artifacts.path(digest));
  // On a fleet, each host's instances are looked at on that host (below); this machine keeps the rest.
  const fleets = fleetsOf(engine.runtime);
  const here = instances.filter((i) => !fleets.some((fleet) => fleet.hostOf(i.id)));
  const drift: Drift[] = await detectDrift({ instances: here, accounted, artifactDirs });
  for (const fleet of fleets) drift.push(...(await hostsDrift(fleet, views)));
  const applied = (await readApplied(engine))?.fileHash ?? engine.project.fileHash;
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

function portsChecked(views: readonly InstanceView[]): { id: string; pid: number; port: number }[] {
  return views.filter((i) => i.healthy && i.status === "running" && i.pid !== undefined).map((i) => ({ id: i.id, pid: i.pid!, port: i.port }));
}

/** The fleets among the engine's runtimes: the runtime itself, or the parts of one made of several (`parts`). */
function fleetsOf(runtime: Runtime): FleetRuntime[] {
  if (runtime instanceof FleetRuntime) return [runtime];
  const parts = (runtime as { parts?: readonly Runtime[] }).parts;
  return parts ? parts.flatMap(fleetsOf) : [];
}

/**
 * Drift on every host of a fleet, found there by its agent with the host's own instances, tagged with
 * the host. A host that does not answer fails the scan (naming it), so that the last findings stand
 * rather than being recorded as resolved.
 */
async function hostsDrift(fleet: FleetRuntime, views: readonly InstanceView[]): Promise<Drift[]> {
  const each = await Promise.allSettled(
    fleet.hosts.map(async (host) => {
      const ids = new Set(host.runtime.list().map((i) => i.id));
      const mine = views.filter((v) => ids.has(v.id));
      const accounted = mine.flatMap((v) => (v.pid === undefined ? [] : [v.pid]));
      const findings = await host.runtime.drift({ instances: portsChecked(mine), accounted });
      return findings.map((f): Drift => ({ ...f, host: host.name, message: `host ${host.name}: ${f.message}` }));
    }),
  );
  const failed = fleet.hosts.filter((_, i) => each[i]!.status === "rejected").map((h) => h.name);
  if (failed.length > 0) {
    const why = each.flatMap((r) => (r.status === "rejected" ? [String((r.reason as Error)?.message ?? r.reason)] : []))[0];
    throw new EngineError("FLEET_HOST_FAILED", `Drift could not be scanned on host ${failed.join(", ")}: ${why}`, { details: { hosts: failed } });
  }
  return each.flatMap((r) => (r.status === "fulfilled" ? r.value : []));
}

/**
 * Scans for drift every `intervalMs`, recording `drift.detected` and `drift.resolved` events as
 * findings come and go. A stray process is reported once a scan finds it again (two scans in a
 * row): a process caught between a fork and the runtime's record of it, or left by a group just
 * stopped, is gone by the next scan.
 */
export class DriftWatch {
  #engine: Engine;
  #timer: NodeJS.Timeout | undefined;
  #last: Drift[] = [];
  /** The stray processes the last scan found, reported or not yet. */
  #strayPids = new Set<number>();
  #scanning = false;

  constructor(engine: Engine) {
    this.#engine = engine;
  }

  /** The findings of the last scan. */
  get findings(): readonly Drift[] {
    return this.#last;
  }

  start(intervalMs: number): void {
    this.#timer = setInterval(() => void this.#scan(), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /**
   * Scans now (`plan --refresh-only`): a stray process this scan finds for the first time is looked
   * at again `recheckMs` later (default 1 s), and reported if it is still there.
   */
  async scan(options: { recheckMs?: number } = {}): Promise<readonly Drift[]> {
    await this.#scan();
    const reported = new Set(this.#last.flatMap((d) => (d.kind === "stray-process" ? d.pids : [])));
    if ([...this.#strayPids].some((pid) => !reported.has(pid))) {
      await new Promise((resolve) => setTimeout(resolve, options.recheckMs ?? 1_000));
      await this.#scan();
    }
    return this.#last;
  }

  async #scan(): Promise<readonly Drift[]> {
    if (this.#scanning) return this.#last;
    this.#scanning = true;
    try {
      const scanned = await scanDrift(this.#engine);
      const seenBefore = this.#strayPids;
      this.#strayPids = new Set(scanned.flatMap((d) => (d.kind === "stray-process" ? d.pids : [])));
      const found = scanned.filter((d) => d.kind !== "stray-process" || d.pids.some((pid) => seenBefore.has(pid)));
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
