/**
 * The IPC protocol between the controller (engine process, cluster primary) and the proxy workers.
 * Messages are plain JSON-serialisable objects sent with `worker.send()` / `process.send()`.
 */
import type { MetricsBucket, Route } from "./types.js";

/** Sent to a worker in its environment, as JSON, because it is needed before IPC is set up. */
export interface WorkerConfig {
  host: string;
  port: number;
  upstreamTimeoutMs: number;
}

/** The environment variable that carries a worker's WorkerConfig. */
export const workerConfigEnv = "ENGINEROOM_PROXY_WORKER";

export type ToWorker =
  | { type: "routes"; version: number; routes: Route[] }
  | { type: "inflight"; id: number; releaseId: string }
  | { type: "stop"; graceMs: number };

export type FromWorker =
  /** The worker has set up its message listener and waits for the current route table. */
  | { type: "hello" }
  | { type: "ack"; version: number }
  | { type: "listening"; port: number }
  | { type: "listen-error"; code: string; message: string }
  | { type: "inflight"; id: number; count: number }
  | { type: "metrics"; buckets: MetricsBucket[] }
  | { type: "log"; level: "warn" | "error"; message: string; fields?: Record<string, unknown> };

/** Cluster also uses the IPC channel for its own messages; ours always carry a string `type`. */
export function isFromWorker(message: unknown): message is FromWorker {
  return typeof message === "object" && message !== null && typeof (message as { type?: unknown }).type === "string";
}
