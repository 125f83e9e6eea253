import { decimal, type Exact } from "../core/index.js";
import type { UsageTotal } from "../store/index.js";
import { addParts, addUsage, money, noCost, noUsage, priceUsage, totalQuantities, type CostParts, type UsageQuantities } from "./math.js";
import type { PriceSheet } from "./sheet.js";

const { decimalText, divide, exact, multiply } = decimal;

/** Money figures are exact decimal strings (rounded at the 12th decimal where a division by 3,600,000 ms leaves more). */
export interface CostAmounts {
  total: string;
  /** Reserved and not used, and every warm release's whole cost. */
  idle: string;
  cpu: string;
  memory: string;
  storage: string;
}

export interface CostRow extends CostAmounts {
  service: string;
  environment: string;
  /** Requests clients sent it in the period (the request history's valid requests). */
  requests: number;
  /** total / requests × 1,000; null without requests. */
  per1kRequests: string | null;
  text: string;
  /** What it was computed from: the usage buckets (5 minutes per instance) and their sums. */
  from: { buckets: number; instanceMs: number; cpuMs: number; releases: string[] };
}

export interface ReleaseCostRow extends CostAmounts {
  releaseId: string;
  service: string;
  environment: string;
  instanceMs: number;
}

export type CostFigure = { meets: null; text: string } & (
  | { measured: false; reason: string; perService: never[]; per1kRequests: null; total: null }
  | {
      measured: true;
      currency: string;
      definition: string;
      total: string;
      idle: string;
      requests: number;
      per1kRequests: string | null;
      perService: CostRow[];
      perEnvironment: (CostAmounts & { environment: string })[];
      perRelease: ReleaseCostRow[];
      from: { usage: { fromMs: number; toMs: number; environment: string | null }; buckets: number };
    }
);

export const costDefinition =
  "cost = max(reserved, used) × time × price, per resource, for every 5-minute usage bucket of every instance in the period: CPU per vCPU-hour, memory (mean resident) and storage (reserved) per GiB-hour, with the environment's prices; idle = reserved but not used, and every bucket of a release that was not live (kept warm for rollback)";

/** The figure without a price sheet: a stable shape that says so. */
export function unpricedCost(): CostFigure {
  const reason = "not measured: no price sheet";
  return { measured: false, reason, perService: [], per1kRequests: null, total: null, meets: null, text: reason };
}

/**
 * The cost of the period from its usage totals (UsageRepo.totals: the buckets summed per instance
 * and hour), priced with each environment's prices, summed per service and environment, per environment, per release and in total, with the cost per 1,000
 * requests from `requests` (valid requests per service and environment).
 */
export function costFigure(totals: readonly UsageTotal[], requests: (service: string, environment: string) => number, sheet: PriceSheet, usage: { fromMs: number; toMs: number; environment: string | null }): CostFigure {
  const { currency } = sheet;
  // Quantities are summed per group in whole units and priced once per group (pricing is linear):
  // exact, and a month of 5-minute buckets costs additions, not fractions.
  const byPair = new Map<string, { service: string; environment: string; usage: UsageQuantities; buckets: number; instanceMs: number; cpuMs: number; releases: Set<string> }>();
  const byRelease = new Map<string, { releaseId: string; service: string; environment: string; usage: UsageQuantities; instanceMs: number }>();
  const byEnvironmentUsage = new Map<string, UsageQuantities>();
  let bucketCount = 0;
  for (const b of totals) {
    const q = totalQuantities(b);
    bucketCount += b.buckets;
    const key = `${b.environment}\0${b.service}`;
    const pair = byPair.get(key) ?? { service: b.service, environment: b.environment, usage: noUsage, buckets: 0, instanceMs: 0, cpuMs: 0, releases: new Set<string>() };
    pair.usage = addUsage(pair.usage, q);
    pair.buckets += b.buckets;
    pair.instanceMs += b.aliveMs;
    pair.cpuMs += b.cpuMs;
    pair.releases.add(b.releaseId);
    byPair.set(key, pair);
    const release = byRelease.get(b.releaseId) ?? { releaseId: b.releaseId, service: b.service, environment: b.environment, usage: noUsage, instanceMs: 0 };
    release.usage = addUsage(release.usage, q);
    release.instanceMs += b.aliveMs;
    byRelease.set(b.releaseId, release);
    byEnvironmentUsage.set(b.environment, addUsage(byEnvironmentUsage.get(b.environment) ?? noUsage, q));
  }
  const priced = <T extends { environment: string; usage: UsageQuantities }>(group: T): T & { cost: CostParts } => ({ ...group, cost: priceUsage(group.usage, sheet.prices(group.environment)) });
  const byEnvironment = new Map([...byEnvironmentUsage].map(([environment, usage]) => [environment, priceUsage(usage, sheet.prices(environment))] as const));
  const all = [...byEnvironment.values()].reduce(addParts, noCost);
  const per1k = (cost: Exact, count: number) => (count === 0 ? null : decimalText(divide(multiply(cost, exact(1000)), exact(count))));
  let requestTotal = 0;
  const perService = [...byPair.values()]
    .map(priced)
    .sort((a, b) => a.environment.localeCompare(b.environment) || a.service.localeCompare(b.service))
    .map((p): CostRow => {
      const count = requests(p.service, p.environment);
      requestTotal += count;
      const rate = per1k(p.cost.total, count);
      return {
        service: p.service,
        environment: p.environment,
        ...amounts(p.cost),
        requests: count,
        per1kRequests: rate,
        text: `${money(p.cost.total, currency)} (${money(p.cost.idle, currency)} idle)${rate === null ? "" : `, ${money(divide(multiply(p.cost.total, exact(1000)), exact(count)), currency, { places: 4 })} per 1,000 requests`}`,
        from: { buckets: p.buckets, instanceMs: p.instanceMs, cpuMs: p.cpuMs, releases: [...p.releases].sort() },
      };
    });
  const rate = per1k(all.total, requestTotal);
  const text =
    bucketCount === 0
      ? "no usage recorded in the period"
      : `${money(all.total, currency)} over the period, ${money(all.idle, currency)} of it idle${rate === null ? "" : `; ${money(divide(multiply(all.total, exact(1000)), exact(requestTotal)), currency, { places: 4 })} per 1,000 requests`}`;
  return {
    measured: true,
    currency,
    definition: costDefinition,
    total: decimalText(all.total),
    idle: decimalText(all.idle),
    requests: requestTotal,
    per1kRequests: rate,
    perService,
    perEnvironment: [...byEnvironment].sort(([a], [b]) => a.localeCompare(b)).map(([environment, cost]) => ({ environment, ...amounts(cost) })),
    perRelease: [...byRelease.values()].map(priced).map((r) => ({ releaseId: r.releaseId, service: r.service, environment: r.environment, ...amounts(r.cost), instanceMs: r.instanceMs })),
    from: { usage, buckets: bucketCount },
    meets: null,
    text,
  };
}

function amounts(cost: CostParts): CostAmounts {
  return { total: decimalText(cost.total), idle: decimalText(cost.idle), cpu: decimalText(cost.cpu), memory: decimalText(cost.memory), storage: decimalText(cost.storage) };
}
