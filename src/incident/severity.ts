import type { IncidentSeverity } from "../store/index.js";

/** What the blast radius is judged on, gathered by the manager from the engine's parts. */
export interface BlastRadius {
  /** The promotion chain, first to last: the last one (production) weighs most. */
  chain: readonly string[];
  environments: readonly string[];
  services: readonly string[];
  /** The routes of the services involved, summed over their environments. */
  routes: number;
  /** The worst share of failing requests among the services involved since the impact began, with the requests it is over. */
  failing: { share: number; requests: number; where: string } | null;
  /** A release serving with no healthy instance left: every request it gets fails. */
  releaseDown: boolean;
  /** The SLOs of the services involved, in the environments involved. */
  budgets: readonly { slo: string; environment: string; budgetLeft: number; exhausted: boolean }[];
}

/** Below this many requests, the failing share is not judged (one error in three requests is not 33% of anything). */
export const minRequestsJudged = 20;

/**
 * SEV1–SEV4 from the blast radius, with a reason per factor. Points: the last environment of the
 * chain +2; two services or more +1; three routes or more +1; failing requests ≥ 50% (or a release
 * down) +2, ≥ 5% +1; an SLO's budget spent +2, more than half of it burned +1. Then 5+ is SEV1,
 * 3–4 SEV2, 2 SEV3, 0–1 SEV4.
 */
export function assessSeverity(radius: BlastRadius): { severity: IncidentSeverity; reasons: string[]; score: number } {
  const reasons: string[] = [];
  let score = 0;
  const add = (points: number, why: string) => {
    score += points;
    reasons.push(`${why} (${points > 0 ? `+${points}` : "+0"})`);
  };
  const last = radius.chain.at(-1);
  if (last !== undefined && radius.environments.includes(last)) add(2, `${last}: the last environment of the chain`);
  else add(0, `${radius.environments.join(", ") || "no environment"}: not the last environment of the chain (${last ?? "none"})`);
  const services = radius.services.length;
  add(services >= 2 ? 1 : 0, `${services} service${services === 1 ? "" : "s"} (${radius.services.join(", ")})`);
  add(radius.routes >= 3 ? 1 : 0, `${radius.routes} route${radius.routes === 1 ? "" : "s"}`);
  if (radius.releaseDown) add(2, "a serving release has no healthy instance left: its requests fail");
  else if (!radius.failing || radius.failing.requests < minRequestsJudged) {
    add(0, `failing requests not judged: ${radius.failing?.requests ?? 0} request(s) since the impact began (fewer than ${minRequestsJudged})`);
  } else {
    const { share, requests, where } = radius.failing;
    const pct = `${(share * 100).toFixed(1)}% of ${requests} requests failing (${where})`;
    add(share >= 0.5 ? 2 : share >= 0.05 ? 1 : 0, pct);
  }
  const spent = radius.budgets.filter((b) => b.exhausted || b.budgetLeft <= 0);
  const burning = radius.budgets.filter((b) => !spent.includes(b) && b.budgetLeft < 50);
  if (spent.length) add(2, `error budget spent: ${spent.map((b) => `${b.slo} in ${b.environment} (${b.budgetLeft}% left)`).join(", ")}`);
  else if (burning.length) add(1, `more than half the error budget burned: ${burning.map((b) => `${b.slo} in ${b.environment} (${b.budgetLeft}% left)`).join(", ")}`);
  else if (radius.budgets.length) add(0, `error budgets: ${radius.budgets.map((b) => `${b.slo} ${b.budgetLeft}% left`).join(", ")}`);
  const severity: IncidentSeverity = score >= 5 ? "SEV1" : score >= 3 ? "SEV2" : score === 2 ? "SEV3" : "SEV4";
  return { severity, reasons, score };
}

/** SEV1 < SEV2 …: the lower the number, the worse. */
export function worse(a: IncidentSeverity, b: IncidentSeverity): boolean {
  return Number(a.slice(3)) < Number(b.slice(3));
}
