/**
 * Exact arithmetic for SLOs. Targets and burn factors are decimals as written (99.9, 14.4), kept as
 * fractions of integers; event counts are integers. Every comparison is made on integers (BigInt), and
 * a value is turned into a decimal only to be shown, rounded once, so nothing shows
 * `0.0009999999999999432` (Sloth's `14.4 * 0.0009999999999999432`).
 */

/** A non-negative fraction n/d of integers, d > 0. */
export interface Fraction {
  readonly n: bigint;
  readonly d: bigint;
}

export const fraction = (n: bigint | number, d: bigint | number = 1n): Fraction => ({ n: BigInt(n), d: BigInt(d) });

/** The decimal a number prints as (99.9 → 99.9, 1e-7 → 0.0000001), as an exact fraction. */
export function decimalFraction(value: number): Fraction {
  if (!Number.isFinite(value)) throw new RangeError(`not a finite number: ${value}`);
  let text = String(Math.abs(value));
  if (/e/i.test(text)) text = Math.abs(value).toFixed(20).replace(/0+$/, "");
  const [whole = "0", part = ""] = text.split(".");
  const sign = value < 0 ? -1n : 1n;
  return { n: sign * BigInt(whole + part), d: 10n ** BigInt(part.length) };
}

/** a ≥ b */
export const atLeast = (a: Fraction, b: Fraction): boolean => a.n * b.d >= b.n * a.d;

export const times = (a: Fraction, b: Fraction): Fraction => ({ n: a.n * b.n, d: a.d * b.d });

/**
 * The fraction as a number rounded to `places` decimals (half away from zero), through its decimal
 * text, so that it prints exactly as that decimal.
 */
export function toDecimal(a: Fraction, places: number): number {
  const scale = 10n ** BigInt(places);
  const negative = a.n < 0n !== a.d < 0n;
  const n = a.n < 0n ? -a.n : a.n;
  const d = a.d < 0n ? -a.d : a.d;
  const scaled = (n * scale * 2n + d) / (2n * d);
  const whole = scaled / scale;
  const part = (scaled % scale).toString().padStart(places, "0");
  return Number(`${negative && scaled !== 0n ? "-" : ""}${whole}${places > 0 ? `.${part}` : ""}`);
}

/**
 * An objective: the share of valid events that must be good, e.g. 99.9% → 999/1000. Its error
 * budget is the rest: 1/1000 of the valid events.
 */
export class Objective {
  /** The target as a fraction of 1. */
  readonly target: Fraction;
  /** 1 − target. */
  readonly budget: Fraction;

  /** `percent`: 0 < percent < 100, e.g. 99.9. */
  constructor(percent: number) {
    const p = decimalFraction(percent);
    this.target = { n: p.n, d: p.d * 100n };
    this.budget = { n: this.target.d - this.target.n, d: this.target.d };
  }

  /** Bad events the budget allows among `valid`: (1 − target) × valid. */
  allowed(valid: number): Fraction {
    return times(this.budget, fraction(valid));
  }

  /** Good / valid; null with no valid events. */
  attained(bad: number, valid: number): Fraction | null {
    return valid === 0 ? null : fraction(valid - bad, valid);
  }

  /** 1 − bad / allowed: 1 untouched, 0 spent, below 0 overspent. 1 with no valid events. */
  budgetLeft(bad: number, valid: number): Fraction {
    if (valid === 0) return fraction(1);
    const allowed = this.allowed(valid);
    return { n: allowed.n - BigInt(bad) * allowed.d, d: allowed.n };
  }

  /** (bad / valid) / (1 − target): 1 spends the budget exactly over the SLO window. Null with no valid events. */
  burnRate(bad: number, valid: number): Fraction | null {
    if (valid === 0) return null;
    return { n: BigInt(bad) * this.budget.d, d: BigInt(valid) * this.budget.n };
  }

  /**
   * Whether bad/valid reaches `factor` × budget. A threshold above 100% errors (14.4× below a 93.06%
   * target) could never be reached: it is capped at every event bad.
   */
  burnsAtLeast(factor: Fraction, bad: number, valid: number): boolean {
    if (valid === 0) return false;
    const threshold = times(factor, this.budget);
    const capped = atLeast(threshold, fraction(1)) ? fraction(1) : threshold;
    return atLeast(fraction(bad, valid), capped);
  }

  /**
   * How long the budget left lasts at `burn` over a window of `windowMs`: left × window / burn,
   * in ms. 0 when it is spent; null when nothing burns.
   */
  exhaustionMs(left: Fraction, burn: Fraction | null, windowMs: number): number | null {
    if (left.n <= 0n) return 0;
    if (burn === null || burn.n === 0n) return null;
    const ms = times(times(left, fraction(windowMs)), { n: burn.d, d: burn.n });
    return toDecimal(ms, 0);
  }
}
