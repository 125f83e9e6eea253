/**
 * A step resolved against the engine now: what it would act on (which release and instances,
 * which command in which folder, which channel, which check or metric), whether its `when` and
 * `abort_if` hold, and so whether it would run. The dry run is exactly this, for every step.
 */
import { formatDuration } from "../core/index.js";
import type { RunbookActions } from "./actions.js";
import { judge, type Judgement, type Situation } from "./conditions.js";
import { changingSteps, fill, stepName, type RunbookDefinition, type StepConfig, type TemplateValues } from "./config.js";

export interface ResolvedStep {
  index: number;
  name: string;
  type: StepConfig["type"];
  /** What it acts on, in words, resolved now. */
  plan: string;
  when: Judgement | null;
  abortIf: Judgement | null;
  /** `run` if its `when` holds (or it has none) and its `abort_if` does not; `skip`; `abort` (the run would abort here). */
  outcome: "run" | "skip" | "abort";
  onFailure: "abort" | "continue";
  changes: boolean;
}

/** The target of a step: its own `service`/`environment` (templated), else the run's. */
export function stepTarget(step: StepConfig, values: TemplateValues): { service: string; environment: string } {
  const own = step as { service?: string; environment?: string };
  return { service: own.service ? fill(own.service, values) : values.service, environment: own.environment ? fill(own.environment, values) : values.environment };
}

/** Judges the step's conditions in `situation` (the run's) and resolves what it acts on. */
export async function resolveStep(step: StepConfig, index: number, values: TemplateValues, situation: Situation, actions: RunbookActions): Promise<ResolvedStep> {
  const when = step.when ? judge(step.when, situation) : null;
  const abortIf = step.abort_if ? judge(step.abort_if, situation) : null;
  const outcome = abortIf?.holds ? "abort" : when && !when.holds ? "skip" : "run";
  return { index, name: stepName(step, index), type: step.type, plan: await describeStep(step, values, actions), when, abortIf, outcome, onFailure: step.on_failure, changes: changingSteps.includes(step.type) };
}

async function describeStep(step: StepConfig, values: TemplateValues, actions: RunbookActions): Promise<string> {
  const { service, environment } = stepTarget(step, values);
  const where = `${service} in ${environment}`;
  const live = () => actions.live(service, environment);
  const instances = (l: Awaited<ReturnType<typeof live>>) => (l ? l.instances.map((i) => `${i.id} (port ${i.port}${i.healthy ? "" : ", not healthy"})`).join(", ") || "no instance" : "");
  switch (step.type) {
    case "rollback": {
      const [now, target] = await Promise.all([live(), actions.rollbackTarget(service, environment)]);
      if (!now) return `roll back ${where}: no live release (the step would fail)`;
      return target ? `roll back ${where} from v${now.number} (${now.releaseId}) to v${target.number} (${target.releaseId})` : `roll back ${where} from v${now.number}: no release to go back to (the step would fail)`;
    }
    case "restart": {
      const now = await live();
      return now ? `restart the ${now.instances.length} instance(s) of ${where} v${now.number}, one at a time: ${instances(now)}` : `restart ${where}: no live release (the step would fail)`;
    }
    case "scale": {
      const now = await live();
      return now ? `scale ${where} v${now.number} from ${now.instances.length} to ${step.instances} instance(s) (until its next release): ${instances(now)}` : `scale ${where}: no live release (the step would fail)`;
    }
    case "run":
      return `run \`${fill(step.command, values)}\` in ${actions.workDir} (timeout ${formatDuration(step.timeout)})`;
    case "wait_for": {
      if (step.check !== undefined) {
        const check = fill(step.check, values);
        const state = actions.situation(service, environment, false).checkState(check);
        return `wait until check ${check} is up (now ${state ?? "no such check"}), at most ${formatDuration(step.timeout)}`;
      }
      return `wait until ${step.metric!.text} over ${formatDuration(step.over)} for ${where}, at most ${formatDuration(step.timeout)}`;
    }
    case "notify":
      return `notify channel ${step.channel}${actions.channels().includes(step.channel) ? "" : " (not declared: the step would fail)"}: "${fill(step.message, values)}"`;
    case "approve":
      return `wait for an approval (expires after ${formatDuration(step.expires)}; not by the agent that started the run)${step.message ? `: "${fill(step.message, values)}"` : ""}`;
  }
}

/** Why an automatic run of `runbook` may not change anything in `environment` (undefined: it may). */
export function productionGuard(runbook: RunbookDefinition, environment: string, chain: readonly string[]): string | undefined {
  if (runbook.allow_auto_in_production || chain.at(-1) !== environment) return undefined;
  const changing = runbook.steps.filter((s) => changingSteps.includes(s.type)).map((s, i) => stepName(s, runbook.steps.indexOf(s) ?? i));
  if (changing.length === 0) return undefined;
  return `${environment} is production (the last environment of the chain) and steps ${changing.join(", ")} change things: an automatic run there needs allow_auto_in_production: true on runbook ${runbook.name}`;
}
