/**
 * The format of request metrics: per-second buckets of one release, with latency histograms of fixed
 * bounds so that buckets from any number of proxy workers, processes and hosts merge by addition.
 * The proxy produces them; the metrics window, analysis and the store read them.
 */

/** Upper bounds in milliseconds of the latency histogram buckets; the last bucket is everything above. Fixed, so histograms merge by addition. */
export const latencyBoundsMs = [1, 2, 5, 10, 20, 50, 100, 200, 300, 500, 750, 1000, 2000, 5000, 10000] as const;

/**
 * Requests one release served in one second, summed over workers.
 *
 * A request the proxy retried on another upstream (its first try was refused or reset before any
 * response byte) counts twice: as an upstream error (and `retried`) of the release that failed, and
 * as an answer of the release that answered. So the failing release still shows the failure to
 * analysis, while `upstreamErrors - retried` is what clients saw.
 */
export interface MetricsBucket {
  service: string;
  environment: string;
  releaseId: string;
  /** Start of the second, epoch milliseconds. */
  time: number;
  /** Responses by status class. */
  status: { "1xx": number; "2xx": number; "3xx": number; "4xx": number; "5xx": number };
  /**
   * Requests (tries) the upstream failed: refused, reset, timed out, answered 502/504 by the proxy or
   * cut; and requests whose client gave up after the upstream had sent nothing for longer than the
   * proxy's hung-upstream threshold. Not in `status`.
   */
  upstreamErrors: number;
  /**
   * The part of `upstreamErrors` that were timeouts: the proxy's own (504, a body gone quiet and cut)
   * and clients giving up on an upstream silent past the hung-upstream threshold. Set by the proxy;
   * optional only so that buckets made before this field existed still type (read it as 0).
   */
  upstreamTimeouts?: number;
  /**
   * The part of `upstreamErrors` that the proxy retried on another upstream (or the warm previous
   * release): the client did not see these failures. Not in `latency`. Optional as `upstreamTimeouts`.
   */
  retried?: number;
  /** Requests the client gave up on before the answer, while the upstream was not (yet) hung. Not errors of the release. */
  clientAborts: number;
  /**
   * Counts per latency bucket: `latency[i]` counts requests with latency <= latencyBoundsMs[i] (and
   * above the previous bound); the last element counts the rest. Length latencyBoundsMs.length + 1.
   * Every answered request and every upstream error is in it, except the `retried` tries.
   */
  latency: number[];
}
