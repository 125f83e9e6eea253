/**
 * How each step type is carried out once its conditions allowed it. Each answers what happened
 * (`ok`, one line, and a `run` step's output); the runner records it.
 */
import { formatDuration, newId, redactor, toEngineError, type Clock } from "../core/index.js";
import type { Notification } from "../notify/index.js";
import type { RunbookRunRecord } from "../store/index.js";
import type { RunbookActions } from "./actions.js";
import { runCommand } from "./command.js";
import { judgeMetric } from "./conditions.js";
import { fill, type StepConfig, type TemplateValues } from "./config.js";
import { stepTarget } from "./plan.js";

export interface StepOutcome {
  ok: boolean;
  result: string;
  output?: string;
}

export interface StepContext {
  run: RunbookRunRecord;
  values: TemplateValues;
  actions: RunbookActions;
  clock: Clock;
  signal: AbortSignal;
  /** How often `wait_for` looks again. */
  pollMs: number;
}

/** Carries out every step type but `approve` (the runner pauses for that one itself). */
export async function carryOut(step: Exclude<StepConfig, { type: "approve" }>, ctx: StepContext): Promise<StepOutcome> {
  const { actions, values, run } = ctx;
  const { service, environment } = stepTarget(step, values);
  const actor = `runbook ${run.runbook} (${run.id})`;
  try {
    switch (step.type) {
      case "rollback":
        return { ok: true, result: await actions.rollback(service, environment, actor) };
      case "restart":
        return { ok: true, result: await actions.restart(service, environment, actor) };
      case "scale":
        return { ok: true, result: await actions.scale(service, environment, step.instances, actor) };
      case "run":
        return await runStep(step, ctx);
      case "wait_for":
        return await waitStep(step, service, environment, ctx);
      case "notify":
        return await notifyStep(step, ctx);
    }
  } catch (error) {
    const e = toEngineError(error);
    return { ok: false, result: redactor.redact(`${e.code}: ${e.message}`) };
  }
}

async function runStep(step: Extract<StepConfig, { type: "run" }>, ctx: StepContext): Promise<StepOutcome> {
  const { values } = ctx;
  const env: Record<string, string> = { ENGINEROOM_SERVICE: values.service, ENGINEROOM_ENVIRONMENT: values.environment, ENGINEROOM_RUN: values.run, ...(values.incident && { ENGINEROOM_INCIDENT: values.incident }) };
  const result = await runCommand(fill(step.command, values), { cwd: ctx.actions.workDir, env, timeoutMs: step.timeout, clock: ctx.clock, signal: ctx.signal });
  if (result.timedOut) return { ok: false, result: `timed out after ${formatDuration(step.timeout)}: its process group was ended`, output: result.output };
  if (result.error !== undefined) return { ok: false, result: `could not run: ${result.error}`, output: result.output };
  return { ok: result.code === 0, result: `exit code ${result.code}`, output: result.output };
}

async function waitStep(step: Extract<StepConfig, { type: "wait_for" }>, service: string, environment: string, ctx: StepContext): Promise<StepOutcome> {
  const started = ctx.clock.now();
  const check = step.check === undefined ? undefined : fill(step.check, ctx.values);
  for (;;) {
    const situation = ctx.actions.situation(service, environment, ctx.run.trigger.kind === "alert");
    let holds: boolean;
    let why: string;
    if (check !== undefined) {
      const state = situation.checkState(check);
      holds = state === "up";
      why = state === undefined ? `no check named ${check}` : `check ${check} is ${state}`;
    } else {
      const judged = judgeMetric(step.metric!, situation.metric(step.metric!.metric, step.over), step.over);
      holds = judged.holds;
      why = judged.reasons.join("; ");
    }
    const waited = ctx.clock.now() - started;
    if (holds) return { ok: true, result: `${why} (after ${formatDuration(waited)})` };
    if (waited >= step.timeout) return { ok: false, result: `not within ${formatDuration(step.timeout)}: ${why}` };
    await ctx.clock.sleep(Math.min(ctx.pollMs, step.timeout - waited), ctx.signal);
  }
}

async function notifyStep(step: Extract<StepConfig, { type: "notify" }>, ctx: StepContext): Promise<StepOutcome> {
  const { run, values, actions } = ctx;
  if (!actions.channels().includes(step.channel)) return { ok: false, result: `no channel named ${step.channel} under channels:` };
  const text = redactor.redact(fill(step.message, values));
  const notice = runbookNotice({ channel: step.channel, labels: runLabels(run), title: `Runbook ${run.runbook} (${run.service} in ${run.environment}): ${text}`, text, now: ctx.clock.now(), reason: "runbook.notify" });
  const delivery = await actions.notify(step.channel, notice);
  return { ok: delivery.delivered, result: `${step.channel}: ${delivery.detail}` };
}

/** The labels of a run's notices. */
export function runLabels(run: Pick<RunbookRunRecord, "id" | "runbook" | "service" | "environment" | "incidentId">): Record<string, string> {
  return { runbook: run.runbook, run: run.id, service: run.service, environment: run.environment, ...(run.incidentId && { incident: run.incidentId }) };
}

/** A notice about a run (kind `notice`, grouped by the run: its `run` label). */
export function runbookNotice(p: { channel: string; labels: Record<string, string>; title: string; text: string; now: number; reason: string; externalURL?: string }): Notification {
  return {
    id: newId("ntf", p.now),
    kind: "notice",
    status: "firing",
    receiver: p.channel,
    groupKey: `runbook-run:${p.labels.run ?? ""}`,
    groupLabels: {},
    commonLabels: p.labels,
    commonAnnotations: {},
    externalURL: p.externalURL ?? "",
    alerts: [],
    truncatedAlerts: 0,
    reason: p.reason,
    title: redactor.redact(p.title),
    text: redactor.redact(`${p.text}\nengineroom runbook show ${p.labels.run ?? ""}`),
  };
}
