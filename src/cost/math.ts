/**
 * cost = max(reserved, used) × time × price, per resource, exactly (BigInt fractions; see core's
 * decimal.ts). CPU is priced per vCPU-hour, memory and storage per GiB-hour (1024³ bytes, OpenCost's
 * units). Storage has no measured use: what is reserved is what costs.
 */
import { decimal, type Exact } from "../core/index.js";
import type { UsageBucket, UsageTotal } from "../store/index.js";
import { hoursPerMonth, type Prices, type Reservation } from "./sheet.js";

const { exact, add, subtract, multiply, divide, larger, zero } = decimal;
const msPerHour = exact(3_600_000);
const gib = exact(1024 ** 3);

/** A cost split by resource, with the part of it that was reserved and not used (idle). */
export interface CostParts {
  cpu: Exact;
  memory: Exact;
  storage: Exact;
  total: Exact;
  /** Reserved but not used: (reserved − used) × time × price where the reservation was larger; all of it for an instance that served no traffic. */
  idle: Exact;
}

export const noCost: CostParts = { cpu: zero, memory: zero, storage: zero, total: zero, idle: zero };

export function addParts(a: CostParts, b: CostParts): CostParts {
  return { cpu: add(a.cpu, b.cpu), memory: add(a.memory, b.memory), storage: add(a.storage, b.storage), total: add(a.total, b.total), idle: add(a.idle, b.idle) };
}

/**
 * What a usage bucket (or a sum of them) is priced on, in whole units so that summing stays exact and
 * cheap: thousandths of a vCPU × ms, byte-ms of memory and of storage, each with the part of it that
 * is idle. Pricing is linear, so pricing a sum is the sum of the prices (see `priceUsage`).
 */
export interface UsageQuantities {
  cpu: bigint;
  cpuIdle: bigint;
  memory: bigint;
  memoryIdle: bigint;
  storage: bigint;
  storageIdle: bigint;
}

export const noUsage: UsageQuantities = { cpu: 0n, cpuIdle: 0n, memory: 0n, memoryIdle: 0n, storage: 0n, storageIdle: 0n };

/**
 * One usage bucket's quantities: its alive time, CPU time and mean resident memory against what it
 * reserved, max(reserved, used) per resource; idle is reserved − used where the reservation was
 * larger, and the whole of it for a bucket of an instance whose release was not live (a warm previous
 * release, kept for rollback). Storage has no measured use: what is reserved is what costs.
 */
export function usageQuantities(b: Pick<UsageBucket, "aliveMs" | "cpuMs" | "rssBytes" | "reservedCpuMilli" | "reservedMemoryBytes" | "reservedStorageBytes" | "live">): UsageQuantities {
  const alive = BigInt(b.aliveMs);
  const cpuReserved = BigInt(b.reservedCpuMilli) * alive;
  const cpuUsed = BigInt(b.cpuMs) * 1000n;
  const memReserved = BigInt(b.reservedMemoryBytes) * alive;
  const memUsed = BigInt(Math.round(b.rssBytes)) * alive;
  const cpu = cpuReserved > cpuUsed ? cpuReserved : cpuUsed;
  const memory = memReserved > memUsed ? memReserved : memUsed;
  const storage = BigInt(b.reservedStorageBytes) * alive;
  if (!b.live) return { cpu, cpuIdle: cpu, memory, memoryIdle: memory, storage, storageIdle: storage };
  return { cpu, cpuIdle: cpuReserved > cpuUsed ? cpuReserved - cpuUsed : 0n, memory, memoryIdle: memReserved > memUsed ? memReserved - memUsed : 0n, storage, storageIdle: 0n };
}

/** The quantities of a store's usage total (see UsageRepo.totals): the same sums usageQuantities makes per bucket. */
export function totalQuantities(t: UsageTotal): UsageQuantities {
  const cpu = BigInt(t.cpuMilliMs);
  const memory = BigInt(t.memoryByteMs);
  const storage = BigInt(t.storageByteMs);
  if (!t.live) return { cpu, cpuIdle: cpu, memory, memoryIdle: memory, storage, storageIdle: storage };
  return { cpu, cpuIdle: BigInt(t.cpuUnusedMilliMs), memory, memoryIdle: BigInt(t.memoryUnusedByteMs), storage, storageIdle: 0n };
}

export function addUsage(a: UsageQuantities, b: UsageQuantities): UsageQuantities {
  return { cpu: a.cpu + b.cpu, cpuIdle: a.cpuIdle + b.cpuIdle, memory: a.memory + b.memory, memoryIdle: a.memoryIdle + b.memoryIdle, storage: a.storage + b.storage, storageIdle: a.storageIdle + b.storageIdle };
}

/** The cost of `q` at `prices`: CPU per vCPU-hour, memory and storage per GiB-hour. */
export function priceUsage(q: UsageQuantities, prices: Prices): CostParts {
  const cpuPrice = divide(prices.cpu, multiply(exact(1000), msPerHour));
  const memPrice = divide(prices.ram, multiply(gib, msPerHour));
  const storagePrice = divide(prices.storage, multiply(gib, msPerHour));
  const cpu = multiply(exact(q.cpu), cpuPrice);
  const memory = multiply(exact(q.memory), memPrice);
  const storage = multiply(exact(q.storage), storagePrice);
  const idle = add(add(multiply(exact(q.cpuIdle), cpuPrice), multiply(exact(q.memoryIdle), memPrice)), multiply(exact(q.storageIdle), storagePrice));
  return { cpu, memory, storage, total: add(add(cpu, memory), storage), idle };
}

/** The cost of one usage bucket (see usageQuantities and priceUsage). */
export function bucketCost(b: Parameters<typeof usageQuantities>[0], prices: Prices): CostParts {
  return priceUsage(usageQuantities(b), prices);
}

/** Per-instance use to weigh against a reservation: vCPUs and bytes, e.g. the live release's mean over the last hour. */
export interface MeasuredUse {
  cpu: Exact;
  memory: Exact;
}

/**
 * The monthly cost (730 hours) of `instances` instances reserving `reservation`, each costing
 * max(reserved, measured) per resource.
 */
export function monthlyCost(reservation: Reservation, instances: number, prices: Prices, measured?: MeasuredUse): Exact {
  const cpu = larger(reservation.cpu, measured?.cpu ?? zero);
  const memory = larger(reservation.memory, measured?.memory ?? zero);
  const hourly = add(add(multiply(cpu, prices.cpu), multiply(divide(memory, gib), prices.ram)), multiply(divide(reservation.storage, gib), prices.storage));
  return multiply(hourly, exact(hoursPerMonth * instances));
}

/** The mean use per instance of some buckets: CPU time over alive time, and memory weighted by alive time; undefined without alive time. */
export function meanUse(buckets: readonly Pick<UsageBucket, "aliveMs" | "cpuMs" | "rssBytes">[]): MeasuredUse | undefined {
  let alive = 0n;
  let cpu = 0n;
  let memory = 0n;
  for (const b of buckets) {
    alive += BigInt(b.aliveMs);
    cpu += BigInt(b.cpuMs);
    memory += BigInt(b.rssBytes) * BigInt(b.aliveMs);
  }
  if (alive === 0n) return undefined;
  return { cpu: exact(cpu, alive), memory: exact(memory, alive) };
}

const symbols: Record<string, string> = { USD: "$", EUR: "€", GBP: "£", JPY: "¥" };

/**
 * Money as people read it, rounded to cents (or `places` decimals): `$14.20`, `€0.03`, `CHF 3.10`;
 * with `signed`, `+$14.20` or `-$3.10` (a change).
 */
export function money(value: Exact, currency: string, options: { signed?: boolean; places?: number } = {}): string {
  const text = decimal.formatDecimal(value, options.places ?? 2);
  const negative = text.startsWith("-");
  const digits = negative ? text.slice(1) : text;
  const symbol = symbols[currency];
  const amount = symbol ? `${symbol}${digits}` : `${currency} ${digits}`;
  if (negative) return `-${amount}`;
  return options.signed ? `+${amount}` : amount;
}
