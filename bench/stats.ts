/** Small helpers the benchmarks share for printing figures. */

export function percentile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export const median = (values: number[]) => percentile(values, 0.5);

export function fmt(ms: number): string {
  return Number.isFinite(ms) ? `${ms.toFixed(ms < 10 ? 2 : 1)} ms` : "n/a";
}

export interface WrkSummary {
  requests: number;
  rps: number;
  non2xx: number;
  socketErrors: { connect: number; read: number; write: number; timeout: number };
  latencyP50Ms?: number;
  latencyP99Ms?: number;
}

/** Reads wrk's closing report (with or without --latency). */
export function parseWrk(output: string): WrkSummary {
  const num = (re: RegExp) => Number(re.exec(output)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const toMs = (value: string | undefined, unit: string | undefined) =>
    value === undefined ? undefined : Number(value) * (unit === "us" ? 0.001 : unit === "s" ? 1000 : unit === "m" ? 60_000 : 1);
  const p50 = /^\s+50%\s+([\d.]+)(us|ms|s|m)/m.exec(output);
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s|m)/m.exec(output);
  return {
    requests: num(/(\d+) requests in/),
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    non2xx: num(/Non-2xx or 3xx responses: (\d+)/),
    socketErrors: {
      connect: Number(sock?.[1] ?? 0),
      read: Number(sock?.[2] ?? 0),
      write: Number(sock?.[3] ?? 0),
      timeout: Number(sock?.[4] ?? 0),
    },
    latencyP50Ms: toMs(p50?.[1], p50?.[2]),
    latencyP99Ms: toMs(p99?.[1], p99?.[2]),
  };
}
