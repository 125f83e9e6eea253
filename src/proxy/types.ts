/**
 * The proxy is the data plane. It runs in worker processes (node:cluster) apart from the engine's
 * control loop; the engine sends it route tables and gets back per-second metric deltas.
 */
import type { Server } from "node:net";

export interface Upstream {
  host: string;
  port: number;
  /** The instance's id, for metrics and debugging. */
  instanceId: string;
}

export interface Route {
  /** Host to match (without port), or "*" for any host. Exact hosts win over "*". */
  host: string;
  /** Path prefix to match, e.g. "/" or "/api". The longest matching prefix wins. */
  pathPrefix: string;
  service: string;
  environment: string;
  /** The live release and its instances; requests are balanced across the upstreams. */
  releaseId: string;
  upstreams: Upstream[];
  /**
   * The warm previous release's upstreams during a watch window: a request whose connection to an
   * upstream was refused or reset before any response byte is retried once here when no other
   * upstream of `upstreams` is left to try.
   */
  fallback?: Upstream[];
}

export interface RouteTable {
  /** Increases with every table the engine sends. A switch is a new version. */
  version: number;
  routes: Route[];
}

/** Upper bounds in milliseconds of the latency histogram buckets; the last bucket is everything above. Fixed, so histograms merge by addition. */
export const latencyBoundsMs = [1, 2, 5, 10, 20, 50, 100, 200, 300, 500, 750, 1000, 2000, 5000, 10000] as const;

/** Requests one release served in one second, summed over workers. */
export interface MetricsBucket {
  service: string;
  environment: string;
  releaseId: string;
  /** Start of the second, epoch milliseconds. */
  time: number;
  /** Responses by status class. */
  status: { "1xx": number; "2xx": number; "3xx": number; "4xx": number; "5xx": number };
  /** Requests the upstream failed (refused, reset, timed out) — answered 502/504 by the proxy. Not in `status`. */
  upstreamErrors: number;
  /** Requests the client gave up on before the answer. Not errors of the release. */
  clientAborts: number;
  /** Counts per latency bucket: `latency[i]` counts requests with latency <= latencyBoundsMs[i] (and above the previous bound); the last element counts the rest. Length latencyBoundsMs.length + 1. */
  latency: number[];
}

export interface SwitchResult {
  version: number;
  /** From apply() called to the last worker's acknowledgement. */
  ackMs: number;
}

export interface ProxyOptions {
  /** Address to listen on, e.g. "127.0.0.1:8080" or "[::1]:0". */
  listen: string;
  /** Worker processes. Default 1. */
  workers?: number;
  /** How long an upstream may take to send response headers, or go quiet while sending the body, before the proxy answers 504 (or cuts the response). Default 60 000. */
  upstreamTimeoutMs?: number;
  /** How long apply() waits for every worker to acknowledge a route table before it rejects with DEPLOY_SWITCH_FAILED. Default 5 000. */
  switchTimeoutMs?: number;
  /** A listening server handed over by a previous data-plane process: used instead of binding `listen`, so no connection is refused during the handover. */
  listener?: Server;
}

export interface Proxy {
  /** Forks the workers and listens; resolves with the bound address (port resolved if 0). */
  start(): Promise<{ host: string; port: number }>;
  /** Sends a new route table to every worker; resolves once all of them acknowledged it. */
  apply(routes: Route[]): Promise<SwitchResult>;
  /** Requests in flight to a release's upstreams, summed over workers. */
  inFlight(releaseId: string): Promise<number>;
  /** Called with every batch of metric buckets the workers send (about once a second). */
  onMetrics(listener: (buckets: MetricsBucket[]) => void): () => void;
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), stops the workers. */
  stop(graceMs?: number): Promise<void>;
  /** The route table in force now (the last one applied). */
  routes(): Route[];
  /** The listening server, to hand to a successor process; undefined before start(). */
  listener(): Server | undefined;
}
