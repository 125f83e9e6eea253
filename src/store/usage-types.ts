/**
 * Measured usage of instances, for cost: per instance and 5-minute bucket, how long it was seen
 * running, the CPU time it used, its mean and peak resident memory, and what it reserved then.
 */

/** One instance's usage over one bucket. */
export interface UsageBucket {
  environment: string;
  service: string;
  releaseId: string;
  instanceId: string;
  /** Start of the bucket, epoch ms (a multiple of `usageBucketMs`). */
  start: number;
  /** Time the instance was seen running in the bucket, ms. */
  aliveMs: number;
  /** CPU time its processes used in that time (user + system), ms. */
  cpuMs: number;
  /** Mean resident memory over `aliveMs`, bytes. */
  rssBytes: number;
  /** Peak resident memory seen, bytes. */
  rssMaxBytes: number;
  /** What the instance reserved (its release's `resources`): thousandths of a vCPU, bytes, bytes. */
  reservedCpuMilli: number;
  reservedMemoryBytes: number;
  reservedStorageBytes: number;
  /** Whether its release was the live one (serving) when it was sampled: a warm previous release is not. */
  live: boolean;
}

export const usageBucketMs = 5 * 60_000;

export interface UsageQuery {
  environment?: string;
  service?: string;
  releaseId?: string;
  /** Buckets that start in [fromMs, toMs). */
  fromMs: number;
  toMs: number;
}

/**
 * The usage of one instance (of one release, live or not) over one hour, summed from its buckets, with
 * the quantities cost is priced on, exact (decimal strings of whole numbers, for they pass 2^53):
 * per bucket max(reserved, used) × alive time, and the reserved-but-unused part of it, summed.
 */
export interface UsageTotal {
  environment: string;
  service: string;
  releaseId: string;
  instanceId: string;
  live: boolean;
  buckets: number;
  aliveMs: number;
  cpuMs: number;
  /** Thousandths of a vCPU × ms: max(reserved, used) per bucket, and reserved − used where larger. */
  cpuMilliMs: string;
  cpuUnusedMilliMs: string;
  /** Byte-ms of memory, likewise. */
  memoryByteMs: string;
  memoryUnusedByteMs: string;
  /** Byte-ms of storage reserved (storage has no measured use). */
  storageByteMs: string;
}

/** The usage history (table `instance_usage`, migration 9). */
export interface UsageRepo {
  /**
   * Adds each sample to its bucket: alive and CPU time add up, the mean memory is weighted by alive
   * time, the peak is the larger; reservations and `live` are the latest sample's. One transaction.
   */
  record(samples: readonly UsageBucket[]): Promise<void>;
  /** The buckets of the query, oldest first (then by environment, service, instance). */
  list(query: UsageQuery): Promise<UsageBucket[]>;
  /** The query's buckets summed per instance, release, live or not, and hour (in the database: a month is thousands of rows, not 100,000s). */
  totals(query: UsageQuery): Promise<UsageTotal[]>;
  /** Deletes buckets that start before `before`; answers how many went. */
  prune(before: number): Promise<number>;
}
