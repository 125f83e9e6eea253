import { execFileSync } from "node:child_process";
import { loadProject, type LoadedProject } from "../config/index.js";
import { EngineError, toEngineError } from "../core/index.js";
import { promote, type Progress } from "../deploy/index.js";
import { priceSheetOf, withCost } from "../cost/index.js";
import { desiredState, plan as makePlan, staleReason, type Change, type CurrentState, type Plan } from "../plan/index.js";
import type { Engine } from "./engine.js";
import { appliedKey } from "./state-store.js";

export interface AppliedRevision {
  fileHash: string;
  /** The git commit of the project folder, with "+dirty" when engineroom.yaml differs from it. */
  gitCommit: string | null;
  at: string;
}

/** What runs and was recorded, environment × service: the plan's CurrentState. */
export async function currentState(engine: Engine): Promise<CurrentState> {
  const environments: Record<string, { services: Record<string, CurrentState["environments"][string]["services"][string]> }> = {};
  const configs = engine.configSnapshots;
  for (const environment of engine.environments) {
    const services: Record<string, CurrentState["environments"][string]["services"][string]> = {};
    for (const record of await engine.store.live.list(environment.name)) {
      const release = await engine.store.releases.get(record.releaseId);
      if (!release) continue;
      const config = await configs.load(release.configHash);
      services[record.service] = {
        live: { id: release.id, number: release.number, artifactDigest: release.artifactDigest, configHash: release.configHash, state: release.state },
        config,
        runningInstances: environment.supervisor.upstreams(release.id).length,
        routes: config?.routes ?? [],
      };
    }
    environments[environment.name] = { services };
  }
  return { environments, appliedFileHash: (await readApplied(engine))?.fileHash ?? engine.project.fileHash };
}

/** Plans the project as engineroom.yaml declares it now (read afresh) against what runs. */
export async function planProject(engine: Engine): Promise<{ plan: Plan; project: LoadedProject }> {
  const project = loadProject(engine.project.file);
  const known = new Set(engine.environments.map((e) => e.name));
  const added = project.config.environments.filter((e) => !known.has(e.name)).map((e) => e.name);
  if (added.length > 0) {
    throw new EngineError("PLAN_INVALID", `The file declares environments the running engine does not have (${added.join(", ")}); restart the engine to add them.`);
  }
  const desired = desiredState(project.config, project.fileHash);
  const current = await currentState(engine);
  const made = makePlan(desired, current);
  // The price sheet as the file declares it now, like the rest of the plan.
  const sheet = priceSheetOf(project.config.cost);
  const plan = sheet ? withCost(made, { desired, current, sheet, measured: await engine.cost.measured() }) : made;
  return { plan, project };
}

/** How an apply is run: who asks, and whether a promotion may go ahead although its budget is spent. */
export interface ApplyOptions {
  actor?: string;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** The reason to promote although the service's error budget there is spent (recorded per promotion as `slo.budget-overridden`). */
  overrideBudget?: string;
  /** Apply although the plan raises the monthly cost over `cost.budget.max_monthly_increase` (recorded as `cost.budget-approved`). */
  approveCost?: boolean;
}

/**
 * Applies a plan: re-plans, refuses if `saved` no longer matches what runs (PLAN_STALE), then takes
 * each environment's writer lock and converges service by service, each change with the same
 * zero-downtime release pipeline as a deploy. A failed step stops the apply: what was done stays
 * done and serving, and the error says what was not done. A promotion (a service's first release in
 * a later environment) passes the same error-budget guardrail as `promote`: SLO_BUDGET_EXHAUSTED,
 * before anything changes, unless `overrideBudget` gives a reason.
 */
export async function applyPlan(engine: Engine, saved: Plan | undefined, options: ApplyOptions = {}) {
  const { plan, project } = await planProject(engine);
  if (saved) {
    const stale = staleReason(saved, plan);
    if (stale) throw new EngineError("PLAN_STALE", `The saved plan no longer matches what runs: ${stale}. Nothing was changed.`);
  }
  const pending = plan.changes.filter((c) => c.action !== "no-op" || c.drift.length > 0);
  const blocked = pending.filter((c) => c.blockedBy);
  if (blocked.length > 0) {
    throw new EngineError("PLAN_BLOCKED", `Some changes cannot be applied yet: ${blocked.map((c) => `${c.service} (${c.environment}): ${c.blockedBy}`).join("; ")}. Nothing was changed.`);
  }
  await guardCost(engine, plan, options);
  // Every promotion's budget before the first change, so that a refusal leaves the whole apply undone;
  // overridden (a reason given), each is recorded as it is made (in applyChange).
  if (!options.overrideBudget?.trim()) {
    for (const change of pending) if (change.step?.kind === "promote") await guardBudget(engine, change, options);
  }
  const revision: AppliedRevision = { fileHash: project.fileHash, gitCommit: gitRevision(project.dir, project.file), at: new Date(engine.clock.now()).toISOString() };
  const progress = options.onProgress ?? (() => {});
  await engine.store.events.append({ type: "apply.started", message: `apply of ${pending.length} change(s), config ${revision.fileHash.slice(0, 12)}${revision.gitCommit ? ` at ${revision.gitCommit}` : ""}`, data: { ...revision, changes: pending.length, planHash: plan.hash } });
  // The engine runs what the file declares from now on, for the changes below and for later deploys.
  for (const environment of engine.environments) {
    const next = project.config.environments.find((e) => e.name === environment.name);
    if (next) environment.config = next;
  }
  const done: string[] = [];
  for (const change of pending) {
    const label = `${change.action} ${change.service} (${change.environment})`;
    progress({ step: "apply", message: `${label}: ${change.reason}` });
    try {
      await applyChange(engine, change, options);
      done.push(label);
    } catch (error) {
      const failure = toEngineError(error);
      const left = pending.slice(done.length + 1).map((c) => `${c.action} ${c.service} (${c.environment})`);
      await engine.store.events.append({ type: "apply.failed", message: `apply stopped at ${label}: ${failure.message}`, data: { ...revision, done, failed: label, notDone: left } });
      throw new EngineError(failure.code, `apply stopped at ${label}: ${failure.message}. Done: ${done.join(", ") || "nothing"}. Not done: ${left.join(", ") || "nothing"}. Every service keeps serving.`, {
        hint: failure.hint,
        details: { done, failed: label, notDone: left },
      });
    }
  }
  await writeApplied(engine, revision);
  await engine.store.events.append({ type: "apply.finished", message: `applied ${done.length} change(s)`, data: { ...revision, done } });
  return { plan, done, revision };
}

async function applyChange(engine: Engine, change: Change, options: ApplyOptions): Promise<void> {
  const environment = engine.environment(change.environment);
  const { overrideBudget, ...rest } = options;
  const run = { ...rest, actor: options.actor ?? "apply" };
  await environment.lock.run(`apply ${change.service}`, async () => {
    const step = change.step;
    if (!step && change.drift.length > 0 && change.live) {
      // Drift only (instances missing): a new release of the same artifact and config brings the count back.
      await environment.deployer.deployDigest(change.service, change.live.artifactDigest, { ...run, reason: `apply: ${change.drift.map((d) => d.message).join("; ")}` });
      return;
    }
    switch (step?.kind) {
      case "deploy":
        await environment.deployer.deploy(change.service, step.artifact, run);
        return;
      case "promote": {
        // Again at the change itself: a budget spent while the apply ran stops it here, and an override is recorded.
        await guardBudget(engine, change, { ...run, overrideBudget });
        const from = engine.environment(step.from);
        await promote(engine.store, change.service, from.name, environment.deployer, { ...run, initial: step.initial });
        return;
      }
      case "redeploy":
        await environment.deployer.deployDigest(change.service, step.artifactDigest, { ...run, reason: `apply: ${change.reason}` });
        return;
      case "stop":
        await environment.deployer.remove(change.service, step.releaseId, run);
        return;
      case undefined:
        return;
    }
  });
}

/**
 * The cost guardrail: a plan that raises the monthly cost by more than cost.budget.max_monthly_increase
 * is refused (COST_BUDGET_EXCEEDED, before anything changes) unless approved, which is recorded.
 */
async function guardCost(engine: Engine, plan: Plan, options: ApplyOptions): Promise<void> {
  const budget = plan.cost?.budget;
  if (!plan.cost || !budget?.exceeded) return;
  const details = { currency: plan.cost.currency, monthlyIncrease: plan.cost.delta, maxMonthlyIncrease: budget.maxMonthlyIncrease, before: plan.cost.before, after: plan.cost.after };
  if (!options.approveCost) {
    throw new EngineError("COST_BUDGET_EXCEEDED", `apply refused: ${budget.text.replace(/; apply refuses it.*$/, ".")} Nothing was changed.`, { details });
  }
  const actor = options.actor ?? "apply";
  await engine.store.events.append({ type: "cost.budget-approved", message: `${actor} approved a monthly cost increase over the budget: ${plan.cost.text}`, data: { ...details, actor, planHash: plan.hash } });
}

/** The error-budget guardrail of a promotion the apply makes, as `promote`'s, with the apply's own hint. */
async function guardBudget(engine: Engine, change: Change, options: ApplyOptions): Promise<void> {
  try {
    await engine.monitoring.guardPromotion(change.service, change.environment, options.overrideBudget, options.actor ?? "apply");
  } catch (error) {
    const refused = toEngineError(error);
    if (refused.code !== "SLO_BUDGET_EXHAUSTED") throw error;
    throw new EngineError(refused.code, `apply refused: ${refused.message}`, {
      hint: `Wait for the budget to recover (\`engineroom slo\`), fix what burns it, or apply with --override-budget "<reason>" (recorded).`,
      details: { ...refused.details, service: change.service, environment: change.environment },
    });
  }
}

/** The revision last applied, from the store (every engine on it sees the same one). */
export async function readApplied(engine: Engine): Promise<AppliedRevision | undefined> {
  return (await engine.store.state.get(appliedKey))?.value as AppliedRevision | undefined;
}

async function writeApplied(engine: Engine, revision: AppliedRevision): Promise<void> {
  await engine.store.state.set(appliedKey, revision);
}

/** The project folder's git commit, "+dirty" when the config file has uncommitted changes; null outside git. */
function gitRevision(dir: string, file: string): string | null {
  try {
    const commit = execFileSync("git", ["rev-parse", "--short=12", "HEAD"], { cwd: dir, stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", file], { cwd: dir, stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
    return dirty ? `${commit}+dirty` : commit;
  } catch {
    return null;
  }
}
