/**
 * cost = max(reserved, used) × time × price, per resource, exactly (BigInt fractions; see core's
 * decimal.ts). CPU is priced per vCPU-hour, memory and storage per GiB-hour (1024³ bytes, OpenCost's
 * units). Storage has no measured use: what is reserved is what costs.
 */
import { decimal, type Exact } from "../core/index.js";
import type { UsageBucket } from "../store/index.js";
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
 * The cost of one usage bucket: its alive time, CPU time and mean resident memory against what it
 * reserved. A bucket of an instance whose release was not live (a warm previous release, kept for
 * rollback) is idle whole.
 */
export function bucketCost(b: Pick<UsageBucket, "aliveMs" | "cpuMs" | "rssBytes" | "reservedCpuMilli" | "reservedMemoryBytes" | "reservedStorageBytes" | "live">, prices: Prices): CostParts {
  const alive = exact(b.aliveMs);
  // vCPU-milliseconds: reserved vCPUs over the alive time, or the CPU time used, whichever is more.
  const cpuReserved = divide(multiply(exact(b.reservedCpuMilli), alive), exact(1000));
  const cpuUsed = exact(b.cpuMs);
  const cpuPrice = divide(prices.cpu, msPerHour);
  // Byte-milliseconds, likewise.
  const memReserved = multiply(exact(b.reservedMemoryBytes), alive);
  const memUsed = multiply(exact(b.rssBytes), alive);
  const memPrice = divide(prices.ram, multiply(gib, msPerHour));
  const cpu = multiply(larger(cpuReserved, cpuUsed), cpuPrice);
  const memory = multiply(larger(memReserved, memUsed), memPrice);
  const storage = multiply(multiply(exact(b.reservedStorageBytes), alive), divide(prices.storage, multiply(gib, msPerHour)));
  const total = add(add(cpu, memory), storage);
  const unused = (reserved: Exact, used: Exact, unitPrice: Exact) => multiply(larger(subtract(reserved, used), zero), unitPrice);
  const idle = b.live ? add(unused(cpuReserved, cpuUsed, cpuPrice), unused(memReserved, memUsed, memPrice)) : total;
  return { cpu, memory, storage, total, idle };
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
