/**
 * Durations summarised as people should read them: the mean is dominated by one long incident, so
 * the median and the 90th percentile go with it (pingpane's MTTR glossary; DORA reports medians).
 */

/** The `q` quantile (0..1) of ascending `sorted` values, interpolated linearly between ranks
 * (PERCENTILE_CONT, as fourkeys computes its medians); undefined for no values. */
export function quantile(sorted: readonly number[], q: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = (sorted.length - 1) * q;
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

/** A set of durations: how many, mean, median and p90 (ms). */
export interface DurationSummary {
  count: number;
  meanMs: number;
  medianMs: number;
  p90Ms: number;
}

/** The summary of `values` (ms), or null when there are none (a report says "no incidents", not 0). */
export function summarize(values: readonly number[]): DurationSummary | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.reduce((sum, v) => sum + v, 0) / sorted.length;
  return { count: sorted.length, meanMs: Math.round(mean), medianMs: Math.round(quantile(sorted, 0.5)!), p90Ms: Math.round(quantile(sorted, 0.9)!) };
}

/** A ratio rounded to 6 decimals (99.9999% is still told from 100%), or null with nothing to divide. */
export function ratio(part: number, whole: number): number | null {
  return whole === 0 ? null : Math.round((part / whole) * 1e6) / 1e6;
}

export const minuteMs = 60_000;
export const hourMs = 3_600_000;
export const dayMs = 86_400_000;
