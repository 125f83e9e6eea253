import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { costSchema, projectSchema } from "../config/index.js";
import { decimal } from "../core/index.js";
import { plan, renderPlan, type CurrentState, type DesiredState } from "../plan/index.js";
import { running, service } from "../plan/test-support.js";
import { testStoreBackends } from "../store/test-support.js";
import { usageSample } from "../store/usage.contract.js";
import { usageBucketMs, type UsageBucket } from "../store/index.js";
import { addParts, bucketCost, meanUse, money, monthlyCost, PriceSheet, reservationColumns, reservationOf, withCost } from "./index.js";
import { addUsage, noUsage, priceUsage, totalQuantities, usageQuantities } from "./math.js";

const { parseDecimal, parseQuantity, formatDecimal, decimalText, add, exact } = decimal;

/** OpenCost's default sheet (configs/default.json), and a dearer production. */
const sheet = new PriceSheet(
  costSchema.parse({
    currency: "USD",
    prices: { default: { provider: "custom", CPU: "0.031611", RAM: "0.004237", storage: "0.00005479452", GPU: "0.95" }, production: { CPU: "0.05" } },
    budget: { max_monthly_increase: "10.00" },
  }),
);
const resources = { cpu: "500m", memory: "256Mi", storage: "1Gi" };

describe("decimal", () => {
  it("adds, rounds and parses exactly", () => {
    assert.equal(decimalText(add(parseDecimal("0.1")!, parseDecimal("0.2")!)), "0.3");
    assert.equal(formatDecimal(exact(1, 3), 2), "0.33");
    assert.equal(formatDecimal(exact(5, 1000), 2), "0.01");
    assert.equal(formatDecimal(exact(-5, 1000), 2), "-0.01");
    assert.equal(formatDecimal(exact(-1, 1000), 2), "0.00");
    assert.equal(parseDecimal("1e3"), undefined);
    assert.deepEqual(parseQuantity("500m"), exact(1, 2));
    assert.deepEqual(parseQuantity("256Mi"), exact(256 * 1024 * 1024));
    assert.deepEqual(parseQuantity("1.5G"), exact(1_500_000_000));
    assert.equal(parseQuantity("1 Gi"), undefined);
    assert.equal(money(exact(1420, 100), "USD", { signed: true }), "+$14.20");
    assert.equal(money(exact(-31, 10), "EUR"), "-€3.10");
    assert.equal(money(exact(3), "CHF"), "CHF 3.00");
  });
});

describe("price sheet", () => {
  it("merges an environment's prices over the default, key by key; an undeclared price is 0", () => {
    assert.equal(decimalText(sheet.prices("production").cpu), "0.05");
    assert.equal(decimalText(sheet.prices("production").ram), "0.004237");
    assert.equal(decimalText(sheet.prices("staging").cpu), "0.031611");
    assert.equal(decimalText(new PriceSheet(costSchema.parse({ prices: {} })).prices("x").cpu), "0");
  });

  it("refuses prices that are not decimal strings, unknown keys, and environments not declared", () => {
    const base = { project: "p", services: { web: { run: "x" } }, environments: { staging: {}, production: {} } };
    const problems = (cost: unknown) => {
      const parsed = projectSchema.safeParse({ ...base, cost });
      return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    };
    assert.deepEqual(problems({ prices: { default: { CPU: "0.031611" } } }), []);
    assert.match(problems({ prices: { default: { CPU: 0.03 } } }).join(), /cost\.prices\.default\.CPU: write a price as a string/);
    assert.match(problems({ prices: { default: { CPU: "3e-2" } } }).join(), /decimal string of digits/);
    assert.match(problems({ prices: { default: { CPU: "-1" } } }).join(), /no sign/);
    assert.match(problems({ prices: { default: { cpu: "1" } } }).join(), /cost\.prices\.default/);
    assert.match(problems({ prices: { qa: { CPU: "1" } } }).join(), /cost\.prices\.qa: no environment named "qa"/);
    assert.match(problems({ currency: "dollars" }).join(), /ISO 4217/);
    assert.match(problems({ budget: { max_monthly_increase: 50 } }).join(), /as a string/);
    const resourceProblems = (r: unknown) => {
      const parsed = projectSchema.safeParse({ ...base, services: { web: { run: "x", resources: r } } });
      return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    };
    assert.deepEqual(resourceProblems(resources), []);
    assert.deepEqual(resourceProblems({ cpu: 0.5, memory: 1048576 }), [], "YAML numbers are quantities too");
    assert.equal(projectSchema.parse({ ...base, services: { web: { run: "x", resources: { cpu: 2 } } } }).services.web!.resources!.cpu, "2");
    assert.match(resourceProblems({ cpu: "0.0005" }).join(), /millicores/);
    assert.match(resourceProblems({ memory: "1.5" }).join(), /whole number of bytes/);
    assert.match(resourceProblems({ memory: "256MB" }).join(), /services\.web\.resources\.memory: not a quantity/);
  });
});

describe("cost = max(reserved, used) × time × price", () => {
  it("prices a month of reservations exactly: 730 h × (0.5 × CPU + 0.25 GiB × RAM + 1 GiB × storage)", () => {
    const reservation = reservationOf({ resources });
    const month = monthlyCost(reservation, 1, sheet.prices("staging"));
    assert.equal(decimalText(month), "12.3512674996");
    assert.equal(decimalText(monthlyCost(reservation, 3, sheet.prices("staging"))), "37.0538024988");
    // Measured use above the reservation is what costs: 1 vCPU used, 0.5 more than reserved, costs 0.5 × 0.031611 × 730 more.
    assert.equal(decimalText(monthlyCost(reservation, 1, sheet.prices("staging"), { cpu: exact(1), memory: exact(0) })), decimalText(add(month, exact(11538015, 10 ** 6))));
    assert.deepEqual(reservationColumns(reservation), { reservedCpuMilli: 500, reservedMemoryBytes: 268435456, reservedStorageBytes: 1073741824 });
  });

  it("prices a usage bucket: unused reservation is idle, memory above it is used, a warm previous release is idle whole", () => {
    const hour = { aliveMs: 3_600_000, cpuMs: 900_000, rssBytes: 512 * 1024 * 1024, ...reservationColumns(reservationOf({ resources })), live: true };
    const cost = bucketCost(hour, sheet.prices("staging"));
    assert.equal(decimalText(cost.cpu), "0.0158055");
    assert.equal(decimalText(cost.memory), "0.0021185");
    assert.equal(decimalText(cost.storage), "0.00005479452");
    assert.equal(decimalText(cost.total), "0.01797879452");
    assert.equal(decimalText(cost.idle), "0.00790275");
    const warm = bucketCost({ ...hour, live: false }, sheet.prices("staging"));
    assert.equal(decimalText(warm.idle), "0.01797879452");
    const use = meanUse([hour, { ...hour, cpuMs: 0, rssBytes: 0 }])!;
    assert.deepEqual([decimalText(use.cpu), decimalText(use.memory)], ["0.125", String(256 * 1024 * 1024)]);
  });
});

describe("plan cost", () => {
  function example() {
    const recorded = service({ instances: 2, resources });
    const declared = service({ instances: 3, resources });
    const desired: DesiredState = {
      environments: [
        { name: "staging", services: { web: declared, api: service({ resources: { cpu: "1" } }) } },
        { name: "production", services: { web: recorded } },
      ],
    };
    const current: CurrentState = { environments: { staging: { services: { web: running(recorded), old: running(service({ resources })) } }, production: { services: { web: running(recorded) } } } };
    return { desired, current };
  }

  it("shows the monthly change of each change on its attribute, and the total", () => {
    const { desired, current } = example();
    const p = withCost(plan(desired, current), { desired, current, sheet });
    const web = p.changes.find((c) => c.service === "web" && c.environment === "staging")!;
    assert.deepEqual(web.cost, { before: "24.7025349992", after: "37.0538024988", delta: "12.3512674996", deltaText: "+$12.35/month", text: "$24.70 → $37.05/month" });
    assert.equal(p.changes.find((c) => c.service === "api")!.cost!.deltaText, "+$23.08/month"); // 730 × 0.031611
    assert.equal(p.changes.find((c) => c.service === "old")!.cost!.deltaText, "-$12.35/month");
    assert.equal(p.changes.find((c) => c.environment === "production")!.cost!.delta, "0");
    const text = renderPlan(p);
    assert.match(text, /^ {6}instances: 2 → 3 {2}\+\$12\.35\/month$/m);
    assert.match(text, /^ {6}cost: nothing → \$23\.08\/month \(\+\$23\.08\/month\)$/m);
    assert.match(text, /^Cost: \$[\d.]+ → \$[\d.]+ per month \(\+\$23\.08\/month; a month is 730 h, prices in USD from cost\.prices\)\.$/m);
    assert.equal(p.cost!.delta, "23.07603");
    assert.deepEqual([p.cost!.budget?.exceeded, p.cost!.budget?.maxMonthlyIncrease], [true, "10"]);
    assert.match(text, /Over the cost budget: \+\$23\.08\/month is more than cost\.budget\.max_monthly_increase \(\+\$10\.00\/month\)/);
  });
});

describe("usage totals from the store", () => {
  for (const [name, open] of testStoreBackends()) {
    it(`price as the buckets they sum, exactly, past 2^53 (${name})`, async () => {
      const { store, cleanup } = await open();
      try {
        const t0 = Date.UTC(2026, 5, 1);
        const buckets: UsageBucket[] = [];
        // Two hours of an instance of 64 GiB reserved (byte-ms sums pass 2^53), one that uses more CPU than it reserved, a warm one not live.
        for (let i = 0; i < 24; i++) {
          const start = t0 + i * usageBucketMs;
          buckets.push(usageSample({ start, instanceId: "big", aliveMs: usageBucketMs, cpuMs: i * 7_001, rssBytes: 2 ** 35 + i, reservedCpuMilli: 250, reservedMemoryBytes: 2 ** 36, reservedStorageBytes: 2 ** 33 }));
          buckets.push(usageSample({ start, instanceId: "busy", aliveMs: usageBucketMs - i, cpuMs: usageBucketMs, rssBytes: 3 * 2 ** 28, reservedCpuMilli: 500, reservedMemoryBytes: 2 ** 28 }));
          buckets.push(usageSample({ start, releaseId: "rel_0", instanceId: "warm", aliveMs: usageBucketMs, cpuMs: 5, rssBytes: 2 ** 20, live: false }));
        }
        await store.usage.record(buckets);
        const query = { fromMs: t0, toMs: t0 + 24 * usageBucketMs };
        const fromBuckets = (await store.usage.list(query)).reduce((sum, b) => addUsage(sum, usageQuantities(b)), noUsage);
        const totals = await store.usage.totals(query);
        assert.ok(totals.length >= 6 && totals.length < buckets.length, "summed per instance and hour");
        assert.deepEqual(totals.map(totalQuantities).reduce(addUsage, noUsage), fromBuckets);
        assert.ok(fromBuckets.memory > 2n ** 53n);
        assert.equal(totals.reduce((n, t) => n + t.buckets, 0), buckets.length);
        assert.deepEqual(priceUsage(fromBuckets, sheet.prices("production")), buckets.map((b) => bucketCost(b, sheet.prices("production"))).reduce(addParts));
      } finally {
        await cleanup();
      }
    });
  }
});
