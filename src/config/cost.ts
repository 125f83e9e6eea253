import { z } from "zod";
import { decimal } from "../core/index.js";

/**
 * The price sheet (`cost:`) and each service's reservations (`resources:`). Prices are decimal
 * strings with the keys of OpenCost's custom pricing (configs/default.json), so a sheet written for
 * OpenCost can be pasted here: `CPU` per vCPU-hour, `RAM` per GiB-hour (OpenCost divides bytes by
 * 1024³), `storage` per GiB-hour (OpenCost's unit: a GiB-month price P is P / 730, as its default
 * 0.04/month is "0.00005479452"). OpenCost's other keys are accepted and not used.
 */

const decimalString = (what: string) =>
  z
    .string({ error: (issue) => (typeof issue.input === "number" ? `write ${what} as a string, e.g. "0.031611", so that no digit is lost to floating point` : `${what} is a decimal string`) })
    .refine((text) => decimal.parseDecimal(text) !== undefined && !text.startsWith("-"), `${what} is a decimal string of digits, e.g. "0.031611" (no sign, no exponent)`);

/** Keys of OpenCost's custom pricing that Engineroom does not price (yet): accepted, so an OpenCost sheet is valid here. */
const openCostOnly = ["spotCPU", "spotRAM", "GPU", "spotGPU", "zoneNetworkEgress", "regionNetworkEgress", "internetNetworkEgress", "natGatewayEgress", "natGatewayIngress", "firstFiveForwardingRulesCost", "additionalForwardingRuleCost", "LBIngressDataCost"] as const;

export const priceSheetSchema = z
  .strictObject({
    CPU: decimalString("a price").optional().meta({ description: "Price of one vCPU for one hour (OpenCost's CPU)." }),
    RAM: decimalString("a price").optional().meta({ description: "Price of one GiB (1024³ bytes) of memory for one hour (OpenCost's RAM)." }),
    storage: decimalString("a price").optional().meta({ description: "Price of one GiB of storage for one hour (OpenCost's storage; a GiB-month price / 730)." }),
    provider: z.string().optional().meta({ description: "OpenCost's provider name; ignored." }),
    description: z.string().optional().meta({ description: "Free text; ignored." }),
    ...Object.fromEntries(openCostOnly.map((key) => [key, decimalString("a price").optional().meta({ description: `OpenCost's ${key}: accepted, not used by Engineroom.` })])),
  })
  .meta({ description: "Prices as decimal strings, with OpenCost's custom pricing keys." });

export const costSchema = z
  .strictObject({
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, "an ISO 4217 code such as USD or EUR")
      .default("USD")
      .meta({ description: "The currency of every price (ISO 4217); shown with every figure." }),
    prices: z
      .record(z.string(), priceSheetSchema)
      .default({})
      .meta({ description: "`default`: the prices of every environment; `<environment>`: that environment's, key by key over the default." }),
    budget: z
      .strictObject({
        max_monthly_increase: decimalString("max_monthly_increase").meta({ description: "An apply whose plan raises the monthly cost by more than this is refused (COST_BUDGET_EXCEEDED) unless approved with --approve-cost." }),
      })
      .optional()
      .meta({ description: "The cost guardrail of apply." }),
  })
  .meta({ description: "The price sheet: cost of every instance = max(reserved, used) × time × price, per resource." });

/** A quantity as a string, or a plain number (`cpu: 2`, `cpu: 0.5`: YAML reads them as numbers), kept as the text it is. */
const quantity = (what: string, check: (value: decimal.Exact) => string | undefined) =>
  z.union([z.string(), z.number().transform((n) => String(n))]).superRefine((text, ctx) => {
    const value = decimal.parseQuantity(text);
    const problem = value === undefined ? `not a quantity: write ${what}` : check(value);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

const wholeBytes = (value: decimal.Exact) => (value.d === 1n ? undefined : "a whole number of bytes");

export const resourcesSchema = z
  .strictObject({
    cpu: quantity('vCPUs, e.g. "0.5" or "500m"', (v) => (decimal.multiply(v, decimal.exact(1000)).d === 1n ? undefined : "at most millicores (1m = 0.001 vCPU)"))
      .optional()
      .meta({ description: 'vCPUs reserved per instance: "0.5", "500m", "2".' }),
    memory: quantity('bytes, e.g. "256Mi", "1Gi" or "512M"', wholeBytes).optional().meta({ description: 'Memory reserved per instance: "256Mi", "1Gi", "512M" (Ki/Mi/Gi/Ti are powers of 1024, k/M/G/T of 1000).' }),
    storage: quantity('bytes, e.g. "1Gi"', wholeBytes).optional().meta({ description: 'Storage reserved per instance, e.g. "1Gi".' }),
  })
  .meta({ description: "What one instance reserves; its cost is max(reserved, used) × time × price, per resource." });

export type CostConfig = z.output<typeof costSchema>;
export type PriceSheetConfig = z.output<typeof priceSheetSchema>;
export type ResourcesConfig = z.output<typeof resourcesSchema>;

/** `cost.prices.<name>` names an environment that is not declared (problems as config/ writes them). */
export function costProblems(cost: CostConfig | undefined, environments: readonly string[]): { path: (string | number)[]; message: string }[] {
  if (!cost) return [];
  return Object.keys(cost.prices)
    .filter((name) => name !== "default" && !environments.includes(name))
    .map((name) => ({ path: ["cost", "prices", name], message: `no environment named "${name}" (declared: ${environments.join(", ")}); use "default" for every environment` }));
}
