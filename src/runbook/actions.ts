/**
 * What the runbook runner needs of the engine: the only way it changes or reads anything. The
 * engine implements it over its deployers, monitor, alerts, SLOs, channels and incidents.
 */
import type { Notification } from "../notify/index.js";
import type { Situation } from "./conditions.js";

/** A live release and its instances, as a runbook step resolves them. */
export interface LiveView {
  releaseId: string;
  number: number;
  instances: { id: string; port: number; pid?: number; healthy: boolean }[];
}

export interface RunbookActions {
  /** The environments of the chain, first to last: the last is production. */
  chain(): readonly string[];
  /** Whether the service is declared. */
  hasService(service: string): boolean;
  /** What conditions read, for the service in the environment, now. */
  situation(service: string, environment: string, automatic: boolean): Situation;
  /** The service's live release in the environment and its instances (undefined: none). */
  live(service: string, environment: string): Promise<LiveView | undefined>;
  /** The release a rollback would switch back to (undefined: none). */
  rollbackTarget(service: string, environment: string): Promise<{ releaseId: string; number: number } | undefined>;
  /** Each answers one line saying what it did; each throws an EngineError when it cannot. */
  rollback(service: string, environment: string, actor: string): Promise<string>;
  restart(service: string, environment: string, actor: string): Promise<string>;
  scale(service: string, environment: string, instances: number, actor: string): Promise<string>;
  /** The declared channels. */
  channels(): readonly string[];
  /** Sends and waits for the final delivery: `delivered`, or why not. */
  notify(channel: string, notification: Notification): Promise<{ delivered: boolean; detail: string }>;
  /** Where the coordinator is told (the incidents' channels): automatic runs are announced there. */
  announce(title: string, text: string, labels: Record<string, string>): void;
  /**
   * The verification: the service's checks in the environment (each up?) and its SLOs (short-window
   * burn below the page threshold?), each with a line of evidence.
   */
  recovery(service: string, environment: string): Promise<{ recovered: boolean; evidence: string[] }>;
  /** The open incident of the service in the environment, if any. */
  openIncident(service: string, environment: string): Promise<string | undefined>;
  /** INCIDENT_NOT_FOUND for an id that names none. */
  requireIncident(id: string): Promise<void>;
  /** Attaches the run to the incident (a `runbook-run` link). */
  attach(incidentId: string, runId: string, detail: Record<string, unknown>, by: string): Promise<void>;
  /** The folder `run` commands run in (the project's). */
  readonly workDir: string;
}
