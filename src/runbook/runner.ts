/**
 * The runbook runner: resolves a runbook for a service and environment (the dry run), runs it step
 * by step (each step's start, output and result recorded in the store and as `runbook.*` events),
 * pauses at `approve` until someone else approves or it expires, verifies on its own that the
 * service recovered, and attaches the run to the incident it served.
 */
import { EngineError, formatDuration, type Clock } from "../core/index.js";
import type { RunbookRunQuery, RunbookRunRecord, Store } from "../store/index.js";
import type { RunbookActions } from "./actions.js";
import type { RunbookDefinition, StepConfig, TemplateValues } from "./config.js";
import { resolveStep, type ResolvedStep } from "./plan.js";
import { isFinished, newRun, runEvent } from "./records.js";
import { carryOut, type StepOutcome } from "./steps.js";

export interface RunbookRunnerOptions {
  store: Pick<Store, "runbookRuns" | "events">;
  clock: Clock;
  runbooks: readonly RunbookDefinition[];
  actions: RunbookActions;
  /** How long the verification gives the service to recover after the last step; default 60 s. */
  verifyTimeoutMs?: number;
  /** How often `wait_for` and the verification look again; default 500 ms. */
  pollMs?: number;
  onError?: (error: unknown) => void;
}

/** Who starts a run, and for what. */
export interface RunRequest {
  service?: string;
  environment?: string;
  /** The incident it serves (default: the open incident of the service in the environment). */
  incident?: string;
  by: string;
  /** The created API token it came with (an agent's, CI's): that token may not approve the run. */
  token?: string;
  /** Set when an alert started it (automatic mitigation). */
  alert?: { id: string; rule: string };
}

/** What a dry run answers: every step resolved now, and what would happen. */
export interface RunbookDryRun {
  runbook: string;
  service: string;
  environment: string;
  automatic: boolean;
  incidentId: string | null;
  steps: ResolvedStep[];
  /** One line each: what the run would do, in order, and where it would stop. */
  summary: string[];
  verification: string;
}

/** A decision on a run waiting for approval. */
export interface Decision {
  by: string;
  /** The created API token it came with, if any. */
  token?: string;
  reason?: string;
}

interface Active {
  run: RunbookRunRecord;
  abort: AbortController;
  decide?: (decision: "approved" | "denied", by: string, reason?: string) => void;
  settled: Set<(run: RunbookRunRecord) => void>;
  done: Promise<void>;
}

export class RunbookRunner {
  readonly #o: RunbookRunnerOptions;
  readonly #active = new Map<string, Active>();

  constructor(options: RunbookRunnerOptions) {
    this.#o = options;
  }

  get runbooks(): readonly RunbookDefinition[] {
    return this.#o.runbooks;
  }

  /** The runbook (RUNBOOK_UNKNOWN). */
  runbook(name: string): RunbookDefinition {
    const found = this.#o.runbooks.find((r) => r.name === name);
    if (!found) {
      const names = this.#o.runbooks.map((r) => r.name);
      throw new EngineError("RUNBOOK_UNKNOWN", `No runbook named "${name}"${names.length ? ` (declared: ${names.join(", ")})` : " (none is declared under runbooks:)"}.`);
    }
    return found;
  }

  /** Runs of the store, newest first. */
  runs(query: RunbookRunQuery = {}): Promise<RunbookRunRecord[]> {
    return this.#o.store.runbookRuns.list(query);
  }

  /** A run (RUNBOOK_RUN_NOT_FOUND). */
  async get(id: string): Promise<RunbookRunRecord> {
    const run = this.#active.get(id)?.run ?? (await this.#o.store.runbookRuns.get(id));
    if (!run) throw new EngineError("RUNBOOK_RUN_NOT_FOUND", `No runbook run with id ${id}.`);
    return structuredClone(run);
  }

  /** The service and environment a request names (checked), and the incident it serves. */
  async target(runbook: RunbookDefinition, request: RunRequest): Promise<{ service: string; environment: string; incidentId: string | null }> {
    const { actions } = this.#o;
    const service = request.service ?? runbook.service;
    if (!service) throw new EngineError("RUNBOOK_INVALID", `Runbook ${runbook.name} declares no service: name one with --service.`);
    if (!actions.hasService(service)) throw new EngineError("SERVICE_UNKNOWN", `No service named "${service}".`);
    const chain = actions.chain();
    const environment = request.environment ?? runbook.environment ?? chain.at(-1)!;
    if (!chain.includes(environment)) throw new EngineError("ENVIRONMENT_UNKNOWN", `No environment named "${environment}" (the chain is ${chain.join(" → ")}).`);
    if (request.incident !== undefined) await actions.requireIncident(request.incident);
    const incidentId = request.incident ?? (await actions.openIncident(service, environment)) ?? null;
    return { service, environment, incidentId };
  }

  /** Every step resolved now, and what a run would do; changes nothing. */
  async dryRun(name: string, request: RunRequest): Promise<RunbookDryRun> {
    const runbook = this.runbook(name);
    const { service, environment, incidentId } = await this.target(runbook, request);
    const values: TemplateValues = { service, environment, run: "(dry run)", incident: incidentId };
    const steps = await this.#resolveAll(runbook, values, request.alert !== undefined);
    const summary: string[] = [];
    for (const s of steps) {
      const why = [...(s.when?.reasons ?? []), ...(s.abortIf?.reasons ?? [])].join("; ");
      summary.push(`${s.index + 1}. ${s.name}: ${s.outcome === "run" ? s.plan : s.outcome === "skip" ? `skipped (${why})` : `the run would abort here (abort_if holds: ${why})`}`);
      if (s.outcome === "abort") break;
      if (s.type === "approve" && s.outcome === "run") summary.push(`   the run pauses here until it is approved: engineroom runbook approve <run-id>`);
    }
    const verification = `then verify that ${service} recovered in ${environment}: its checks up and its SLOs' short-window burn below the page threshold, within ${formatDuration(this.#verifyMs)}`;
    return { runbook: name, service, environment, automatic: request.alert !== undefined, incidentId, steps, summary, verification };
  }

  /**
   * Starts a real run and answers it once `runbook.started` is recorded; the steps go on in the
   * background (`settled` waits for the run to end or to pause for an approval). RUNBOOK_BUSY while
   * another run of the service in the environment is going on.
   */
  async start(name: string, request: RunRequest): Promise<RunbookRunRecord> {
    const runbook = this.runbook(name);
    const { service, environment, incidentId } = await this.target(runbook, request);
    const busy = this.busy(service, environment);
    if (busy) throw new EngineError("RUNBOOK_BUSY", `Run ${busy.id} of runbook ${busy.runbook} is going on for ${service} in ${environment} (${busy.state}).`, { details: { runId: busy.id } });
    const now = this.#o.clock.now();
    const placeholder = { service, environment, run: "", incident: incidentId };
    const steps = await this.#resolveAll(runbook, placeholder, request.alert !== undefined);
    const trigger: RunbookRunRecord["trigger"] = request.alert ? { kind: "alert", by: "engine", alertId: request.alert.id, rule: request.alert.rule } : { kind: "manual", by: request.by, ...(request.token && { token: request.token }) };
    const run = newRun({ runbook: name, service, environment, trigger, incidentId, steps, now });
    const how = request.alert ? `automatically, for alert ${request.alert.rule} (${request.alert.id})` : `by ${request.by}`;
    await this.#o.store.runbookRuns.put(run, [runEvent(run, "runbook.started", `runbook ${name} started for ${service} in ${environment} ${how} (run ${run.id})`, { trigger, incidentId, automatic: request.alert !== undefined, steps: steps.map((s) => s.name) })]);
    const abort = new AbortController();
    const active: Active = { run, abort, settled: new Set(), done: Promise.resolve() };
    this.#active.set(run.id, active);
    if (incidentId) await this.#attach(run, incidentId);
    active.done = this.#execute(runbook, active).catch((error) => this.#o.onError?.(error));
    return structuredClone(run);
  }

  /** The run once it has ended or paused for an approval. */
  async settled(id: string): Promise<RunbookRunRecord> {
    const active = this.#active.get(id);
    if (!active || isFinished(active.run) || active.run.state === "waiting-approval") return this.get(id);
    return new Promise((resolve) => active.settled.add((run) => resolve(structuredClone(run))));
  }

  /** The run going on for the service in the environment, if any. */
  busy(service: string, environment: string): RunbookRunRecord | undefined {
    return [...this.#active.values()].find((a) => a.run.service === service && a.run.environment === environment && !isFinished(a.run))?.run;
  }

  /** Approves the run waiting at an `approve` step (RUNBOOK_NOT_WAITING; RUNBOOK_APPROVAL_REFUSED for the agent that started it). */
  approve(id: string, decision: Decision): Promise<RunbookRunRecord> {
    return this.#decide(id, "approved", decision);
  }

  /** Denies it: the run aborts. */
  deny(id: string, decision: Decision): Promise<RunbookRunRecord> {
    return this.#decide(id, "denied", decision);
  }

  /** Aborts every run going on (the engine stops): each is recorded aborted. */
  async stop(): Promise<void> {
    for (const active of this.#active.values()) active.abort.abort(new Error("the engine stopped"));
    await Promise.all([...this.#active.values()].map((a) => a.done));
  }

  /** Runs an earlier engine left going on are aborted: nobody carries them on. */
  async recoverInterrupted(): Promise<number> {
    let count = 0;
    for (const run of await this.#o.store.runbookRuns.list({ limit: 200 })) {
      if (isFinished(run) || this.#active.has(run.id)) continue;
      const now = this.#o.clock.now();
      const ended: RunbookRunRecord = { ...run, state: "aborted", reason: "the engine stopped while the run was going on", endedAt: now, updatedAt: now };
      await this.#o.store.runbookRuns.put(ended, [runEvent(ended, "runbook.finished", `runbook ${run.runbook} run ${run.id} aborted: the engine stopped while it was going on`, { state: "aborted" })]);
      count++;
    }
    return count;
  }

  // --- inside ---

  get #verifyMs(): number {
    return this.#o.verifyTimeoutMs ?? 60_000;
  }

  async #resolveAll(runbook: RunbookDefinition, values: TemplateValues, automatic: boolean): Promise<ResolvedStep[]> {
    const situation = this.#o.actions.situation(values.service, values.environment, automatic);
    const steps: ResolvedStep[] = [];
    for (const [i, step] of runbook.steps.entries()) steps.push(await resolveStep(step, i, values, situation, this.#o.actions));
    return steps;
  }

  async #decide(id: string, decision: "approved" | "denied", by: Decision): Promise<RunbookRunRecord> {
    const active = this.#active.get(id);
    const run = active?.run ?? (await this.get(id));
    if (!active?.decide || run.state !== "waiting-approval") {
      throw new EngineError("RUNBOOK_NOT_WAITING", `Run ${id} of runbook ${run.runbook} is ${run.state}: it waits for no approval.`, { details: { state: run.state } });
    }
    if (run.trigger.token !== undefined && by.token === run.trigger.token) {
      throw new EngineError("RUNBOOK_APPROVAL_REFUSED", `Run ${id} was started with this token (${run.trigger.by}): another person or agent with the approve scope approves it.`);
    }
    if (by.by === "engine") throw new EngineError("RUNBOOK_APPROVAL_REFUSED", `The engine does not approve its own runs.`);
    active.decide(decision, by.by, by.reason);
    active.run.state = "running"; // decided: what `settled` waits for now is the run's end or its next pause
    return this.settled(id);
  }

  async #record(active: Active, type: string, message: string, data: Record<string, unknown> = {}): Promise<void> {
    const run = active.run;
    run.updatedAt = Math.max(run.updatedAt, this.#o.clock.now());
    await this.#o.store.runbookRuns.put(run, type ? [runEvent(run, type, message, data)] : []);
  }

  #settle(active: Active): void {
    for (const listener of active.settled) listener(active.run);
    active.settled.clear();
  }

  async #attach(run: RunbookRunRecord, incidentId: string): Promise<void> {
    try {
      await this.#o.actions.attach(incidentId, run.id, { runbook: run.runbook, state: run.state, automatic: run.trigger.kind === "alert", startedAt: run.startedAt }, run.trigger.by);
    } catch (error) {
      this.#o.onError?.(error);
    }
  }

  async #execute(runbook: RunbookDefinition, active: Active): Promise<void> {
    const { run } = active;
    const values: TemplateValues = { service: run.service, environment: run.environment, run: run.id, incident: run.incidentId };
    let failed: string | null = null;
    let aborted: string | null = null;
    try {
      for (const [i, step] of runbook.steps.entries()) {
        if (active.abort.signal.aborted) throw active.abort.signal.reason;
        const record = run.steps[i]!;
        const resolved = await resolveStep(step, i, values, this.#o.actions.situation(run.service, run.environment, run.trigger.kind === "alert"), this.#o.actions);
        record.plan = resolved.plan;
        record.conditions = [...(resolved.when?.reasons.map((r) => `when: ${r}`) ?? []), ...(resolved.abortIf?.reasons.map((r) => `abort_if: ${r}`) ?? [])];
        const now = this.#o.clock.now();
        if (resolved.outcome === "abort") {
          Object.assign(record, { state: "aborted", startedAt: now, endedAt: now, result: `abort_if holds: ${resolved.abortIf!.reasons.join("; ")}` });
          aborted = `step ${record.name}: abort_if holds (${resolved.abortIf!.reasons.join("; ")})`;
          await this.#record(active, "runbook.step.aborted", `runbook ${run.runbook} run ${run.id} step ${record.name}: abort_if holds, the run aborts`, { step: record.name, conditions: record.conditions });
          break;
        }
        if (resolved.outcome === "skip") {
          Object.assign(record, { state: "skipped", startedAt: now, endedAt: now, result: `when does not hold: ${resolved.when!.reasons.join("; ")}` });
          await this.#record(active, "runbook.step.skipped", `runbook ${run.runbook} run ${run.id} step ${record.name} skipped: ${resolved.when!.reasons.join("; ")}`, { step: record.name, conditions: record.conditions });
          continue;
        }
        Object.assign(record, { state: "running", startedAt: now });
        await this.#record(active, "runbook.step.started", `runbook ${run.runbook} run ${run.id} step ${record.name}: ${record.plan}`, { step: record.name, type: step.type, plan: record.plan });
        const outcome: StepOutcome = step.type === "approve" ? await this.#approval(active, step, i) : await carryOut(step, { run, values, actions: this.#o.actions, clock: this.#o.clock, signal: active.abort.signal, pollMs: this.#o.pollMs ?? 500 });
        if (active.abort.signal.aborted) throw active.abort.signal.reason;
        // An approval denied or expired aborts the run: the step did not fail, nobody let it go on.
        const verb = outcome.ok ? "succeeded" : step.type === "approve" ? "aborted" : "failed";
        Object.assign(record, { state: verb, endedAt: this.#o.clock.now(), result: outcome.result, output: outcome.output ?? null });
        await this.#record(active, `runbook.step.${verb}`, `runbook ${run.runbook} run ${run.id} step ${record.name} ${verb}: ${outcome.result}`, { step: record.name, type: step.type, result: outcome.result, ...(outcome.output !== undefined && { output: outcome.output }) });
        if (outcome.ok) continue;
        if (step.type === "approve") {
          aborted = `step ${record.name}: ${outcome.result}`;
          break;
        }
        if (step.on_failure === "abort") {
          failed = `step ${record.name} failed: ${outcome.result}`;
          break;
        }
      }
    } catch (error) {
      aborted = error instanceof Error ? error.message : String(error);
    }
    await this.#finish(active, failed, aborted);
  }

  async #approval(active: Active, step: Extract<StepConfig, { type: "approve" }>, index: number): Promise<StepOutcome> {
    const { run } = active;
    const now = this.#o.clock.now();
    run.state = "waiting-approval";
    run.steps[index]!.state = "waiting";
    run.approval = { step: index, requestedAt: now, expiresAt: now + step.expires, decision: null, by: null, at: null };
    const expiry = new AbortController();
    const decided = new Promise<{ decision: "approved" | "denied" | "expired"; by: string | null; reason?: string }>((resolve) => {
      active.decide = (decision, by, reason) => resolve({ decision, by, reason });
      this.#o.clock.sleep(step.expires, expiry.signal).then(() => resolve({ decision: "expired", by: null }), () => undefined);
      active.abort.signal.addEventListener("abort", () => resolve({ decision: "denied", by: null, reason: "the engine stopped" }), { once: true });
    });
    await this.#record(active, "runbook.approval-requested", `runbook ${run.runbook} run ${run.id} waits for an approval until ${new Date(run.approval.expiresAt).toISOString()}: engineroom runbook approve ${run.id}`, { step: run.steps[index]!.name, expiresAt: run.approval.expiresAt });
    this.#settle(active);
    const { decision, by, reason } = await decided;
    expiry.abort();
    active.decide = undefined;
    const at = this.#o.clock.now();
    run.approval = { ...run.approval, decision, by, at };
    run.state = "running";
    const what = decision === "expired" ? `expired: nobody approved it within ${formatDuration(step.expires)}` : `${decision} by ${by ?? "nobody"}${reason ? `: ${reason}` : ""}`;
    await this.#record(active, `runbook.${decision === "expired" ? "approval-expired" : decision}`, `runbook ${run.runbook} run ${run.id} ${what}`, { by, ...(reason !== undefined && { reason }) });
    return { ok: decision === "approved", result: decision === "approved" ? `approved by ${by}` : what };
  }

  async #finish(active: Active, failed: string | null, aborted: string | null): Promise<void> {
    const { run } = active;
    if (!aborted) {
      const verification = await this.#verify(run, active.abort.signal);
      run.verification = verification;
      await this.#record(active, `runbook.${verification.outcome}`, `runbook ${run.runbook} run ${run.id}: ${run.service} in ${run.environment} ${verification.outcome === "verified" ? "recovered" : "did not recover"}: ${verification.evidence.join("; ")}`, { evidence: verification.evidence });
    }
    // A step cut short is aborted; the steps never reached stay pending.
    for (const step of run.steps) if (step.state === "running" || step.state === "waiting") step.state = "aborted";
    const now = this.#o.clock.now();
    run.state = aborted ? "aborted" : failed ? "failed" : "succeeded";
    run.reason = aborted ?? failed;
    run.endedAt = now;
    const verified = run.verification ? `; ${run.verification.outcome}` : "";
    await this.#record(active, "runbook.finished", `runbook ${run.runbook} run ${run.id} ${run.state}${run.reason ? ` (${run.reason})` : ""}${verified}`, { state: run.state, reason: run.reason, verification: run.verification?.outcome ?? null, incidentId: run.incidentId });
    // An automatic run may start before the engine opens the incident of its alert: attach it now.
    if (!run.incidentId) {
      const open = await this.#o.actions.openIncident(run.service, run.environment).catch(() => undefined);
      if (open) {
        run.incidentId = open;
        await this.#record(active, "", "");
        await this.#attach(run, open);
      }
    }
    this.#active.delete(run.id);
    this.#settle(active);
  }

  /** Looks until the service has recovered, for at most the verification timeout; the last look is the evidence. */
  async #verify(run: RunbookRunRecord, signal: AbortSignal): Promise<NonNullable<RunbookRunRecord["verification"]>> {
    const started = this.#o.clock.now();
    for (;;) {
      const { recovered, evidence } = await this.#o.actions.recovery(run.service, run.environment);
      const now = this.#o.clock.now();
      if (recovered) return { outcome: "verified", at: now, evidence };
      if (now - started >= this.#verifyMs || signal.aborted) return { outcome: "not-recovered", at: now, evidence: [...evidence, `not recovered within ${formatDuration(this.#verifyMs)}`] };
      try {
        await this.#o.clock.sleep(Math.min(this.#o.pollMs ?? 500, this.#verifyMs - (now - started)), signal);
      } catch {
        /* aborted: the last look is the evidence */
      }
    }
  }
}
