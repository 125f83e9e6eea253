/**
 * Automatic mitigation: an alert that fires starts the runbooks that name its rule (`runbook:` on a
 * metric rule, or the runbook's `on_alerts`), for the alert's service and environment, within
 * guardrails: the alert severe enough, at most `max_auto_runs_per_hour` automatic runs per service,
 * no change in production unless the runbook allows it, one run at a time. A refusal is recorded as
 * `runbook.refused` with its reason; every start is announced on the incidents' channels.
 */
import { toEngineError, type Clock } from "../core/index.js";
import { EventFeed, type AlertRepo, type EventLog, type RunbookRunRecord } from "../store/index.js";
import type { RunbookDefinition } from "./config.js";
import { productionGuard } from "./plan.js";
import type { RunbookRunner } from "./runner.js";

/** A firing alert, as automatic mitigation reads it. */
export interface FiringAlert {
  id: string;
  rule: string;
  severity: string;
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
}

const rank: Record<string, number> = { page: 3, ticket: 2, info: 1 };
const hourMs = 3_600_000;

/** The runbooks an alert starts: the one its `runbook` annotation names, and those whose `on_alerts` has its rule. */
export function runbooksFor(alert: FiringAlert, runbooks: readonly RunbookDefinition[]): RunbookDefinition[] {
  return runbooks.filter((r) => alert.annotations.runbook === r.name || r.on_alerts.includes(alert.rule));
}

export interface AutoStart {
  runbook: string;
  run?: RunbookRunRecord;
  refused?: string;
}

export interface AutomaticMitigationOptions {
  runner: RunbookRunner;
  events: Pick<EventLog, "append">;
  clock: Clock;
  chain: () => readonly string[];
  announce: (title: string, text: string, labels: Record<string, string>) => void;
}

/** Starts (or refuses, with the reason recorded) every runbook the alert names. */
export async function startForAlert(alert: FiringAlert, o: AutomaticMitigationOptions): Promise<AutoStart[]> {
  const results: AutoStart[] = [];
  for (const runbook of runbooksFor(alert, o.runner.runbooks)) {
    const service = alert.labels.service ?? runbook.service;
    const environment = alert.labels.environment ?? runbook.environment ?? o.chain().at(-1)!;
    const refuse = async (reason: string): Promise<void> => {
      results.push({ runbook: runbook.name, refused: reason });
      await o.events.append({
        type: "runbook.refused",
        service: service ?? null,
        environment,
        message: `automatic run of runbook ${runbook.name} for alert ${alert.rule} (${alert.id}) refused: ${reason}`,
        data: { runbook: runbook.name, alertId: alert.id, rule: alert.rule, reason },
      });
    };
    if (!service) {
      await refuse("the alert names no service and the runbook declares none");
      continue;
    }
    if ((rank[alert.severity] ?? 0) < rank[runbook.auto_min_severity]!) {
      await refuse(`the alert is ${alert.severity}, less than the runbook's auto_min_severity ${runbook.auto_min_severity}`);
      continue;
    }
    const since = o.clock.now() - hourMs;
    const recent = (await o.runner.runs({ runbook: runbook.name, service, sinceMs: since, limit: 1000 })).filter((r) => r.trigger.kind === "alert");
    if (recent.length >= runbook.max_auto_runs_per_hour) {
      await refuse(`${recent.length} automatic run(s) of it for ${service} within the last hour already (max_auto_runs_per_hour: ${runbook.max_auto_runs_per_hour})`);
      continue;
    }
    const guard = productionGuard(runbook, environment, o.chain());
    if (guard) {
      await refuse(guard);
      continue;
    }
    try {
      const run = await o.runner.start(runbook.name, { service, environment, by: "engine", alert: { id: alert.id, rule: alert.rule } });
      results.push({ runbook: runbook.name, run });
      o.announce(
        `Runbook ${runbook.name} started automatically for ${service} in ${environment}`,
        `alert ${alert.rule} (${alert.id}) fired: ${alert.annotations.summary ?? ""}\nrun ${run.id}, ${recent.length + 1} of at most ${runbook.max_auto_runs_per_hour} automatic run(s) per hour\nsteps: ${run.steps.map((s) => s.name).join(", ")}\nengineroom runbook show ${run.id}`,
        { runbook: runbook.name, run: run.id, service, environment },
      );
    } catch (error) {
      await refuse(toEngineError(error).message);
    }
  }
  return results;
}

export interface AlertFeedOptions extends AutomaticMitigationOptions {
  events: Pick<EventLog, "append" | "list">;
  alerts: Pick<AlertRepo, "get">;
  /** Time between two reads of the event log; default 1 s. */
  intervalMs?: number;
  onError?: (error: unknown) => void;
}

/** Follows `alert.firing` in the event log (no part calls the runbooks) and starts what each alert names. */
export function alertFeed(o: AlertFeedOptions): EventFeed {
  return new EventFeed({
    events: o.events,
    types: ["alert.firing"],
    clock: o.clock,
    intervalMs: o.intervalMs ?? 1_000,
    onError: o.onError,
    onEvent: async (event) => {
      const alert = typeof event.data.alert === "string" ? await o.alerts.get(event.data.alert) : undefined;
      if (alert && runbooksFor(alert, o.runner.runbooks).length > 0) await startForAlert(alert, o);
    },
  });
}
