import type { CostConfig, ServiceConfig } from "../config/index.js";
import { decimal, type Exact } from "../core/index.js";

/** Prices of one environment: per vCPU-hour, per GiB-hour of memory, per GiB-hour of storage (OpenCost's CPU, RAM, storage). */
export interface Prices {
  readonly cpu: Exact;
  readonly ram: Exact;
  readonly storage: Exact;
}

/** What one instance reserves (`resources:`): vCPUs, bytes of memory, bytes of storage; zero when not declared. */
export interface Reservation {
  readonly cpu: Exact;
  readonly memory: Exact;
  readonly storage: Exact;
}

/** Hours in a month, as OpenCost and the clouds' price pages count one: 365 × 24 / 12. */
export const hoursPerMonth = 730;

const none = decimal.zero;
const price = (text: string | undefined) => (text === undefined ? undefined : decimal.parseDecimal(text));

/**
 * The price sheet of `cost:`, parsed (config/ has checked every price is a decimal string): each
 * environment's prices are its own entry's, key by key over `default`'s; a price declared nowhere is 0.
 *
 * @example
 * const sheet = new PriceSheet(config.cost);
 * sheet.prices("production").cpu // per vCPU-hour
 */
export class PriceSheet {
  readonly currency: string;
  /** cost.budget.max_monthly_increase, when set. */
  readonly maxMonthlyIncrease: Exact | undefined;
  readonly #config: CostConfig;

  constructor(config: CostConfig) {
    this.#config = config;
    this.currency = config.currency;
    this.maxMonthlyIncrease = price(config.budget?.max_monthly_increase);
  }

  prices(environment: string): Prices {
    const own = Object.hasOwn(this.#config.prices, environment) ? this.#config.prices[environment] : undefined;
    const fallback = this.#config.prices.default;
    const pick = (key: "CPU" | "RAM" | "storage") => price(own?.[key] ?? fallback?.[key]) ?? none;
    return { cpu: pick("CPU"), ram: pick("RAM"), storage: pick("storage") };
  }
}

/** The sheet of a project, or undefined when it declares none (cost is then not measured). */
export function priceSheetOf(cost: CostConfig | undefined): PriceSheet | undefined {
  return cost === undefined ? undefined : new PriceSheet(cost);
}

/** What one instance of `service` reserves; a resource not declared reserves 0 (its measured use still costs). */
export function reservationOf(service: Pick<ServiceConfig, "resources">): Reservation {
  const quantity = (text: string | undefined) => (text === undefined ? none : (decimal.parseQuantity(text) ?? none));
  const r = service.resources;
  return { cpu: quantity(r?.cpu), memory: quantity(r?.memory), storage: quantity(r?.storage) };
}

/** A reservation as the usage table keeps it: thousandths of a vCPU, bytes, bytes (config/ allows nothing finer). */
export function reservationColumns(r: Reservation): { reservedCpuMilli: number; reservedMemoryBytes: number; reservedStorageBytes: number } {
  const whole = (x: Exact) => Number(x.n / x.d);
  return { reservedCpuMilli: whole(decimal.multiply(r.cpu, decimal.exact(1000))), reservedMemoryBytes: whole(r.memory), reservedStorageBytes: whole(r.storage) };
}
