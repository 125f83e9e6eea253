/**
 * The protocol between the controller and its proxy workers. Two channels per worker:
 * - the IPC channel (`child.send()` / `process.send()`), served by the worker's request thread:
 *   accepted connections (with their socket handle), in-flight questions, metrics, logs, stop;
 * - the control pipe (fd 4), served by the worker's control thread: route tables and their
 *   acknowledgements, as frames (see shared-table.ts), so that request work cannot delay a switch.
 * With the control thread off (a benchmark baseline), route tables travel over IPC instead.
 */
import type { MetricsBucket, Route } from "./types.js";

/** Sent to a worker in its environment, as JSON, because it is needed before IPC is set up. */
export interface WorkerConfig {
  upstreamTimeoutMs: number;
  /** Route tables through the control thread and shared memory (true), or over IPC (false). */
  controlThread: boolean;
  /** Bytes of the shared table buffer; a bigger table is posted to the request thread instead. */
  tableBufferBytes: number;
  /** Serve the common request through the fast lane (fast-lane/lane.ts). */
  fastLane: boolean;
}

/** The environment variable that carries a worker's WorkerConfig. */
export const workerConfigEnv = "ENGINEROOM_PROXY_WORKER";

/** The control pipe's file descriptor in a worker (stdio slot 4; 3 is IPC). */
export const controlFd = 4;

export type ToWorker =
  /** Carries an accepted socket as its handle. */
  | { type: "connection" }
  /** Only with the control thread off. */
  | { type: "routes"; version: number; routes: Route[] }
  | { type: "inflight"; id: number; releaseId: string }
  | { type: "stop"; graceMs: number };

export type FromWorker =
  /** The worker serves connections from now on (its table comes on the control pipe, or over IPC). */
  | { type: "hello" }
  /** Only with the control thread off. */
  | { type: "ack"; version: number }
  | { type: "inflight"; id: number; count: number }
  | { type: "metrics"; buckets: MetricsBucket[] }
  | { type: "log"; level: "warn" | "error"; message: string; fields?: Record<string, unknown> };

/** Node also uses the IPC channel for its own messages (handle acks); ours always carry a string `type`. */
export function isFromWorker(message: unknown): message is FromWorker {
  return typeof message === "object" && message !== null && typeof (message as { type?: unknown }).type === "string";
}
