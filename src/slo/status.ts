import { latencyBoundsMs } from "../metrics/index.js";
import type { RequestCounts, RequestHistory } from "../store/index.js";
import type { SloDefinition } from "./config.js";
import { currentBurnWindow, describePolicy, factorOf, ruleWindows, windowText, type BurnSeverity } from "./policy.js";
import { toDecimal, type Fraction } from "./ratio.js";

/** Runs and failures of a check over [fromMs, toMs): what a check SLO counts. The engine implements it from the monitor's aggregates. */
export interface CheckCounts {
  counts(check: string, fromMs: number, toMs: number): Promise<{ runs: number; failures: number }>;
}

/** Where an SLO's events come from. */
export interface SloSources {
  requests: Pick<RequestHistory, "counts">;
  /** Absent while no monitor runs: check SLOs then count no events. */
  checks?: CheckCounts;
}

/** Valid and bad events over a range. */
export interface EventCounts {
  valid: number;
  bad: number;
}

/** The burn over one of the rules' windows. */
export interface WindowBurn extends EventCounts {
  window: string;
  windowMs: number;
  /** Burn rate, 4 decimals; null with no events. */
  burnRate: number | null;
}

/** One severity's alert as last evaluated. */
export interface AlertState {
  severity: BurnSeverity;
  active: boolean;
  /** When it began firing, epoch ms (null while it does not fire). */
  since: number | null;
  /** The pairs that fire now, e.g. "14.4× over 1h and 5m". */
  firing: string[];
  /** Pairs whose burn is fast enough but whose long window has fewer bad events than the guard asks. */
  heldByLowTraffic: string[];
}

/** An SLO in one environment, as `engineroom slo` shows it. Percentages and rates are exact decimals, rounded once. */
export interface SloStatus {
  slo: string;
  service: string;
  environment: string;
  kind: SloDefinition["kind"];
  target: number;
  window: string;
  windowMs: number;
  threshold?: string;
  check?: string;
  /** The window evaluated: [from, to), `to` being the end of the last minute recorded. */
  from: number;
  to: number;
  events: EventCounts & { good: number };
  /** Good / valid in percent, 4 decimals; null with no events. */
  attained: number | null;
  /** Bad events the budget allows in the window, 3 decimals. */
  allowedBad: number;
  /** 1 − bad / allowed, in percent with 2 decimals; negative when overspent. */
  budgetLeft: number;
  /** Spent (budget left ≤ 0) with at least `min_bad_events` bad events: promotion into this environment is refused. */
  exhausted: boolean;
  burnRates: WindowBurn[];
  /** At the burn rate of the current window (1 h of 30 d), how long the budget left lasts, ms; 0 spent, null not burning. */
  exhaustion: { window: string; ms: number | null; at: number | null };
  alerts: AlertState[];
  policy: { minBadEvents: number; rules: { severity: BurnSeverity; long: string; short: string; factor: string }[]; text: string };
}

/** The events of an SLO over [from, to) in an environment. */
export async function countEvents(slo: SloDefinition, environment: string, from: number, to: number, sources: SloSources): Promise<EventCounts> {
  if (slo.kind === "check") {
    if (!sources.checks || to <= from) return { valid: 0, bad: 0 };
    const { runs, failures } = await sources.checks.counts(slo.check!, from, to);
    return { valid: runs, bad: failures };
  }
  const counts = await sources.requests.counts({ service: slo.service, environment, fromMs: from, toMs: to });
  return slo.kind === "latency" ? latencyEvents(counts, slo.thresholdMs!) : { valid: counts.requests, bad: counts.errors };
}

/** Requests slower than the threshold are bad: the histogram's buckets above that bound, exactly. */
export function latencyEvents(counts: Pick<RequestCounts, "latency">, thresholdMs: number): EventCounts {
  const index = (latencyBoundsMs as readonly number[]).indexOf(thresholdMs);
  const valid = counts.latency.reduce((a, b) => a + b, 0);
  const good = counts.latency.slice(0, index + 1).reduce((a, b) => a + b, 0);
  return { valid, bad: valid - good };
}

/** Evaluates an SLO in one environment at `to` (a minute boundary). `previous` carries its alerts' `since`. */
export async function evaluateSlo(slo: SloDefinition, environment: string, to: number, sources: SloSources, previous?: SloStatus): Promise<SloStatus> {
  const o = slo.objective;
  const from = to - slo.windowMs;
  const windows = ruleWindows(slo.rules);
  const [total, ...perWindow] = await Promise.all([from, ...windows.map((ms) => to - ms)].map((start) => countEvents(slo, environment, start, to, sources)));
  const { valid, bad } = total!;
  const byWindow = new Map(windows.map((ms, i) => [ms, perWindow[i]!]));
  const burnRates: WindowBurn[] = windows.map((ms) => {
    const e = byWindow.get(ms)!;
    const rate = o.burnRate(e.bad, e.valid);
    return { window: windowText(ms), windowMs: ms, ...e, burnRate: rate && toDecimal(rate, 4) };
  });
  const left = o.budgetLeft(bad, valid);
  const current = currentBurnWindow(slo.rules);
  const burning = byWindow.get(current)!;
  const exhaustionMs = o.exhaustionMs(left, o.burnRate(burning.bad, burning.valid), slo.windowMs);
  const attained = o.attained(bad, valid);
  return {
    slo: slo.name,
    service: slo.service,
    environment,
    kind: slo.kind,
    target: slo.target,
    window: windowText(slo.windowMs),
    windowMs: slo.windowMs,
    ...(slo.thresholdMs === undefined ? {} : { threshold: windowText(slo.thresholdMs) }),
    ...(slo.check === undefined ? {} : { check: slo.check }),
    from,
    to,
    events: { valid, bad, good: valid - bad },
    attained: attained && percent(attained, 4),
    allowedBad: toDecimal(o.allowed(valid), 3),
    budgetLeft: percent(left, 2),
    exhausted: left.n <= 0n && bad >= slo.minBadEvents,
    burnRates,
    exhaustion: { window: windowText(current), ms: exhaustionMs, at: exhaustionMs === null ? null : to + exhaustionMs },
    alerts: alertStates(slo, byWindow, to, previous),
    policy: {
      minBadEvents: slo.minBadEvents,
      rules: slo.rules.flatMap((r) => r.pairs.map((p) => ({ severity: r.severity, long: windowText(p.longMs), short: windowText(p.shortMs), factor: p.factor }))),
      text: describePolicy(slo.rules, slo.minBadEvents),
    },
  };
}

const percent = (f: Fraction, places: number) => toDecimal({ n: f.n * 100n, d: f.d }, places);

/**
 * Each severity's alert: a pair fires when both its windows burn at its factor or faster and its
 * long window holds at least `min_bad_events` bad events; fast enough without them, it is held.
 */
function alertStates(slo: SloDefinition, byWindow: ReadonlyMap<number, EventCounts>, to: number, previous: SloStatus | undefined): AlertState[] {
  const o = slo.objective;
  return slo.rules.map((rule): AlertState => {
    const firing: string[] = [];
    const held: string[] = [];
    for (const pair of rule.pairs) {
      const long = byWindow.get(pair.longMs)!;
      const short = byWindow.get(pair.shortMs)!;
      const factor = factorOf(pair);
      const fast = o.burnsAtLeast(factor, long.bad, long.valid) && o.burnsAtLeast(factor, short.bad, short.valid);
      const label = `${pair.factor}× over ${windowText(pair.longMs)} and ${windowText(pair.shortMs)}`;
      if (fast && long.bad >= slo.minBadEvents) firing.push(label);
      else if (fast) held.push(label);
    }
    const active = firing.length > 0;
    const was = previous?.alerts.find((a) => a.severity === rule.severity);
    const since = active ? (was?.active && was.since !== null ? was.since : to) : null;
    return { severity: rule.severity, active, since, firing, heldByLowTraffic: held };
  });
}
