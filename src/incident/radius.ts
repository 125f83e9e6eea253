import type { IncidentRecord } from "../store/index.js";
import type { ReleaseFacts } from "./links.js";
import type { BlastRadius } from "./severity.js";

/** What the blast radius reads of the engine: routes, the proxies' request counts, the SLOs' budgets. The engine implements it. */
export interface ImpactSource {
  /** The promotion chain, first to last. */
  chain(): readonly string[];
  /** How many routes the service has in the environment. */
  routes(service: string, environment: string): number;
  /** Requests clients made to the service (one release of it, when given) in [fromMs, toMs), and how many failed. */
  requests(query: { service: string; environment: string; releaseId?: string; fromMs: number; toMs: number }): Promise<{ requests: number; errors: number }>;
  /** The service's SLOs in the environment, evaluated now (none when no SLO is declared). */
  budgets(service: string, environment: string): Promise<{ slo: string; budgetLeft: number; exhausted: boolean }[]>;
}

/**
 * The blast radius of an incident now: its environments and services, their routes, the worst
 * failing share (a release's own traffic from its switch to its rollback; a service's since the
 * impact began), and the SLO budgets of what it touches.
 */
export async function gatherRadius(incident: Pick<IncidentRecord, "services" | "environments" | "startedAt" | "cause">, releases: readonly ReleaseFacts[], releaseIds: readonly string[], impact: ImpactSource, now: number): Promise<BlastRadius> {
  const targets = incident.services.flatMap((service) => incident.environments.map((environment) => ({ service, environment })));
  const samples: { share: number; requests: number; where: string }[] = [];
  const covered = new Set<string>();
  for (const [i, facts] of releases.entries()) {
    if (facts.switchedAt === null) continue;
    covered.add(`${facts.service}/${facts.environment}`);
    const toMs = facts.rolledBack?.at ?? now;
    const counts = await impact.requests({ service: facts.service, environment: facts.environment, releaseId: releaseIds[i], fromMs: facts.switchedAt, toMs: Math.max(toMs, facts.switchedAt + 1) });
    samples.push({ share: counts.requests ? counts.errors / counts.requests : 0, requests: counts.requests, where: `${facts.service} v${facts.number} in ${facts.environment}` });
  }
  for (const { service, environment } of targets) {
    if (covered.has(`${service}/${environment}`)) continue;
    const counts = await impact.requests({ service, environment, fromMs: incident.startedAt, toMs: Math.max(now, incident.startedAt + 1) });
    samples.push({ share: counts.requests ? counts.errors / counts.requests : 0, requests: counts.requests, where: `${service} in ${environment}` });
  }
  const judged = samples.filter((s) => s.requests >= 20).sort((a, b) => b.share - a.share);
  const failing = judged[0] ?? samples.sort((a, b) => b.requests - a.requests)[0] ?? null;
  const budgets = (await Promise.all(targets.map(async (t) => (await impact.budgets(t.service, t.environment)).map((b) => ({ ...b, environment: t.environment }))))).flat();
  return {
    chain: impact.chain(),
    environments: incident.environments,
    services: incident.services,
    routes: targets.reduce((sum, t) => sum + impact.routes(t.service, t.environment), 0),
    failing,
    releaseDown: incident.cause.kind === "release.down",
    budgets,
  };
}
