import type { SmokeTest } from "../config/index.js";
import type { Runtime } from "../runtime/index.js";
import { describeProbe, type HealthTarget } from "./health.js";
import { probeInstance, type ProbeResult } from "./probe.js";

export interface SmokeFailure {
  test: string;
  instanceId: string;
  problem: string;
}

/** Name shown for a smoke test: its name, or "GET /path". */
export function smokeTestName(test: SmokeTest): string {
  return test.name ?? `${test.method} ${test.path}`;
}

/**
 * Runs every smoke test against every instance, not through the proxy (through `runtime` when it
 * probes where its instances run, else straight). Returns the first failure, or undefined when all pass.
 */
export async function runSmokeTests(targets: HealthTarget[], tests: SmokeTest[], signal: AbortSignal, runtime?: Pick<Runtime, "probe">): Promise<SmokeFailure | undefined> {
  for (const test of tests) {
    for (const target of targets) {
      signal.throwIfAborted();
      const result = await probeInstance(runtime, target, {
        method: test.method,
        path: test.path,
        headers: test.headers,
        body: test.body,
        timeoutMs: test.timeout,
        signal,
      });
      const problem = checkExpectations(test, result);
      if (problem) return { test: smokeTestName(test), instanceId: target.id, problem };
    }
  }
  return undefined;
}

function checkExpectations(test: SmokeTest, result: ProbeResult): string | undefined {
  if (!result.ok) return `request failed: ${describeProbe(result)}`;
  const expect = test.expect;
  if (result.status !== expect.status) return `expected status ${expect.status}, got ${result.status}`;
  if (expect.body_contains !== undefined && !result.body.includes(expect.body_contains)) {
    return `expected the body to contain ${JSON.stringify(expect.body_contains)}; it starts ${JSON.stringify(result.body.slice(0, 120))}`;
  }
  for (const [name, want] of Object.entries(expect.headers)) {
    const got = result.headers[name.toLowerCase()];
    if (got === undefined) return `expected header ${name}, it is missing`;
    if (!got.includes(want)) return `expected header ${name} to contain ${JSON.stringify(want)}, got ${JSON.stringify(got)}`;
  }
  return undefined;
}
