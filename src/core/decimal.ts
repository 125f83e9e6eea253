/**
 * Exact decimal arithmetic for money and resource quantities: every value is a fraction of two
 * BigInts, so "0.1" + "0.2" is 3/10 and a price × 730 hours × 0.5 vCPU never drifts the way binary
 * floating point does. A value is turned into text only to be shown, rounded once (half up).
 */

/** A fraction n/d with d > 0, kept in lowest terms. */
export interface Exact {
  readonly n: bigint;
  readonly d: bigint;
}

const gcd = (a: bigint, b: bigint): bigint => {
  a = a < 0n ? -a : a;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
};

/** n/d in lowest terms, the sign on n. */
export function exact(n: bigint | number, d: bigint | number = 1n): Exact {
  let num = BigInt(n);
  let den = BigInt(d);
  if (den === 0n) throw new RangeError("division by zero");
  if (den < 0n) [num, den] = [-num, -den];
  const g = gcd(num, den) || 1n;
  return { n: num / g, d: den / g };
}

export const zero: Exact = { n: 0n, d: 1n };

/** A decimal as written, `12`, `0.031611`, `-3.5`; undefined when the text is not one (no exponent, no spaces). */
export function parseDecimal(text: string): Exact | undefined {
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!match) return undefined;
  const [, sign, whole, part = ""] = match;
  return exact(BigInt(`${sign}${whole}${part}`), 10n ** BigInt(part.length));
}

export const add = (a: Exact, b: Exact): Exact => exact(a.n * b.d + b.n * a.d, a.d * b.d);
export const subtract = (a: Exact, b: Exact): Exact => exact(a.n * b.d - b.n * a.d, a.d * b.d);
export const multiply = (a: Exact, b: Exact): Exact => exact(a.n * b.n, a.d * b.d);
export const divide = (a: Exact, b: Exact): Exact => exact(a.n * b.d, a.d * b.n);
/** -1, 0 or 1 as a is below, equal to or above b. */
export const compare = (a: Exact, b: Exact): number => Math.sign(Number(a.n * b.d - b.n * a.d));
export const larger = (a: Exact, b: Exact): Exact => (compare(a, b) >= 0 ? a : b);
export const sum = (values: Iterable<Exact>): Exact => {
  let total = zero;
  for (const v of values) total = add(total, v);
  return total;
};

/**
 * The value with exactly `places` decimals, rounded half away from zero: `formatDecimal(exact(1, 3), 2)`
 * is "0.33", `formatDecimal(exact(5, 1000), 2)` is "0.01".
 */
export function formatDecimal(value: Exact, places: number): string {
  const negative = value.n < 0n;
  const magnitude = negative ? -value.n : value.n;
  const scale = 10n ** BigInt(places);
  const rounded = (2n * magnitude * scale + value.d) / (2n * value.d);
  const digits = rounded.toString().padStart(places + 1, "0");
  const text = places === 0 ? digits : `${digits.slice(0, -places)}.${digits.slice(-places)}`;
  return negative && rounded !== 0n ? `-${text}` : text;
}

/**
 * The value's exact decimal text when it has one of at most `maxPlaces` decimals (its denominator has
 * no prime factor but 2 and 5), trailing zeros dropped; else rounded to `maxPlaces`.
 */
export function decimalText(value: Exact, maxPlaces = 12): string {
  const text = formatDecimal(value, maxPlaces);
  return text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
}

/** Binary (Ki = 1024) and decimal (k = 1000) suffixes of Kubernetes quantities, and m (1/1000). */
const suffixes: Record<string, Exact> = {
  "": exact(1),
  m: exact(1, 1000),
  k: exact(1000),
  M: exact(10 ** 6),
  G: exact(10 ** 9),
  T: exact(10 ** 12),
  Ki: exact(1024),
  Mi: exact(1024 ** 2),
  Gi: exact(1024 ** 3),
  Ti: exact(1024 ** 4),
};

/**
 * A Kubernetes-style quantity: `0.5` or `500m` (vCPU), `256Mi`, `1Gi`, `512M`, `1000000` (bytes).
 * Undefined when it is not one.
 */
export function parseQuantity(text: string): Exact | undefined {
  const match = /^(\d+(?:\.\d+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(text);
  if (!match) return undefined;
  return multiply(parseDecimal(match[1]!)!, suffixes[match[2] ?? ""]!);
}
