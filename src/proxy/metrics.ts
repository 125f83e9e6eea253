/**
 * Per-release, per-second request counters. Workers count into a ReleaseStats on every request
 * (a few integer increments, no allocation), roll it over once a second into a MetricsBucket, and
 * send completed seconds to the controller, which adds up the workers' buckets.
 *
 * Latency is the time from the request received by the worker to the response end handed to the
 * client's socket: total time, the upstream's time to first byte plus the body. Every answered
 * request is in the histogram, the proxy's own 502/504 answers (upstreamErrors) included; client
 * aborts are not. For a WebSocket tunnel it is the time to the upstream's 101.
 *
 * Upstream errors, timeouts and retries (the choice, for analysis): a try that failed before any
 * response byte and was retried on another upstream (or on the warm previous release) counts as an
 * upstream error of the release that failed, and as `retried`: analysis sees the failure of that
 * release, clients did not. The answer of the retry counts, with the whole request's latency, in the
 * release that gave it. A retried try is not in the latency histogram (no client waited for it
 * alone), so the histogram holds every client answer: status classes + upstreamErrors - retried.
 * Timeouts are upstream errors and also `upstreamTimeouts`: the proxy's own 504s and bodies cut for
 * going quiet, and a client that gives up while the upstream, which has had the whole request (body
 * included) for longer than the hung-upstream threshold (default 5 s), has sent no response header:
 * a hung instance must show as errors even though its clients time out before the proxy does. A
 * client that gives up sooner, or while still sending its body, is a client abort.
 *
 * A worker sends each second once, complete, just after the second ends; the controller adds up the
 * workers' buckets that arrive within 100 ms of each other. A consumer may still get two buckets of
 * the same release and second (a slow worker) and must add them: buckets merge by addition.
 */
import { latencyBoundsMs, mergeBuckets as addBuckets, type MetricsBucket } from "../metrics/index.js";

const slots = latencyBoundsMs.length + 1;

/** The histogram slot of a latency in milliseconds. */
export function latencySlot(ms: number): number {
  for (let i = 0; i < latencyBoundsMs.length; i++) if (ms <= latencyBoundsMs[i]!) return i;
  return latencyBoundsMs.length;
}

/** What one worker counts for one release. Long-lived: created when a route table first names the release. */
export class ReleaseStats {
  readonly releaseId: string;
  readonly service: string;
  readonly environment: string;
  /** Requests (and WebSocket tunnels) of this release that have not ended. */
  inFlight = 0;
  #second = 0;
  #touched = false;
  #status = [0, 0, 0, 0, 0];
  #upstreamErrors = 0;
  #upstreamTimeouts = 0;
  #retried = 0;
  #clientAborts = 0;
  #latency: number[] = new Array<number>(slots).fill(0);
  #completed: MetricsBucket[] = [];

  constructor(releaseId: string, service: string, environment: string) {
    this.releaseId = releaseId;
    this.service = service;
    this.environment = environment;
  }

  /** Counts an answered request: `status` is the HTTP status sent to the client. */
  response(status: number, ms: number, now: number): void {
    this.#at(now);
    const cls = ((status / 100) | 0) - 1;
    this.#status[cls < 0 ? 0 : cls > 4 ? 4 : cls]!++;
    this.#latency[latencySlot(ms)]!++;
  }

  /** Counts a request the upstream failed (refused, reset, timed out: `timedOut`), answered 502/504 or cut by the proxy. */
  upstreamError(ms: number, now: number, timedOut = false): void {
    this.#at(now);
    this.#upstreamErrors++;
    if (timedOut) this.#upstreamTimeouts++;
    this.#latency[latencySlot(ms)]!++;
  }

  /** Counts a try the upstream failed that the proxy retried elsewhere: an upstream error the client did not see. Not in the latency histogram. */
  retriedError(now: number, timedOut = false): void {
    this.#at(now);
    this.#upstreamErrors++;
    this.#retried++;
    if (timedOut) this.#upstreamTimeouts++;
  }

  /** Counts a request the client gave up on before the response ended. Not in the latency histogram. */
  clientAbort(now: number): void {
    this.#at(now);
    this.#clientAborts++;
  }

  /** Takes the buckets of seconds before `now` (all of them, with `all`), leaving the current second counting. */
  take(now: number, all = false): MetricsBucket[] {
    if (this.#touched && (all || secondOf(now) !== this.#second)) this.#roll(0);
    if (this.#completed.length === 0) return this.#completed;
    const done = this.#completed;
    this.#completed = [];
    return done;
  }

  /** True when nothing is counting or waiting to be sent, so the worker may forget this release. */
  get idle(): boolean {
    return this.inFlight === 0 && !this.#touched && this.#completed.length === 0;
  }

  #at(now: number): void {
    const second = secondOf(now);
    if (second !== this.#second) {
      if (this.#touched) this.#roll(second);
      else this.#second = second;
    }
    this.#touched = true;
  }

  #roll(next: number): void {
    const s = this.#status;
    this.#completed.push({
      service: this.service,
      environment: this.environment,
      releaseId: this.releaseId,
      time: this.#second,
      status: { "1xx": s[0]!, "2xx": s[1]!, "3xx": s[2]!, "4xx": s[3]!, "5xx": s[4]! },
      upstreamErrors: this.#upstreamErrors,
      upstreamTimeouts: this.#upstreamTimeouts,
      retried: this.#retried,
      clientAborts: this.#clientAborts,
      latency: this.#latency,
    });
    this.#status = [0, 0, 0, 0, 0];
    this.#upstreamErrors = 0;
    this.#upstreamTimeouts = 0;
    this.#retried = 0;
    this.#clientAborts = 0;
    this.#latency = new Array<number>(slots).fill(0);
    this.#touched = false;
    this.#second = next;
  }
}

function secondOf(ms: number): number {
  return ms - (ms % 1000);
}

/** Adds buckets of the same release and second together, keyed by release and second. */
export function mergeBuckets(into: Map<string, MetricsBucket>, buckets: readonly MetricsBucket[]): void {
  for (const bucket of buckets) {
    const key = `${bucket.releaseId}\u0000${bucket.time}`;
    const sum = into.get(key);
    into.set(key, sum ? addBuckets(sum, bucket) : { ...bucket, status: { ...bucket.status }, latency: [...bucket.latency] });
  }
}
