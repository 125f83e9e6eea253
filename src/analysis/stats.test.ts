import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { latencyBoundsMs } from "../metrics/index.js";
import { binomialUpperBound, binomialUpperTail, countAbove, fisherGreater, histogramPercentile, logChoose, logGamma, mannWhitneyGreater, normalUpperTail, percentileUpperBound } from "./stats.js";

/** |actual − expected| within `rel` of expected. */
function close(actual: number, expected: number, rel: number, what = "") {
  assert.ok(Number.isFinite(actual), `${what} is finite (got ${actual})`);
  assert.ok(Math.abs(actual - expected) <= rel * Math.abs(expected), `${what}: ${actual} is not within ${rel} of ${expected}`);
}

/** C(n, k) exactly, for brute-force references. */
function choose(n: number, k: number): bigint {
  if (k < 0 || k > n) return 0n;
  let r = 1n;
  for (let i = 0; i < k; i++) r = (r * BigInt(n - i)) / BigInt(i + 1);
  return r;
}

const ratio = (a: bigint, b: bigint) => Number((a * 10n ** 18n) / b) / 1e18;

/** A histogram of length latencyBoundsMs.length + 1 from the first few counts. */
const hist = (...counts: number[]) => [...counts, ...new Array<number>(latencyBoundsMs.length + 1 - counts.length).fill(0)];

describe("logGamma and logChoose", () => {
  it("match factorials and Γ(½)", () => {
    let logFactorial = 0;
    for (let n = 1; n <= 170; n++) {
      logFactorial += Math.log(n);
      assert.ok(Math.abs(logGamma(n + 1) - logFactorial) <= 1e-13 * Math.max(1, logFactorial), `lnΓ(${n + 1})`);
    }
    close(logGamma(0.5), Math.log(Math.sqrt(Math.PI)), 1e-13, "lnΓ(½)");
    assert.equal(logChoose(5, 7), -Infinity);
    close(Math.exp(logChoose(52, 5)), 2_598_960, 1e-12, "C(52, 5)");
  });
});

describe("normalUpperTail", () => {
  it("matches tabulated values, far tails included, to 1e-7", () => {
    close(normalUpperTail(0), 0.5, 1e-7);
    close(normalUpperTail(1.959963984540054), 0.025, 1e-7);
    close(normalUpperTail(4), 3.1671241833119863e-5, 1e-6);
    close(normalUpperTail(10), 7.619853024160527e-24, 1e-6);
    close(normalUpperTail(-2), 0.9772498680518208, 1e-7);
    assert.equal(normalUpperTail(50), 0);
  });
});

describe("binomialUpperTail", () => {
  it("equals the brute-force sum for small n", () => {
    for (const n of [1, 2, 7, 30]) {
      for (const p of [0.001, 0.05, 0.3, 0.9]) {
        for (let k = 0; k <= n + 1; k++) {
          let expected = 0;
          for (let j = k; j <= n; j++) expected += Number(choose(n, j)) * p ** j * (1 - p) ** (n - j);
          close(binomialUpperTail(n, k, p), Math.min(1, expected), 1e-9, `P(Bin(${n}, ${p}) ≥ ${k})`);
        }
      }
    }
  });

  it("handles rates of 0 and 1 and counts outside the support", () => {
    assert.equal(binomialUpperTail(100, 1, 0), 0);
    assert.equal(binomialUpperTail(100, 0, 0), 1);
    assert.equal(binomialUpperTail(100, 100, 1), 1);
    assert.equal(binomialUpperTail(100, 101, 0.5), 0);
    assert.equal(binomialUpperTail(0, 0, 0.5), 1);
  });

  it("matches reference values (scipy.stats.binom.sf), up to a billion trials", () => {
    close(binomialUpperTail(500, 25, 0.01), 1.0792947851141826e-10, 1e-8, "25 errors in 500 against 1%");
    close(binomialUpperTail(1000, 30, 0.02), 0.02069651867323949, 1e-8);
    close(binomialUpperTail(1e9, 10_009_440, 0.01), 0.001351428232068312, 1e-4, "1e9 trials, 3 sd above the mean");
    close(binomialUpperTail(1e9, 1e7, 0.01), 0.5, 1e-3, "1e9 trials at the mean");
    assert.equal(binomialUpperTail(1e9, 2e7, 0.01), 0, "underflows to 0, not NaN");
  });
});

describe("binomialUpperBound", () => {
  it("is 1 − alpha^(1/n) with no errors, and matches Clopper-Pearson (scipy beta.ppf(1 − alpha, k + 1, n − k))", () => {
    close(binomialUpperBound(100, 0, 0.01), 1 - 0.01 ** (1 / 100), 2e-6);
    close(binomialUpperBound(6000, 12, 1.7e-5), 0.005587085216325563, 2e-6);
    close(binomialUpperBound(30_000, 60, 1e-3), 0.002932204850806361, 2e-6);
    close(binomialUpperBound(10, 3, 0.05), 0.6066242161054123, 2e-6);
  });

  it("is 1 without data or when everything failed, and finite for a billion requests", () => {
    assert.deepEqual([binomialUpperBound(0, 0, 0.01), binomialUpperBound(5, 5, 0.01)], [1, 1]);
    const bound = binomialUpperBound(1e9, 1e6, 1e-5);
    // About 4.3 standard errors (1e-6 each) above the observed 0.1%.
    assert.ok(bound > 1.0035e-3 && bound < 1.005e-3, `${bound}`);
  });
});

describe("fisherGreater", () => {
  it("matches tables worked by hand", () => {
    // 3 of 3 errors vs 0 of 3: all 3 of the 6 requests' errors fell on the candidate: 1 / C(6, 3).
    close(fisherGreater({ errors: 3, requests: 3 }, { errors: 0, requests: 3 }), 1 / 20, 1e-10);
    // 2 of 5 vs 0 of 5: C(2,2)·C(8,3) / C(10,5) = 56 / 252.
    close(fisherGreater({ errors: 2, requests: 5 }, { errors: 0, requests: 5 }), 56 / 252, 1e-10);
    // 1 of 5 vs 1 of 5: P(X ≥ 1) = 1 − C(8,5)/C(10,5) = 1 − 56/252.
    close(fisherGreater({ errors: 1, requests: 5 }, { errors: 1, requests: 5 }), 1 - 56 / 252, 1e-10);
  });

  it("equals the brute-force hypergeometric tail on small tables", () => {
    for (const [n1, n2] of [[4, 9], [10, 10], [25, 7]] as const) {
      for (let e2 = 0; e2 <= n2; e2 += 3) {
        for (let e1 = 0; e1 <= n1; e1++) {
          const failures = e1 + e2;
          let tail = 0n;
          for (let k = e1; k <= Math.min(n1, failures); k++) tail += choose(failures, k) * choose(n1 + n2 - failures, n1 - k);
          const expected = ratio(tail, choose(n1 + n2, n1));
          close(fisherGreater({ errors: e1, requests: n1 }, { errors: e2, requests: n2 }), expected, 1e-9, `${e1}/${n1} vs ${e2}/${n2}`);
        }
      }
    }
  });

  it("matches reference values (scipy.stats.fisher_exact, alternative greater)", () => {
    close(fisherGreater({ errors: 75, requests: 1500 }, { errors: 60, requests: 30_000 }), 9.462481195274502e-63, 1e-7, "5% vs 0.2%");
    close(fisherGreater({ errors: 30, requests: 10_000 }, { errors: 10, requests: 10_000 }), 0.0010997641712361542, 1e-8);
  });

  it("sees no evidence without errors, and none when the candidate does better", () => {
    assert.equal(fisherGreater({ errors: 0, requests: 1000 }, { errors: 0, requests: 1000 }), 1);
    assert.equal(fisherGreater({ errors: 0, requests: 0 }, { errors: 3, requests: 10 }), 1);
    assert.ok(fisherGreater({ errors: 1, requests: 1000 }, { errors: 50, requests: 1000 }) > 0.999);
  });

  it("stays finite and right for a billion requests on each side", () => {
    close(fisherGreater({ errors: 1_005_000, requests: 1e9 }, { errors: 1e6, requests: 1e9 }), 0.00020606721801957566, 1e-3, "scipy hypergeom.sf");
    close(fisherGreater({ errors: 1e6, requests: 1e9 }, { errors: 1e6, requests: 1e9 }), 0.5, 1e-3);
    const half = fisherGreater({ errors: 5e8, requests: 1e9 }, { errors: 5e8, requests: 1e9 });
    close(half, 0.5, 1e-3, "half of all requests failing");
    assert.equal(fisherGreater({ errors: 2e6, requests: 1e9 }, { errors: 1e6, requests: 1e9 }), 0);
  });
});

describe("mannWhitneyGreater", () => {
  /** P(U ≥ observed) by enumerating every split of the pooled values, and U with midranks from sorted values. */
  function bruteForce(candidate: number[], baseline: number[]) {
    const values = [...candidate.flatMap((n, i) => new Array<number>(n).fill(i)), ...baseline.flatMap((n, i) => new Array<number>(n).fill(i))];
    const n1 = candidate.reduce((a, b) => a + b, 0);
    const uOf = (chosen: Set<number>) => {
      let u = 0;
      for (const i of chosen) for (let j = 0; j < values.length; j++) if (!chosen.has(j)) u += values[i]! > values[j]! ? 1 : values[i] === values[j] ? 0.5 : 0;
      return u;
    };
    const observed = uOf(new Set(Array.from({ length: n1 }, (_, i) => i)));
    let atLeast = 0;
    let all = 0;
    const pick = (start: number, chosen: number[]) => {
      if (chosen.length === n1) {
        all++;
        if (uOf(new Set(chosen)) >= observed - 1e-9) atLeast++;
        return;
      }
      for (let i = start; i <= values.length - (n1 - chosen.length); i++) pick(i + 1, [...chosen, i]);
    };
    pick(0, []);
    return { u: observed, p: atLeast / all };
  }

  it("is exact for tiny samples: equals enumeration of every split, ties included", () => {
    const cases: [number[], number[]][] = [
      [hist(0, 0, 1, 2, 3), hist(0, 1, 2, 3)],
      [hist(0, 0, 0, 4), hist(0, 0, 0, 4)],
      [hist(1, 0, 0, 0, 0, 0, 2), hist(0, 3, 1, 0, 0, 0, 1)],
      [hist(0, 0, 0, 0, 0, 5), hist(6, 1)],
      [hist(2), hist(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3)],
    ];
    for (const [candidate, baseline] of cases) {
      const expected = bruteForce(candidate, baseline);
      const result = mannWhitneyGreater(candidate, baseline);
      assert.equal(result.exact, true);
      assert.equal(result.u, expected.u);
      close(result.pValue, expected.p, 1e-9, `p of ${candidate} vs ${baseline}`);
    }
  });

  it("uses the tie-corrected normal approximation beyond 60 requests, matching scipy's mannwhitneyu", () => {
    // scipy.stats.mannwhitneyu(x, y, alternative="greater", method="asymptotic", use_continuity=True) on the expanded buckets.
    const a = mannWhitneyGreater(hist(0, 0, 0, 2, 5, 12, 30, 25, 10, 4, 1, 1), hist(0, 0, 1, 4, 10, 25, 40, 15, 4, 1));
    assert.equal(a.exact, false);
    assert.equal(a.u, 5941.5);
    close(a.pValue, 4.023746806614876e-5, 1e-5);
    const b = mannWhitneyGreater(hist(0, 0, 0, 0, 0, 40, 50, 10), hist(0, 0, 0, 0, 0, 45, 48, 7));
    assert.equal(b.u, 5315);
    close(b.pValue, 0.1958659448726895, 1e-5);
  });

  it("reports the probability that a candidate request is slower, ties half", () => {
    assert.equal(mannWhitneyGreater(hist(0, 5), hist(5)).probabilitySlower, 1);
    assert.equal(mannWhitneyGreater(hist(5), hist(0, 5)).probabilitySlower, 0);
    assert.equal(mannWhitneyGreater(hist(3, 3), hist(3, 3)).probabilitySlower, 0.5);
  });

  it("sees no evidence in an empty side or when every request is tied", () => {
    assert.equal(mannWhitneyGreater(hist(), hist(10)).pValue, 1);
    assert.equal(mannWhitneyGreater(hist(0, 100), hist(0, 100)).pValue, 1);
  });

  it("stays finite for a billion requests: identical histograms near ½, a shift to 0", () => {
    const shape = [0, 0, 0, 0.02, 0.05, 0.2, 0.4, 0.2, 0.08, 0.03, 0.02];
    const big = hist(...shape.map((f) => f * 1e9));
    const same = mannWhitneyGreater(big, big);
    assert.ok(same.pValue > 0.49 && same.pValue <= 0.5, `identical: p = ${same.pValue}`);
    const shifted = mannWhitneyGreater(hist(0, ...shape.map((f) => f * 1e9)), big);
    assert.equal(shifted.pValue, 0);
    assert.ok(shifted.z > 1e4 && Number.isFinite(shifted.z));
  });
});

describe("histogramPercentile and countAbove", () => {
  it("interpolates inside the bucket, from 0 for the first", () => {
    // 100 requests: 50 in (0, 1], 50 in (50, 100]. p50 is the top of the first; p90 is 80% into (50, 100].
    const counts = hist(50, 0, 0, 0, 0, 0, 50);
    assert.equal(histogramPercentile(counts, 0.5), 1);
    assert.equal(histogramPercentile(counts, 0.9), 90);
    assert.equal(histogramPercentile(hist(10), 0.5), 0.5);
  });

  it("answers the top bound for the open bucket, and null when empty", () => {
    const counts = hist();
    counts[latencyBoundsMs.length] = 4;
    assert.equal(histogramPercentile(counts, 0.95), latencyBoundsMs.at(-1));
    assert.equal(histogramPercentile(hist(), 0.95), null);
  });

  it("bounds a percentile from above by the order statistic of the right rank", () => {
    // 1 000 requests, 10 in each of 100 equal slices of (0, 1]... here: all in (50, 100], so rank r reads 50 + 50 r / 1000.
    // The smallest r with P(Bin(1000, 0.95) ≥ r) ≤ 0.001 is 971 (scipy): the bound is at rank 971.
    assert.equal(percentileUpperBound(hist(0, 0, 0, 0, 0, 0, 1000), 0.95, 0.001), 50 + (50 * 971) / 1000);
    assert.equal(percentileUpperBound(hist(0, 0, 0, 0, 0, 0, 100), 0.95, 1e-5), Infinity, "100 requests cannot bound p95 at 1e-5");
    assert.equal(percentileUpperBound(hist(), 0.95, 0.01), Infinity);
  });

  it("counts requests above the limit, and the share above it of the bucket it cuts", () => {
    const counts = hist(0, 0, 0, 0, 0, 0, 0, 0, 5, 8, 11, 13); // (200,300]: 5, (300,500]: 8, (500,750]: 11, (750,1000]: 13
    assert.equal(countAbove(counts, 500), 24);
    assert.equal(countAbove(counts, 300), 32);
    assert.equal(countAbove(counts, 450), 24 + 2, "a quarter of (300, 500]");
    const open = hist();
    open[latencyBoundsMs.length] = 3;
    assert.deepEqual([countAbove(open, 10_000), countAbove(open, 20_000)], [3, 0]);
  });

  it("agrees with histogramPercentile: p95 over a limit when more than 5% are", () => {
    const counts = hist(0, 0, 0, 0, 0, 0, 900, 100);
    const p95 = histogramPercentile(counts, 0.95)!;
    assert.equal(p95, 150);
    assert.equal(countAbove(counts, p95), 50);
  });
});
