import type { Upstream, SwitchResult } from "../proxy/index.js";

/** What the deploy domain needs from the data plane. The engine implements it over the proxy. */
export interface TrafficControl {
  /** Points the service's routes at `releaseId`'s upstreams. Resolves when every proxy worker acknowledged. */
  route(service: string, releaseId: string, upstreams: Upstream[]): Promise<SwitchResult>;
  /** Requests in flight to the release, summed over proxy workers. */
  inFlight(releaseId: string): Promise<number>;
}

/** What the deploy domain needs from the content-addressed artifact store. */
export interface Artifacts {
  add(source: string): Promise<{ digest: string; path: string; sizeBytes: number; fileCount: number; existed: boolean }>;
  path(digest: string): string;
  has(digest: string): Promise<boolean> | boolean;
  remove(digest: string): Promise<unknown>;
}

/** A step of a deploy or rollback, as the CLI shows it. */
export interface Progress {
  step: string;
  message: string;
  releaseId?: string;
  data?: Record<string, unknown>;
}

export type ProgressListener = (progress: Progress) => void;
