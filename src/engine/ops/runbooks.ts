import { EngineError } from "../../core/index.js";
import { changingSteps, type Decision, type RunbookDryRun, type RunbookRunner, type RunRequest } from "../../runbook/index.js";
import type { RunbookRunRecord } from "../../store/index.js";
import type { Engine } from "../engine.js";

/** A runbook as `engineroom runbook list` shows it. */
export interface RunbookSummary {
  name: string;
  description: string | null;
  source: string;
  service: string | null;
  environment: string | null;
  steps: { name: string; type: string }[];
  /** Alert rules that start it automatically (its `on_alerts`, and metric rules naming it). */
  triggers: string[];
  maxAutoRunsPerHour: number;
  allowAutoInProduction: boolean;
  /** Its latest runs, newest first. */
  runs: Pick<RunbookRunRecord, "id" | "service" | "environment" | "state" | "startedAt" | "endedAt" | "trigger">[];
}

/** The runbook operations of the façade (see ../operations.ts): what `engineroom runbook` and /v1/runbooks call. */
export interface RunbookOperations {
  runbooks(): Promise<RunbookSummary[]>;
  /**
   * A dry run (`dryRun`: every step resolved now, nothing changes) or a real run, answered once it
   * has started (`wait`: once it has ended or paused for an approval). RUNBOOK_UNKNOWN,
   * RUNBOOK_INVALID, SERVICE_UNKNOWN, ENVIRONMENT_UNKNOWN, INCIDENT_NOT_FOUND, RUNBOOK_BUSY.
   */
  runRunbook(name: string, request: RunRequest & { dryRun?: boolean; wait?: boolean }): Promise<RunbookDryRun | RunbookRunRecord>;
  /** One run with its steps, output, approval and verification (RUNBOOK_RUN_NOT_FOUND). */
  runbookRun(id: string): Promise<RunbookRunRecord>;
  /** Approves or denies a run paused at its approve step (RUNBOOK_NOT_WAITING, RUNBOOK_APPROVAL_REFUSED). */
  decideRunbookRun(id: string, decision: "approve" | "deny", by: Decision): Promise<RunbookRunRecord>;
}

export function runbookOperations(engine: Engine): RunbookOperations {
  const runner = (): RunbookRunner => {
    const found = engine.monitoring.runbooks;
    if (!found) throw new EngineError("ENGINE_NOT_RUNNING", "The runbooks have not started yet.");
    return found;
  };
  return {
    runbooks: async () => {
      const r = runner();
      const rules = ((engine.project.config.alerts as { rules?: { name?: string; runbook?: string }[] } | undefined)?.rules ?? []);
      return Promise.all(
        r.runbooks.map(async (book): Promise<RunbookSummary> => ({
          name: book.name,
          description: book.description ?? null,
          source: book.source,
          service: book.service ?? null,
          environment: book.environment ?? null,
          steps: book.steps.map((s, i) => ({ name: s.name ?? `${i + 1}-${s.type}`, type: s.type })),
          triggers: [...new Set([...book.on_alerts, ...rules.filter((rule) => rule.runbook === book.name).map((rule) => rule.name ?? "")])],
          maxAutoRunsPerHour: book.max_auto_runs_per_hour,
          allowAutoInProduction: book.allow_auto_in_production || !book.steps.some((s) => changingSteps.includes(s.type)),
          runs: (await r.runs({ runbook: book.name, limit: 5 })).map(({ id, service, environment, state, startedAt, endedAt, trigger }) => ({ id, service, environment, state, startedAt, endedAt, trigger })),
        })),
      );
    },
    runRunbook: async (name, request) => {
      const { dryRun, wait, ...rest } = request;
      if (dryRun) return runner().dryRun(name, rest);
      const run = await runner().start(name, rest);
      return wait ? runner().settled(run.id) : run;
    },
    runbookRun: (id) => runner().get(id),
    decideRunbookRun: (id, decision, by) => (decision === "approve" ? runner().approve(id, by) : runner().deny(id, by)),
  };
}
