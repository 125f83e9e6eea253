/**
 * The proxy is the data plane. It runs in worker processes apart from the engine's
 * control loop; the engine sends it route tables and gets back per-second metric deltas.
 */
import type { Server } from "node:net";
import type { MetricsBucket } from "../metrics/index.js";

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
  /**
   * The release `fallback` belongs to: the answers it gives count in that release's metrics. Without
   * it they count in this route's release (the failed try still counts as its upstream error).
   */
  fallbackReleaseId?: string;
  /** A drill's fault on the requests sent to `upstreams` (this release only; the fallback's are left alone). */
  fault?: RouteFault;
}

/** What a drill injects: a share of requests answered 500 by the proxy, and/or a delay before each goes upstream. */
export interface RouteFault {
  /** 0–1, e.g. 0.2: every 5th request. */
  errorRate?: number;
  latencyMs?: number;
}

export interface RouteTable {
  /** Increases with every table the engine sends. A switch is a new version. */
  version: number;
  routes: Route[];
}

// The histogram format lives in metrics/; re-exported so that code importing it from the proxy still compiles.
export { latencyBoundsMs, type MetricsBucket } from "../metrics/index.js";

export interface SwitchResult {
  version: number;
  /** From apply() called to the last worker's acknowledgement. */
  ackMs: number;
  /** A fleet's switch that counted without some hosts (`min_hosts`): which, and why. */
  hostsLeftOut?: HostLeftOut[];
}

/** A host of a fleet that a switch went live without: it gets no traffic for the new table. */
export interface HostLeftOut {
  host: string;
  reason: string;
}

export interface ProxyOptions {
  /** Address to listen on, e.g. "127.0.0.1:8080" or "[::1]:0". */
  listen: string;
  /** Worker processes. Default 1. */
  workers?: number;
  /** How long an upstream may take to send response headers, or go quiet while sending the body, before the proxy answers 504 (or cuts the response). Default 60 000. */
  upstreamTimeoutMs?: number;
  /**
   * A client that gives up on a request after the upstream has sent no response header for this
   * long counts as an upstream timeout of the release (a hung instance), not as a client abort.
   * Default 5 000.
   */
  hungUpstreamMs?: number;
  /** How long apply() waits for every worker to acknowledge a route table before it rejects with DEPLOY_SWITCH_FAILED. Default 5 000. */
  switchTimeoutMs?: number;
  /** Proxy the common request (GET/HEAD without a body, a plain route) through the fast lane, the rest through Node's HTTP server. */
  fastLane?: boolean;
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
